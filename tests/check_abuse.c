/* check_abuse.c — slow and abusive clients: idle-connection floods, slowloris partial requests,
 * oversized headers and 1000-deep JSON, each from its own loopback address, while an honest
 * client on 127.0.0.1 keeps being served. Prints the honest client's latency before and during
 * the attack (reported, not asserted: the machine is shared). A flood of logins beside a stream
 * of offer searches: the bounded password hashers turn logins away with 503 and the searches keep
 * answering (their latency printed, not asserted). */
#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct th_server srv;
static struct th_auth op;
static char *dburl;
static atomic_bool attacking;
static atomic_bool slow_open;  /* the slowloris connections are open */
static atomic_int junk_rounds; /* junk requests sent so far */

static void up(void) {
    dburl = th_db_create("abuse");
    th_server_start(&srv, dburl, NULL);
    th_operator(&srv, &op);
}

static int down(void) {
    int rc = th_server_stop(&srv);
    free(dburl);
    return rc;
}

/* A TCP connection to the server from the given loopback source address; -1 when refused. */
static int connect_from(const char *source) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, source, &src.sin_addr);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* n honest requests; all must succeed; fills p50/p99 in ms. */
static void honest(int n, double *p50, double *p99) {
    double *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        struct th_resp r = th_req(&srv, "GET", "/v1/me", &op, NULL, NULL);
        lat[i] = now_ms() - t0;
        th_assert_status(&r, 200);
        th_resp_free(&r);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    *p50 = lat[n / 2];
    *p99 = lat[(n * 99) / 100];
    free(lat);
}

struct flood {
    int opened;
    int fds[600];
};

static void *idle_flood(void *arg) {
    struct flood *f = arg;
    for (int i = 0; i < 300; i++) {
        int fd = connect_from("127.0.0.2");
        if (fd >= 0)
            f->fds[f->opened++] = fd;
    }
    return NULL;
}

static void *slowloris(void *arg) {
    (void)arg;
    int fds[100];
    int n = 0;
    for (int i = 0; i < 100; i++) {
        int fd = connect_from("127.0.0.3");
        if (fd < 0)
            continue;
        const char *start = "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        if (send(fd, start, strlen(start), MSG_NOSIGNAL) < 0) {
            close(fd);
            continue;
        }
        fds[n++] = fd;
    }
    atomic_store(&slow_open, true);
    /* a byte every 200 ms keeps each connection just alive: the pace is the attack itself */
    while (atomic_load(&attacking)) {
        for (int i = 0; i < n; i++)
            (void)send(fds[i], "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        usleep(200000);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return NULL;
}

static bool attack_running(void *ctx) {
    (void)ctx;
    return atomic_load(&slow_open) && atomic_load(&junk_rounds) >= 2;
}

static void *junk(void *arg) {
    (void)arg;
    size_t big = 200 * 1024;
    char *hdr = malloc(big + 16);
    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'b', big);
    hdr[7 + big] = '\0';
    char *deep = malloc(2001);
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    while (atomic_load(&attacking)) {
        CURL *c = curl_easy_init();
        char url[128];
        snprintf(url, sizeof url, "%s/v1/organizations", srv.base);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_INTERFACE, "host!127.0.0.4");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, deep);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        FILE *devnull = fopen("/dev/null", "w");
        curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_perform(c);
        curl_slist_free_all(h);
        h = curl_slist_append(NULL, hdr);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_perform(c);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        fclose(devnull);
        atomic_fetch_add(&junk_rounds, 1);
    }
    free(hdr);
    free(deep);
    return NULL;
}

START_TEST(honest_clients_are_served_during_an_attack) {
    double base50, base99, att50, att99;
    honest(300, &base50, &base99);

    atomic_store(&attacking, true);
    struct flood flood = {0};
    pthread_t t_idle, t_slow, t_junk[2];
    pthread_create(&t_idle, NULL, idle_flood, &flood);
    pthread_create(&t_slow, NULL, slowloris, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&t_junk[i], NULL, junk, NULL);
    pthread_join(t_idle, NULL);
    /* the attack is on once the slow connections are open and each junk sender has sent */
    ck_assert_msg(th_wait_until(attack_running, NULL, 30000, 20),
                  "the slowloris and junk senders did not get going within 30 s");

    honest(300, &att50, &att99);
    atomic_store(&attacking, false);
    pthread_join(t_slow, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t_junk[i], NULL);

    /* the per-address cap held: one address cannot take every connection */
    int cap = 256;
    const char *env = getenv("SUANLI_PER_IP_CONNECTIONS");
    if (env)
        cap = atoi(env);
    int still_open = 0;
    for (int i = 0; i < flood.opened; i++) {
        char b;
        ssize_t n = recv(flood.fds[i], &b, 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            still_open++;
        close(flood.fds[i]);
    }
    printf("idle flood: %d of 300 connections accepted and held (cap %d per address)\n", still_open,
           cap);
    printf("honest GET /v1/me latency: before p50 %.1f ms p99 %.1f ms; during the attack "
           "p50 %.1f ms p99 %.1f ms\n",
           base50, base99, att50, att99);
    ck_assert_int_le(still_open, cap);
}
END_TEST

/* ==== a login flood beside a stream of searches =========================================== */

static struct th_server lsrv;
static atomic_bool flooding;
static atomic_int logins_401, logins_busy, logins_other;

struct small_buf {
    char text[2048];
    size_t len;
};

static size_t keep_some(char *p, size_t size, size_t n, void *ctx) {
    struct small_buf *b = ctx;
    size_t take = size * n;
    if (take > sizeof b->text - 1 - b->len)
        take = sizeof b->text - 1 - b->len;
    memcpy(b->text + b->len, p, take);
    b->len += take;
    b->text[b->len] = '\0';
    return size * n;
}

/* Posts logins for emails that name no account (each still costs one Argon2id check). A 503
 * counts as turned away only when it is the password-hashers-busy problem with Retry-After. */
static void *login_flooder(void *arg) {
    int me = (int)(intptr_t)arg;
    char url[128], body[160];
    snprintf(url, sizeof url, "%s/v1/sessions", lsrv.base);
    for (int i = 0; atomic_load(&flooding); i++) {
        CURL *c = curl_easy_init();
        snprintf(body, sizeof body, "{\"email\":\"flood%d-%d@nowhere.test\",\"password\":\"x\"}",
                 me, i);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        struct small_buf out = {0}, hdrs = {0};
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_some);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_some);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status == 401)
            atomic_fetch_add(&logins_401, 1);
        else if (status == 503 && strstr(out.text, "/problems/password-hashers-busy") != NULL &&
                 strcasestr(hdrs.text, "\nRetry-After: ") != NULL &&
                 strcasestr(hdrs.text, "application/problem+json") != NULL)
            atomic_fetch_add(&logins_busy, 1);
        else
            atomic_fetch_add(&logins_other, 1);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
    }
    return NULL;
}

static bool flood_refused_some(void *ctx) {
    (void)ctx;
    return atomic_load(&logins_busy) > 0 && atomic_load(&logins_401) > 0;
}

/* n searches of the offers; all must succeed; fills p50/p99 in ms. */
static void searches(const struct th_auth *by, int n, double *p50, double *p99) {
    double *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        struct th_resp r =
            th_req(&lsrv, "GET", "/v1/offers?resource_class=gpu&limit=20", by, NULL, NULL);
        lat[i] = now_ms() - t0;
        th_assert_status(&r, 200);
        th_resp_free(&r);
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    *p50 = lat[n / 2];
    *p99 = lat[(n * 99) / 100];
    free(lat);
}

START_TEST(searches_keep_answering_during_a_login_flood) {
    const char *env[] = {"SUANLI_THREADS=8",
                         "SUANLI_PASSWORD_HASHERS=1",
                         "SUANLI_PASSWORD_WAIT_MS=100",
                         "SUANLI_LOGIN_ADDRESS_ATTEMPTS=100000",
                         "SUANLI_LOGIN_GLOBAL_ATTEMPTS=10000000",
                         NULL};
    char *db = th_db_create("abuse_logins");
    th_server_start(&lsrv, db, env);
    struct th_auth lop;
    th_operator(&lsrv, &lop);
    double base50, base99, fl50, fl99;
    searches(&lop, 100, &base50, &base99);

    enum { FLOODERS = 12 };
    pthread_t t[FLOODERS];
    atomic_store(&flooding, true);
    for (int i = 0; i < FLOODERS; i++)
        pthread_create(&t[i], NULL, login_flooder, (void *)(intptr_t)i);
    bool refused = th_wait_until(flood_refused_some, NULL, 60000, 20);
    searches(&lop, 200, &fl50, &fl99);
    atomic_store(&flooding, false);
    for (int i = 0; i < FLOODERS; i++)
        pthread_join(t[i], NULL);

    struct th_resp m = th_req(&lsrv, "GET", "/metrics", NULL, NULL, NULL);
    th_assert_status(&m, 200);
    ck_assert_ptr_nonnull(strstr(m.body, "suanli_password_hashers_busy_total"));
    th_resp_free(&m);
    printf("login flood: %d answered 401, %d answered 503 password-hashers-busy, %d other\n",
           atomic_load(&logins_401), atomic_load(&logins_busy), atomic_load(&logins_other));
    printf("search GET /v1/offers latency: before p50 %.1f ms p99 %.1f ms; during the login "
           "flood p50 %.1f ms p99 %.1f ms\n",
           base50, base99, fl50, fl99);
    ck_assert_msg(refused, "the hashers never turned a login away (or none was checked)");
    ck_assert_int_eq(atomic_load(&logins_other), 0);
    ck_assert_int_eq(th_server_stop(&lsrv), 0);
    free(db);
}
END_TEST

int main(void) {
    Suite *s = suite_create("abuse");
    th_shared(up, down);
    th_case(s, honest_clients_are_served_during_an_attack, 180, NULL, NULL);
    th_case(s, searches_keep_answering_during_a_login_flood, 240, NULL, NULL);
    return th_run(s);
}
