/* check_notify.c — notifications and webhooks against a real suanlid and PostgreSQL: each kind
 * of notification reaches its organisation and no other (voucher issued, expiring in 30/7/1
 * days, order created/cancelled, budget passing 80 % and 100 %, a new anomaly flag, an
 * application decided), marking
 * read, and webhooks: registration rules, the SSRF guard, delivery to a loopback receiver with a
 * valid Suanli-Signature, retries with backoff, and a server killed mid-delivery that delivers
 * again after restart (at least once, nothing lost).
 *
 * The world's server delivers no webhooks (SUANLI_WEBHOOKS=off); each webhook case starts a
 * server of its own on the same database that does (hook), and a receiver in its own process,
 * so that the kill test knows which process holds the lease. */
#include "world.h"

#include "config.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct world w;
static struct th_server hook;

static const char *const hook_env[] = {"SUANLI_WEBHOOKS=on", "SUANLI_AUDIT_SEALER=off",
                                       "SUANLI_WEBHOOK_TIMEOUT_MS=3000", NULL};

/* ==== the receiver ======================================================================== */

#define RX_MAX 256
#define RX_HANG (-1)

struct rx_request {
    char signature[160];
    char delivery[48];
    char *body;
};

/* A loopback HTTP receiver on its own thread: it answers each request with the next status of
 * its script (the last one repeats), or holds it unanswered (RX_HANG), and keeps every request. */
static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    int script[8], nscript, next;
    struct rx_request got[RX_MAX];
    int ngot;
    int held[RX_MAX];
    int nheld;
} rx = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void rx_header(const char *head, const char *name, char *out, size_t cap) {
    out[0] = '\0';
    const char *p = strcasestr(head, name);
    if (p == NULL)
        return;
    p += strlen(name);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

static void *rx_main(void *unused) {
    (void)unused;
    for (;;) {
        int c = accept(rx.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[65536];
        size_t len = 0;
        char *end = NULL;
        long clen = -1;
        while (len < sizeof buf - 1) {
            ssize_t n = read(c, buf + len, sizeof buf - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
            if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
                char cl[32];
                rx_header(buf, "Content-Length:", cl, sizeof cl);
                clen = atol(cl);
            }
            if (end != NULL && (long)(len - (size_t)(end + 4 - buf)) >= clen)
                break;
        }
        if (end == NULL) {
            close(c);
            continue;
        }
        pthread_mutex_lock(&rx.mu);
        int status = rx.script[rx.next < rx.nscript ? rx.next : rx.nscript - 1];
        rx.next++;
        if (rx.ngot < RX_MAX) {
            struct rx_request *q = &rx.got[rx.ngot++];
            *end = '\0';
            rx_header(buf, "Suanli-Signature:", q->signature, sizeof q->signature);
            rx_header(buf, "Suanli-Delivery:", q->delivery, sizeof q->delivery);
            q->body = strndup(end + 4, (size_t)clen);
        }
        if (status == RX_HANG && rx.nheld < RX_MAX) {
            rx.held[rx.nheld++] = c; /* never answered: the server is killed meanwhile */
            pthread_mutex_unlock(&rx.mu);
            continue;
        }
        pthread_mutex_unlock(&rx.mu);
        char answer[128];
        int n =
            snprintf(answer, sizeof answer,
                     "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
        ck_assert(write(c, answer, (size_t)n) == n);
        close(c);
    }
}

static void rx_start(void) {
    rx.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    ck_assert(bind(rx.fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(rx.fd, 64) == 0 &&
              getsockname(rx.fd, (struct sockaddr *)&a, &alen) == 0);
    rx.port = ntohs(a.sin_port);
    rx.script[0] = 200;
    rx.nscript = 1;
    ck_assert(pthread_create(&rx.thread, NULL, rx_main, NULL) == 0);
}

/* Resets what the receiver saw and gives it a new script of answers. */
static void rx_script(int n, const int *statuses) {
    pthread_mutex_lock(&rx.mu);
    for (int i = 0; i < rx.ngot; i++)
        free(rx.got[i].body);
    for (int i = 0; i < rx.nheld; i++)
        close(rx.held[i]);
    rx.ngot = rx.nheld = rx.next = 0;
    memcpy(rx.script, statuses, (size_t)n * sizeof *statuses);
    rx.nscript = n;
    pthread_mutex_unlock(&rx.mu);
}

static int rx_count(void) {
    pthread_mutex_lock(&rx.mu);
    int n = rx.ngot;
    pthread_mutex_unlock(&rx.mu);
    return n;
}

static bool rx_reached(void *want) {
    return rx_count() >= *(int *)want;
}

static void rx_wait(int n) {
    ck_assert_msg(th_wait_until(rx_reached, &n, 60000, 50), "the receiver got %d of %d requests",
                  rx_count(), n);
}

/* ==== the world =========================================================================== */

static void up(void) {
    setenv("SUANLI_WEBHOOKS", "off", 1);
    setenv("SUANLI_WEBHOOK_ALLOW_PRIVATE", "1", 1);
    setenv("SUANLI_NOTIFY_MS", "200", 1);
    world_setup(&w, "notify", WORLD_OFFER);
}

static int down(void) {
    return world_teardown(&w);
}

/* The receiver and a delivering server, for one webhook case (in its process). */
static void hook_up(const int *script, int n) {
    rx_start();
    rx_script(n, script);
    th_server_start(&hook, w.dburl, hook_env);
}

static void hook_down(void) {
    ck_assert_int_eq(th_server_stop(&hook), 0);
}

/* The notifications of kind visible to by (at most 200, newest first), as a new array. */
static json_t *notes(const struct th_auth *by, const char *kind) {
    struct th_resp r = th_req(&w.srv, "GET", "/v1/notifications?limit=200", by, NULL, NULL);
    th_assert_status(&r, 200);
    json_t *out = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(r.json, "items"), i, n) {
        if (strcmp(json_string_value(json_object_get(n, "kind")), kind) == 0)
            json_array_append(out, n);
    }
    th_resp_free(&r);
    return out;
}

/* The notifications of kind for by whose data member key is value. */
static json_t *notes_where(const struct th_auth *by, const char *kind, const char *key,
                           const char *value) {
    json_t *all = notes(by, kind), *out = json_array();
    size_t i;
    json_t *n;
    json_array_foreach(all, i, n) {
        json_t *v = json_object_get(json_object_get(n, "data"), key);
        const char *s = json_string_value(v);
        if (s == NULL && json_is_integer(v)) {
            char num[32];
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            if (strcmp(num, value) == 0)
                json_array_append(out, n);
        } else if (s != NULL && strcmp(s, value) == 0) {
            json_array_append(out, n);
        }
    }
    json_decref(all);
    return out;
}

struct note_wait {
    const struct th_auth *by;
    const char *kind, *key, *value;
    size_t want;
};

static bool note_there(void *ctx) {
    struct note_wait *q = ctx;
    json_t *a = notes_where(q->by, q->kind, q->key, q->value);
    bool ok = json_array_size(a) >= q->want;
    json_decref(a);
    return ok;
}

/* Waits until by has want notifications of kind with data.key = value (the periodic job). */
static void note_wait(const struct th_auth *by, const char *kind, const char *key,
                      const char *value, size_t want) {
    struct note_wait q = {by, kind, key, value, want};
    ck_assert_msg(th_wait_until(note_there, &q, 60000, 100), "no %s notification with %s = %s",
                  kind, key, value);
}

static size_t note_count(const struct th_auth *by, const char *kind, const char *key,
                         const char *value) {
    json_t *a = notes_where(by, kind, key, value);
    size_t n = json_array_size(a);
    json_decref(a);
    return n;
}

/* How many notifications of kind about subject by sees. */
static size_t subject_count(const struct th_auth *by, const char *kind, const char *subject) {
    json_t *a = notes(by, kind);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(a, i, e) n +=
        strcmp(json_string_value(json_object_get(e, "subject_id")), subject) == 0;
    json_decref(a);
    return n;
}

struct subject_wait {
    const struct th_auth *by;
    const char *kind, *subject;
};

static bool subject_there(void *ctx) {
    struct subject_wait *q = ctx;
    return subject_count(q->by, q->kind, q->subject) > 0;
}

/* Waits until by has a notification of kind about subject (the periodic job writes it). */
static void subject_wait(const struct th_auth *by, const char *kind, const char *subject) {
    struct subject_wait q = {by, kind, subject};
    ck_assert_msg(th_wait_until(subject_there, &q, 60000, 100), "no %s notification about %s", kind,
                  subject);
}

/* The data member key of by's (first) notification of kind about subject. */
static long long subject_data_int(const struct th_auth *by, const char *kind, const char *subject,
                                  const char *key) {
    json_t *a = notes(by, kind);
    long long v = -1;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "subject_id")), subject) == 0)
            v = json_integer_value(json_object_get(json_object_get(e, "data"), key));
    }
    json_decref(a);
    return v;
}

/* ==== notifications ======================================================================= */

START_TEST(issuing_vouchers_notifies_the_institute_once_a_batch) {
    char *prog = world_program(&w, NULL);
    char body[512];
    snprintf(body, sizeof body,
             "{\"vouchers\":[{\"institute_id\":\"%s\",\"face_value_fen\":100,\"expires_at\":"
             "\"2029-12-01T00:00:00Z\"},{\"institute_id\":\"%s\",\"face_value_fen\":200,"
             "\"expires_at\":\"2029-12-01T00:00:00Z\"},{\"institute_id\":\"%s\","
             "\"face_value_fen\":50,\"expires_at\":\"2029-12-01T00:00:00Z\"}]}",
             w.inst_org, w.inst_org, w.inst2_org);
    struct th_resp r = world_issue(&w, NULL, &w.admin, prog, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    json_t *a = notes_where(&w.inst, "voucher.issued", "program_id", prog);
    ck_assert_int_eq(json_array_size(a), 1);
    json_t *data = json_object_get(json_array_get(a, 0), "data");
    ck_assert_int_eq(json_integer_value(json_object_get(data, "count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(data, "face_value_fen")), 300);
    ck_assert(json_is_false(json_object_get(json_array_get(a, 0), "read")));
    json_decref(a);
    ck_assert_int_eq(note_count(&w.inst2, "voucher.issued", "program_id", prog), 1);
    ck_assert_int_eq(note_count(&w.other_inst, "voucher.issued", "program_id", prog), 0);
    ck_assert_int_eq(note_count(&w.admin, "voucher.issued", "program_id", prog), 0);
    free(prog);
}
END_TEST

START_TEST(orders_created_and_cancelled_notify_the_offer_provider_only) {
    char *order = world_order(&w, &w.inst, NULL, 2, 3, "2030-03-01T00:00:00Z");
    ck_assert_int_eq(subject_count(&w.prov, "order.created", order), 1);
    ck_assert_int_eq(subject_count(&w.prov, "order.cancelled", order), 0);
    char path[96];
    snprintf(path, sizeof path, "/v1/orders/%s/cancel", order);
    struct th_resp r = th_req(&w.srv, "POST", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(subject_count(&w.prov, "order.cancelled", order), 1);
    ck_assert_int_eq(subject_count(&w.prov2, "order.created", order), 0);
    ck_assert_int_eq(subject_count(&w.other_prov, "order.created", order), 0);
    ck_assert_int_eq(subject_count(&w.inst, "order.created", order), 0);
    free(order);
}
END_TEST

START_TEST(a_programme_passing_80_and_100_percent_of_its_budget_notifies_its_city) {
    char *prog = world_program(&w, "{\"budget_fen\":1000}");
    free(world_voucher_id(&w, prog, w.inst_org, 700));
    ck_assert_int_eq(subject_count(&w.admin, "program.budget_threshold", prog), 0);
    free(world_voucher_id(&w, prog, w.inst_org, 150));
    ck_assert_int_eq(subject_count(&w.admin, "program.budget_threshold", prog), 1);
    ck_assert_int_eq(subject_data_int(&w.admin, "program.budget_threshold", prog, "threshold_pct"),
                     80);
    ck_assert_int_eq(subject_data_int(&w.admin, "program.budget_threshold", prog, "committed_fen"),
                     850);
    free(world_voucher_id(&w, prog, w.inst_org, 50)); /* 90 %: no new threshold */
    ck_assert_int_eq(subject_count(&w.admin, "program.budget_threshold", prog), 1);
    free(world_voucher_id(&w, prog, w.inst_org, 100));
    /* the city's auditor sees them too; the newest is the 100 % one */
    ck_assert_int_eq(subject_count(&w.auditor, "program.budget_threshold", prog), 2);
    ck_assert_int_eq(subject_data_int(&w.admin, "program.budget_threshold", prog, "threshold_pct"),
                     80); /* the last listed (oldest) */
    ck_assert_int_eq(subject_count(&w.other_admin, "program.budget_threshold", prog), 0);
    ck_assert_int_eq(subject_count(&w.inst, "program.budget_threshold", prog), 0);
    free(prog);
}
END_TEST

START_TEST(vouchers_expiring_in_30_7_and_1_days_notify_the_institute_once_each) {
    char *prog = world_program(&w, NULL);
    const long secs[] = {20 * 86400L, 5 * 86400L, 12 * 3600L};
    const long long days[] = {30, 7, 1};
    char *ids[3];
    for (int i = 0; i < 3; i++) {
        char at[32];
        struct th_resp r = world_voucher(&w, prog, w.inst_org, 100, world_time(at, secs[i]), NULL);
        ids[i] = strdup(th_str(&r, "id"));
        th_resp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        subject_wait(&w.inst, "voucher.expiring", ids[i]);
        ck_assert_int_eq(subject_data_int(&w.inst, "voucher.expiring", ids[i], "days"), days[i]);
        ck_assert_int_eq(subject_count(&w.inst2, "voucher.expiring", ids[i]), 0);
    }
    /* once every notice due is written, later runs of the job add none: the next notices of
     * the first two are days away, the last had its final one */
    ck_assert(th_sql_wait(
        w.dburl, "SELECT count(*) FROM voucher_expiry_watch WHERE next_at <= now()", "0", 30000));
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(subject_count(&w.inst, "voucher.expiring", ids[i]), 1);
        free(ids[i]);
    }
    free(prog);
}
END_TEST

START_TEST(a_new_anomaly_flag_notifies_the_city_once) {
    char *prog = world_program(&w, NULL);
    char *voucher = world_voucher_id(&w, prog, w.inst2_org, 100000);
    char *order = world_order(&w, &w.inst2, NULL, 1, 10, "2030-04-01T00:00:00Z");
    char body[256];
    snprintf(body, sizeof body, "{\"voucher_id\":\"%s\",\"order_id\":\"%s\",\"amount_fen\":1000}",
             voucher, order);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/redemptions", &w.inst2, body, NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    /* inst2 holds all of the programme's subsidy: an institute_share flag (and provider_share) */
    note_wait(&w.admin, "anomaly.flagged", "program_id", prog, 2);
    /* a voucher about to expire, issued now, is noticed by a later run of the job, which
     * looked for new flags again in the same transaction */
    char soon[32];
    struct th_resp v = world_voucher(&w, prog, w.inst_org, 10, world_time(soon, 3600), NULL);
    subject_wait(&w.inst, "voucher.expiring", th_str(&v, "id"));
    th_resp_free(&v);
    ck_assert_int_eq(note_count(&w.admin, "anomaly.flagged", "program_id", prog), 2);
    ck_assert_int_eq(note_count(&w.other_admin, "anomaly.flagged", "program_id", prog), 0);
    ck_assert_int_eq(note_count(&w.inst2, "anomaly.flagged", "program_id", prog), 0);
    free(prog);
    free(voucher);
    free(order);
}
END_TEST

/* An application of institute by to programme prog for requested fen; its id, malloc'd. */
static char *application(const struct th_auth *by, const char *prog, long long requested,
                         const char *contract) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"program_id\":\"%s\",\"requested_fen\":%lld,\"purpose\":\"training\","
             "\"contract_reference\":\"%s\"}",
             prog, requested, contract);
    return world_post_id(&w.srv, by, "/v1/applications", body);
}

START_TEST(a_decided_application_notifies_its_institute) {
    char *prog = world_program(&w, NULL);
    char *yes = application(&w.inst, prog, 5000, "NOTIFY-A"),
         *no = application(&w.inst, prog, 7000, "NOTIFY-B");
    ck_assert_int_eq(subject_count(&w.inst, "application.decided", yes), 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/applications/%s/approve", yes);
    struct th_resp r = th_req(&w.srv, "POST", path, &w.admin, "{\"amount_fen\":4000}", NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/applications/%s/reject", no);
    r = th_req(&w.srv, "POST", path, &w.admin, "{\"reason\":\"no contract attached\"}", NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(subject_count(&w.inst, "application.decided", yes), 1);
    ck_assert_int_eq(subject_data_int(&w.inst, "application.decided", yes, "approved_fen"), 4000);
    ck_assert_int_eq(subject_count(&w.inst, "application.decided", no), 1);
    json_t *a = notes_where(&w.inst, "application.decided", "status", "rejected");
    bool found = false;
    size_t i;
    json_t *n;
    json_array_foreach(a, i, n) found =
        found || strcmp(json_string_value(json_object_get(n, "subject_id")), no) == 0;
    ck_assert(found);
    json_decref(a);
    ck_assert_int_eq(subject_count(&w.inst2, "application.decided", yes), 0);
    ck_assert_int_eq(subject_count(&w.admin, "application.decided", yes), 0);
    free(yes);
    free(no);
    free(prog);
}
END_TEST

START_TEST(notifications_are_marked_read_one_or_all_by_each_user_and_paged) {
    char *prog = world_program(&w, NULL);
    for (int i = 0; i < 3; i++)
        free(world_voucher_id(&w, prog, w.inst_org, 10));
    struct th_resp r = th_req(&w.srv, "GET", "/v1/notifications?limit=2", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    const char *cursor = th_str(&r, "next_cursor");
    ck_assert_ptr_nonnull(cursor);
    long long unread = th_int(&r, "unread_count");
    ck_assert_int_ge(unread, 3);
    char *first = strdup(th_str(&r, "items.0.id")), path[160];
    snprintf(path, sizeof path, "/v1/notifications?limit=2&cursor=%s", cursor);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_str_ne(th_str(&r, "items.0.id"), first);
    th_resp_free(&r);

    snprintf(path, sizeof path, "/v1/notifications/%s/read", first);
    r = th_req(&w.srv, "POST", path, &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert(json_is_true(json_object_get(r.json, "read")));
    th_resp_free(&r);
    ck_assert_int_eq(world_get_int(&w, &w.inst, "/v1/notifications?limit=1", "unread_count"),
                     unread - 1);
    /* another organisation's notification is not there for anyone else */
    r = th_req(&w.srv, "POST", path, &w.inst2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/notifications?unread=maybe", &w.inst, NULL, NULL);
    th_assert_problem(&r, 400, "invalid-query");
    th_resp_free(&r);

    r = th_req(&w.srv, "POST", "/v1/notifications/read-all", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(th_int(&r, "marked"), unread - 1);
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/notifications?unread=true", &w.inst, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    ck_assert_int_eq(th_int(&r, "unread_count"), 0);
    th_resp_free(&r);
    free(first);
    free(prog);
}
END_TEST

/* ==== webhooks ============================================================================ */

START_TEST(the_ssrf_guard_refuses_loopback_private_and_link_local_targets) {
    cfg.webhook_allow_private = 0;
    const char *refused[] = {"http://127.0.0.1/hook",
                             "http://10.1.2.3/",
                             "http://172.16.0.1/",
                             "http://192.168.1.1:8080/x",
                             "http://169.254.169.254/",
                             "http://[::1]/",
                             "http://[fd00::1]/",
                             "http://[::ffff:127.0.0.1]/",
                             "http://localhost/",
                             "http://0.0.0.0/",
                             "ftp://example.com/",
                             "http://user:pw@example.com/",
                             "not a url"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        ck_assert_msg(webhook_url_refusal(refused[i]) != NULL, "%s was accepted", refused[i]);
    const char *accepted[] = {"https://hooks.example.com/suanli", "http://8.8.8.8/x",
                              "https://[2001:4860::8888]/"};
    for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++)
        ck_assert_msg(webhook_url_refusal(accepted[i]) == NULL, "%s was refused", accepted[i]);
    cfg.webhook_allow_private = 1;
    ck_assert_ptr_null(webhook_url_refusal("http://127.0.0.1/hook"));
}
END_TEST

START_TEST(webhooks_are_registered_by_providers_and_cities_with_a_secret_shown_once) {
    struct th_resp r =
        th_req(&w.srv, "POST", "/v1/webhooks", &w.inst,
               "{\"url\":\"https://example.com/h\",\"events\":[\"voucher.issued\"]}", NULL);
    th_assert_problem(&r, 403, "forbidden");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/webhooks", &w.prov,
               "{\"url\":\"ftp://example.com/h\",\"events\":[\"order.created\",\"nope\","
               "\"order.created\"]}",
               NULL);
    th_assert_problem(&r, 400, "validation-failed");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "errors")), 3);
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/webhooks", &w.prov,
               "{\"url\":\"https://example.com/h\",\"events\":[\"order.created\"],\"x\":1}", NULL);
    th_assert_problem(&r, 400, "validation-failed");
    th_resp_free(&r);
    r = th_req(&w.srv, "POST", "/v1/webhooks", &w.prov,
               "{\"url\":\"https://example.com/h\",\"events\":[\"order.created\"]}", NULL);
    th_assert_status(&r, 201);
    ck_assert(strncmp(th_str(&r, "secret"), "whsec_", 6) == 0);
    char *id = strdup(th_str(&r, "id"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/webhooks", &w.prov, NULL, NULL);
    th_assert_status(&r, 200);
    ck_assert_ptr_nonnull(strstr(r.body, id));
    ck_assert_ptr_null(strstr(r.body, "whsec_"));
    th_resp_free(&r);
    r = th_req(&w.srv, "GET", "/v1/webhooks", &w.prov2, NULL, NULL);
    ck_assert_ptr_null(strstr(r.body, id));
    th_resp_free(&r);
    char path[96];
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    r = th_req(&w.srv, "DELETE", path, &w.prov2, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries", id);
    r = th_req(&w.srv, "GET", path, &w.other_admin, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    r = th_req(&w.srv, "DELETE", path, &w.prov, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
    r = th_req(&w.srv, "DELETE", path, &w.prov, NULL, NULL);
    th_assert_problem(&r, 404, "not-found");
    th_resp_free(&r);
    free(id);
}
END_TEST

/* Registers a webhook for events as by to the receiver; its id and secret, malloc'd. */
static void hook_register(const struct th_auth *by, const char *events, char **id, char **secret) {
    char body[256];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/suanli\",\"events\":%s}", rx.port,
             events);
    struct th_resp r = th_req(&w.srv, "POST", "/v1/webhooks", by, body, NULL);
    th_assert_status(&r, 201);
    *id = strdup(th_str(&r, "id"));
    *secret = strdup(th_str(&r, "secret"));
    th_resp_free(&r);
}

static void hook_delete(const struct th_auth *by, const char *id) {
    char path[96];
    snprintf(path, sizeof path, "/v1/webhooks/%s", id);
    struct th_resp r = th_req(&w.srv, "DELETE", path, by, NULL, NULL);
    th_assert_status(&r, 204);
    th_resp_free(&r);
}

/* The delivery log of webhook id (one page), as by. */
static struct th_resp hook_log(const struct th_auth *by, const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/webhooks/%s/deliveries", id);
    struct th_resp r = th_req(&w.srv, "GET", path, by, NULL, NULL);
    th_assert_status(&r, 200);
    return r;
}

START_TEST(a_webhook_is_delivered_to_a_loopback_receiver_with_a_valid_signature) {
    hook_up((int[]){200}, 1);
    char *id, *secret;
    hook_register(&w.prov, "[\"order.created\"]", &id, &secret);
    char *order = world_order(&w, &w.inst, NULL, 1, 1, "2030-05-01T00:00:00Z");
    rx_wait(1);
    struct rx_request *q = &rx.got[0];
    long long t = 0;
    char v1[80] = "";
    ck_assert_int_eq(sscanf(q->signature, "t=%lld,v1=%64s", &t, v1), 2);
    char expect[WEBHOOK_SIGNATURE_LEN];
    webhook_sign(secret, t, q->body, strlen(q->body), expect);
    ck_assert_str_eq(q->signature, expect);
    /* the receiver's own check: HMAC-SHA256(secret, "t.body") in hex */
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char *signed_text;
    ck_assert(asprintf(&signed_text, "%lld.%s", t, q->body) > 0);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signed_text, strlen(signed_text));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    ck_assert_str_eq(v1, hex);
    free(signed_text);
    json_t *body = json_loads(q->body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(body, "type")), "order.created");
    ck_assert_str_eq(json_string_value(json_object_get(body, "id")), q->delivery);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(body, "data"), "subject_id")), order);
    json_decref(body);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM webhook_deliveries WHERE id = '%s'", q->delivery);
    ck_assert(th_sql_wait(w.dburl, sql, "delivered", 30000));
    struct th_resp r = hook_log(&w.prov, id);
    ck_assert_str_eq(th_str(&r, "items.0.status"), "delivered");
    ck_assert_int_eq(th_int(&r, "items.0.attempts"), 1);
    ck_assert_int_eq(
        json_integer_value(json_object_get(
            json_array_get(
                json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "log"), 0),
            "http_status")),
        200);
    th_resp_free(&r);
    hook_delete(&w.prov, id);
    hook_down();
    free(id);
    free(secret);
    free(order);
}
END_TEST

START_TEST(a_failing_receiver_is_retried_with_backoff_until_it_accepts) {
    hook_up((int[]){500, 503, 204}, 3);
    char *id, *secret;
    hook_register(&w.admin, "[\"program.budget_threshold\"]", &id, &secret);
    char *prog = world_program(&w, "{\"budget_fen\":100}");
    free(world_voucher_id(&w, prog, w.inst_org, 90)); /* 90 %: passes 80 % */
    rx_wait(3);
    ck_assert_str_eq(rx.got[0].delivery, rx.got[2].delivery);
    ck_assert_str_eq(rx.got[0].body, rx.got[2].body); /* the same bytes every time */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT status FROM webhook_deliveries WHERE id = '%s'",
             rx.got[0].delivery);
    ck_assert(th_sql_wait(w.dburl, sql, "delivered", 30000));
    struct th_resp r = hook_log(&w.admin, id);
    json_t *log = json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "log");
    ck_assert_int_eq(json_array_size(log), 3);
    const int statuses[] = {500, 503, 204};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(log, (size_t)i), "http_status")),
            statuses[i]);
    th_resp_free(&r);
    /* each retry waited at least its backoff (1 s, then 2 s) after the attempt before it */
    char sql2[512];
    snprintf(sql2, sizeof sql2,
             "SELECT bool_and(a2.at - a1.at >= make_interval(secs => 2 ^ (a1.attempt - 1)))"
             "  FROM webhook_attempts a1 JOIN webhook_attempts a2"
             "    ON a2.delivery_id = a1.delivery_id AND a2.attempt = a1.attempt + 1"
             " WHERE a1.delivery_id = '%s'",
             rx.got[0].delivery);
    char *ok = th_sql(w.dburl, sql2);
    ck_assert_str_eq(ok, "t");
    free(ok);
    hook_delete(&w.admin, id);
    hook_down();
    free(id);
    free(secret);
    free(prog);
}
END_TEST

START_TEST(a_server_killed_mid_delivery_delivers_every_event_after_restart) {
    hook_up((int[]){RX_HANG}, 1);
    char *id, *secret;
    hook_register(&w.prov2, "[\"order.created\"]", &id, &secret);
    char *offer = world_offer(&w, &w.prov2, "{\"units\":1000}");
    char *orders[4];
    for (int i = 0; i < 4; i++)
        orders[i] = world_order(&w, &w.inst, offer, 1, 1, "2030-06-01T00:00:00Z");
    rx_wait(1); /* at least one delivery is in flight, unanswered */
    th_server_kill(&hook);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = "
             "d.endpoint_id WHERE e.id = '%s' AND d.status = 'pending'",
             id);
    char *pending = th_sql(w.dburl, sql);
    ck_assert_str_eq(pending, "4"); /* committed events wait in the outbox */
    free(pending);
    int seen_before = rx_count();
    rx_script(1, (int[]){200});
    th_server_start(&hook, w.dburl, hook_env);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '%s' AND status = "
             "'delivered'",
             id);
    ck_assert(th_sql_wait(w.dburl, sql, "4", 60000));
    /* every order reached the receiver after the restart */
    for (int i = 0; i < 4; i++) {
        bool found = false;
        for (int k = 0; k < rx_count() && !found; k++)
            found = strstr(rx.got[k].body, orders[i]) != NULL;
        ck_assert_msg(found, "order %s was never delivered (%d before the kill)", orders[i],
                      seen_before);
        free(orders[i]);
    }
    hook_delete(&w.prov2, id);
    hook_down();
    free(offer);
    free(id);
    free(secret);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("notify");
    th_shared(up, down);
    th_case(s, issuing_vouchers_notifies_the_institute_once_a_batch, 240, NULL, NULL);
    th_case(s, orders_created_and_cancelled_notify_the_offer_provider_only, 240, NULL, NULL);
    th_case(s, a_programme_passing_80_and_100_percent_of_its_budget_notifies_its_city, 240, NULL,
            NULL);
    th_case(s, vouchers_expiring_in_30_7_and_1_days_notify_the_institute_once_each, 240, NULL,
            NULL);
    th_case(s, a_new_anomaly_flag_notifies_the_city_once, 240, NULL, NULL);
    th_case(s, a_decided_application_notifies_its_institute, 240, NULL, NULL);
    th_case(s, notifications_are_marked_read_one_or_all_by_each_user_and_paged, 240, NULL, NULL);
    th_case(s, the_ssrf_guard_refuses_loopback_private_and_link_local_targets, 60, NULL, NULL);
    th_case(s, webhooks_are_registered_by_providers_and_cities_with_a_secret_shown_once, 240, NULL,
            NULL);
    th_case(s, a_webhook_is_delivered_to_a_loopback_receiver_with_a_valid_signature, 240, NULL,
            NULL);
    th_case(s, a_failing_receiver_is_retried_with_backoff_until_it_accepts, 240, NULL, NULL);
    th_case(s, a_server_killed_mid_delivery_delivers_every_event_after_restart, 240, NULL, NULL);
    return s;
}

int main(void) {
    return th_run(make_suite());
}
