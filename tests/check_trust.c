/* check_trust.c — what holds against the database role itself (issue 15): audit checkpoints
 * are signed by a key of their own, verification takes its keys from the file the city keeps
 * (a key row and a checkpoint forged in the database are refused), and online verification
 * fails when committed events stay unchained too long. */
#include "harness.h"

#include "audit.h"
#include "keys.h"
#include "paseto.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char workdir[64];

static void setup(void) {
    snprintf(workdir, sizeof workdir, "/tmp/trust-it-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(workdir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", workdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ==== helpers ============================================================================= */

/* Runs a shell command; returns its exit status and its standard output (malloc'd) in *out. */
static int run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 1 << 16, len = 0, n;
    char *buf = calloc(1, cap);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int st = pclose(p);
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *verify_online(const struct th_server *s, const struct th_auth *op) {
    struct th_resp r = th_req(s, "GET", "/v1/audit/verify", op, NULL, NULL);
    th_assert_status(&r, 200);
    json_t *report = json_incref(r.json);
    th_resp_free(&r);
    return report;
}

static long long sql_int(const char *dburl, const char *sql) {
    char *v = th_sql(dburl, sql);
    long long n = v ? atoll(v) : -1;
    free(v);
    return n;
}

/* Runs `suanlid audit-verify` on a saved export with the keys file; returns the report. */
static json_t *audit_verify(const char *export_path, const char *keys, int *status) {
    char cmd[3 * PATH_MAX], *out;
    snprintf(cmd, sizeof cmd, "%s audit-verify %s --keys %s", th_suanlid(), export_path, keys);
    *status = run(cmd, &out);
    json_t *report = json_loads(out, 0, NULL);
    ck_assert_msg(report != NULL, "audit-verify printed no report: %s", out);
    free(out);
    return report;
}

static const char *save_export(const struct th_server *s, const struct th_auth *op,
                               const char *name) {
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    struct th_resp r = th_req(s, "GET", "/v1/audit/export", op, NULL, NULL);
    th_assert_status(&r, 200);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(r.body, f);
    fclose(f);
    th_resp_free(&r);
    return path;
}

static const char *reason_of(json_t *report) {
    const char *r =
        json_string_value(json_object_get(json_object_get(report, "first_bad"), "reason"));
    return r ? r : "";
}

/* ==== checkpoint keys ===================================================================== */

START_TEST(keygen_adds_and_rotates_a_checkpoint_key_apart_from_the_voucher_key) {
    char keys[PATH_MAX], cmd[2 * PATH_MAX], *out;
    snprintf(keys, sizeof keys, "%s/keys.json", workdir);
    snprintf(cmd, sizeof cmd, "%s keygen %s --checkpoint", th_suanlid(), keys);
    ck_assert_int_eq(run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "created") && strstr(out, "checkpoint key k4.pid."), "%s", out);
    free(out);
    ck_assert_int_eq(run(cmd, &out), 0);
    ck_assert_msg(strstr(out, "rotated") && strstr(out, "checkpoint key k4.pid."), "%s", out);
    free(out);
    ck_assert_int_eq(keys_load(keys), 0);
    ck_assert_int_eq(keyring.nkeys, 1);
    ck_assert_int_eq(keyring.ncheckpoint, 2);
    ck_assert_ptr_eq(keys_checkpoint_signer(), &keyring.checkpoint_keys[1]);
    ck_assert_str_ne(keys_checkpoint_signer()->kid, keys_current()->kid);
    char pinned[PASERK_K4_PUBLIC_LEN * 2 + 2], p0[PASERK_K4_PUBLIC_LEN], p1[PASERK_K4_PUBLIC_LEN];
    paserk_k4_public(keyring.checkpoint_keys[0].pk, p0);
    paserk_k4_public(keyring.checkpoint_keys[1].pk, p1);
    snprintf(pinned, sizeof pinned, "%s\n%s\n", p0, p1);
    keys_cleanup();
    /* --public prints exactly the checkpoint keys, the file a city pins */
    snprintf(cmd, sizeof cmd, "%s keygen %s --public", th_suanlid(), keys);
    ck_assert_int_eq(run(cmd, &out), 0);
    ck_assert_str_eq(out, pinned);
    free(out);
}
END_TEST

START_TEST(a_key_file_with_a_key_in_both_lists_is_refused) {
    char keys[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys.json", workdir);
    snprintf(cmd, sizeof cmd, "%s keygen %s >/dev/null", th_suanlid(), keys);
    ck_assert_int_eq(run(cmd, NULL), 0);
    json_t *doc = json_load_file(keys, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_object_set(doc, "checkpoint_keys", json_object_get(doc, "signing_keys"));
    ck_assert_int_eq(json_dump_file(doc, keys, 0), 0);
    ck_assert_int_eq(chmod(keys, 0600), 0);
    json_decref(doc);
    ck_assert_int_eq(keys_load(keys), -1);
}
END_TEST

/* A superuser inserts a key row and a checkpoint signed with that key: the city's pinned
 * checkpoint keys refuse it offline, and the server's own keyring refuses it online. */
START_TEST(a_checkpoint_forged_in_the_database_is_refused) {
    char keys[PATH_MAX], pinned[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys.json", workdir);
    snprintf(pinned, sizeof pinned, "%s/pinned.txt", workdir);
    snprintf(cmd, sizeof cmd, "%s keygen %s --checkpoint >/dev/null && %s keygen %s --public > %s",
             th_suanlid(), keys, th_suanlid(), keys, pinned);
    ck_assert_int_eq(run(cmd, NULL), 0);

    char env_key[PATH_MAX + 32];
    snprintf(env_key, sizeof env_key, "SUANLI_KEY_FILE=%s", keys);
    /* the first checkpoint at once, the next only after an hour: the tail stays unsealed */
    const char *env[] = {env_key, "SUANLI_AUDIT_SEAL_MS=50", "SUANLI_AUDIT_CHECKPOINT_MS=3600000",
                         NULL};
    char *dburl = th_db_create("trust_forge");
    struct th_server srv;
    struct th_auth op;
    th_server_start(&srv, dburl, env);
    th_operator(&srv, &op);
    free(th_org(&srv, &op, "city", "Forged-Town", NULL));
    long long events = sql_int(dburl, "SELECT count(*) FROM audit_events");
    for (int i = 0; i < 300 && sql_int(dburl, "SELECT count(*) FROM audit_chain") < events; i++)
        usleep(100000);
    ck_assert_int_eq(sql_int(dburl, "SELECT count(*) FROM audit_chain"), events);

    /* the genuine checkpoint is signed by the checkpoint key, which the pinned file holds */
    ck_assert_int_eq(keys_load(keys), 0);
    char *kid = th_sql(dburl, "SELECT kid FROM audit_checkpoints ORDER BY size LIMIT 1");
    ck_assert_str_eq(kid, keyring.checkpoint_keys[0].kid);
    free(kid);
    keys_cleanup();
    int status;
    json_t *report = audit_verify(save_export(&srv, &op, "before.jsonl"), pinned, &status);
    ck_assert_msg(status == 0, "the genuine log does not verify: %s", reason_of(report));
    json_decref(report);

    /* forge: a key row, and a checkpoint over the real unsealed tail signed with that key */
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    char fkid[PASERK_K4_PID_LEN], fpub[PASERK_K4_PUBLIC_LEN], sql[2048];
    paserk_k4_pid(pk, fkid);
    paserk_k4_public(pk, fpub);
    snprintf(sql, sizeof sql,
             "INSERT INTO signing_keys (kid, paserk, status, created_at) "
             "VALUES ('%s', '%s', 'retired', now() - interval '1 year') RETURNING kid",
             fkid, fpub);
    free(th_sql(dburl, sql));
    long long size = sql_int(dburl, "SELECT max(position) FROM audit_chain");
    ck_assert_int_gt(size, sql_int(dburl, "SELECT max(size) FROM audit_checkpoints"));
    snprintf(sql, sizeof sql, "SELECT encode(hash, 'hex') FROM audit_chain WHERE position = %lld",
             size);
    char *head = th_sql(dburl, sql);
    char *now = th_sql(dburl, "SELECT audit_time(now())");
    char msg[512], sig_hex[129];
    int len = audit_checkpoint_message(size, head, now, fkid, msg, sizeof msg);
    ck_assert_int_gt(len, 0);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)msg, (size_t)len, sk);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    snprintf(sql, sizeof sql,
             "INSERT INTO audit_checkpoints (size, head_hash, signed_at, kid, signature) VALUES "
             "(%lld, decode('%s', 'hex'), '%s', '%s', decode('%s', 'hex')) RETURNING size",
             size, head, now, fkid, sig_hex);
    free(th_sql(dburl, sql));
    free(head);
    free(now);

    /* the database now lists the forged key beside the real ones ... */
    struct th_resp k = th_req(&srv, "GET", "/v1/keys", NULL, NULL, NULL);
    ck_assert_msg(strstr(k.body, fkid) != NULL, "GET /v1/keys: %s", k.body);
    th_resp_free(&k);
    /* ... yet the pinned keys refuse the checkpoint it signed, offline and online */
    report = audit_verify(save_export(&srv, &op, "after.jsonl"), pinned, &status);
    ck_assert_int_eq(status, 1);
    ck_assert_str_eq(reason_of(report), "checkpoint-signature-invalid");
    json_decref(report);
    report = verify_online(&srv, &op);
    ck_assert(json_is_false(json_object_get(report, "ok")));
    ck_assert_str_eq(reason_of(report), "checkpoint-signature-invalid");
    json_decref(report);

    /* the server holding the keys writes no core file */
    char limits[128], *text;
    snprintf(limits, sizeof limits, "awk '/Max core file size/ {print $5, $6}' /proc/%d/limits",
             (int)srv.pid);
    ck_assert_int_eq(run(limits, &text), 0);
    ck_assert_str_eq(text, "0 0\n");
    free(text);

    ck_assert_int_eq(th_server_stop(&srv), 0);
    free(dburl);
}
END_TEST

/* ==== the witness file ==================================================================== */

/* Waits until every event is chained and sealed; returns the sealed size. */
static long long wait_sealed(const struct th_server *s, const struct th_auth *op,
                             const char *dburl) {
    for (int i = 0; i < 300; i++) {
        json_t *r = verify_online(s, op);
        long long events = sql_int(dburl, "SELECT count(*) FROM audit_events");
        long long sealed = json_integer_value(json_object_get(r, "sealed_size"));
        bool done = json_is_true(json_object_get(r, "ok")) && sealed == events &&
                    json_integer_value(json_object_get(r, "unchained_events")) == 0;
        json_decref(r);
        if (done)
            return sealed;
        usleep(100000);
    }
    ck_abort_msg("the sealer did not seal every event within 30 s");
    return -1;
}

/* A superuser cuts the tail (events, chain and checkpoints together, triggers off): the export
 * still verifies on its own, but not against the witness file the sealer kept outside. */
START_TEST(a_tail_cut_from_the_database_is_found_by_the_witness) {
    char keys[PATH_MAX], pinned[PATH_MAX], witness[PATH_MAX], cmd[3 * PATH_MAX];
    snprintf(keys, sizeof keys, "%s/keys.json", workdir);
    snprintf(pinned, sizeof pinned, "%s/pinned.txt", workdir);
    snprintf(witness, sizeof witness, "%s/witness.jsonl", workdir);
    snprintf(cmd, sizeof cmd, "%s keygen %s --checkpoint >/dev/null && %s keygen %s --public > %s",
             th_suanlid(), keys, th_suanlid(), keys, pinned);
    ck_assert_int_eq(run(cmd, NULL), 0);
    char env_key[PATH_MAX + 32], env_witness[PATH_MAX + 32];
    snprintf(env_key, sizeof env_key, "SUANLI_KEY_FILE=%s", keys);
    snprintf(env_witness, sizeof env_witness, "SUANLI_AUDIT_WITNESS_FILE=%s", witness);
    const char *env[] = {env_key, env_witness, "SUANLI_AUDIT_SEAL_MS=50",
                         "SUANLI_AUDIT_CHECKPOINT_MS=100", NULL};
    char *dburl = th_db_create("trust_witness");
    struct th_server srv;
    struct th_auth op;
    th_server_start(&srv, dburl, env);
    th_operator(&srv, &op);
    free(th_org(&srv, &op, "city", "Kept-Town", NULL));
    long long kept = wait_sealed(&srv, &op, dburl);
    free(th_org(&srv, &op, "city", "Cut-Town", NULL));
    free(th_org(&srv, &op, "city", "Cut-Village", NULL));
    ck_assert_int_gt(wait_sealed(&srv, &op, dburl), kept);

    int status;
    snprintf(cmd, sizeof cmd, "%s --witness %s", pinned, witness);
    json_t *report = audit_verify(save_export(&srv, &op, "before.jsonl"), cmd, &status);
    char *text = json_dumps(report, 0);
    json_t *w = json_object_get(report, "witness");
    ck_assert_msg(status == 0 && json_integer_value(json_object_get(w, "checkpoints")) >= 2 &&
                      json_integer_value(json_object_get(w, "matched")) ==
                          json_integer_value(json_object_get(w, "checkpoints")),
                  "%s", text);
    free(text);
    json_decref(report);
    /* the sealer's file is mode 0600 */
    struct stat st;
    ck_assert_int_eq(stat(witness, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(th_server_stop(&srv), 0);

    char sql[2048];
    snprintf(sql, sizeof sql,
             "ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_chain DISABLE "
             "TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; "
             "DELETE FROM audit_events WHERE seq > (SELECT seq FROM audit_chain WHERE position = "
             "%lld); DELETE FROM audit_chain WHERE position > %lld; DELETE FROM audit_checkpoints "
             "WHERE size > %lld; ALTER TABLE audit_events ENABLE TRIGGER USER; ALTER TABLE "
             "audit_chain ENABLE TRIGGER USER; ALTER TABLE audit_checkpoints ENABLE TRIGGER USER; "
             "SELECT 1",
             kept, kept, kept);
    free(th_sql(dburl, sql));
    ck_assert_int_eq(sql_int(dburl, "SELECT max(size) FROM audit_checkpoints"), kept);

    const char *off[] = {env_key, "SUANLI_AUDIT_SEALER=off", NULL};
    th_server_start(&srv, dburl, off);
    const char *cut = save_export(&srv, &op, "after.jsonl");
    report = audit_verify(cut, pinned, &status);
    ck_assert_msg(status == 0, "the cut log should verify on its own: %s", reason_of(report));
    json_decref(report);
    report = audit_verify(cut, cmd, &status);
    text = json_dumps(report, 0);
    w = json_object_get(report, "witness");
    ck_assert_msg(
        status == 1 && json_is_false(json_object_get(report, "ok")) &&
            strcmp(json_string_value(json_object_get(json_object_get(w, "first_bad"), "reason")),
                   "witness-missing") == 0,
        "%s", text);
    free(text);
    json_decref(report);
    ck_assert_int_eq(th_server_stop(&srv), 0);
    free(dburl);
}
END_TEST

/* ==== files and secrets =================================================================== */

/* Runs `suanlid keygen FILE --public` (which reads the key file); its status, stderr in *err. */
static int read_keys(const char *keys, char **err) {
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s keygen %s --public 2>&1 >/dev/null", th_suanlid(), keys);
    return run(cmd, err);
}

START_TEST(a_key_file_others_can_read_or_that_another_user_owns_is_refused) {
    char keys[PATH_MAX], link[PATH_MAX], cmd[2 * PATH_MAX], *err;
    snprintf(keys, sizeof keys, "%s/keys.json", workdir);
    snprintf(link, sizeof link, "%s/link.json", workdir);
    snprintf(cmd, sizeof cmd, "%s keygen %s >/dev/null", th_suanlid(), keys);
    ck_assert_int_eq(run(cmd, NULL), 0);
    ck_assert_int_eq(read_keys(keys, NULL), 0);

    ck_assert_int_eq(chmod(keys, 0644), 0);
    ck_assert_int_eq(read_keys(keys, &err), 1);
    ck_assert_msg(strstr(err, "mode 0644") && strstr(err, "chmod 600"), "%s", err);
    free(err);
    ck_assert_int_eq(chmod(keys, 0600), 0);

    ck_assert_int_eq(symlink(keys, link), 0);
    ck_assert_int_eq(read_keys(link, &err), 1);
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
    free(err);

    if (geteuid() == 0) { /* only root can hand the file to another user */
        ck_assert_int_eq(chown(keys, 65534, 65534), 0);
        ck_assert_int_eq(read_keys(keys, &err), 1);
        ck_assert_msg(strstr(err, "owned by uid 65534") != NULL, "%s", err);
        free(err);
    }
}
END_TEST

/* A data directory whose path is too long for the socket sends the cluster to /var/tmp, at a
 * path derived from it; *fallback receives that path. */
static void long_data_dir(char *data, size_t len, char *fallback, size_t flen) {
    snprintf(data, len,
             "%s/a-data-directory-with-a-name-long-enough-that-the-socket-path-would-"
             "not-fit",
             workdir);
    ck_assert_int_eq(mkdir(data, 0755), 0);
    char abs[PATH_MAX];
    ck_assert_ptr_nonnull(realpath(data, abs));
    unsigned char h[8];
    char hex[17];
    crypto_generichash(h, sizeof h, (const unsigned char *)abs, strlen(abs), NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(fallback, flen, "/var/tmp/suanli-pg-%s", hex);
}

static int db_start(const char *data, char **err) {
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "SUANLI_DATA_DIR=%s %s db start 2>&1 >/dev/null", data, th_suanlid());
    return run(cmd, err);
}

START_TEST(a_prepared_cluster_directory_under_var_tmp_stops_start_up) {
    char data[PATH_MAX], fallback[PATH_MAX], target[PATH_MAX], *err;
    long_data_dir(data, sizeof data, fallback, sizeof fallback);
    snprintf(target, sizeof target, "%s/elsewhere", workdir);
    ck_assert_int_eq(mkdir(target, 0700), 0);

    /* a symbolic link planted where the cluster goes is not followed */
    ck_assert_int_eq(symlink(target, fallback), 0);
    int status = db_start(data, &err);
    unlink(fallback);
    ck_assert_msg(status != 0 && strstr(err, fallback) && strstr(err, "symbolic link"), "%s", err);
    free(err);

    /* a directory another user made there is refused, with its owner named */
    if (geteuid() == 0) {
        ck_assert_int_eq(mkdir(fallback, 0777), 0);
        ck_assert_int_eq(chown(fallback, 65534, 65534), 0);
        status = db_start(data, &err);
        rmdir(fallback);
        ck_assert_msg(status != 0 && strstr(err, "belongs to uid 65534") &&
                          strstr(err, "refusing to start"),
                      "%s", err);
        free(err);
    }
}
END_TEST

/* ==== unchained events ==================================================================== */

START_TEST(online_verify_fails_when_events_stay_unchained_too_long) {
    const char *env[] = {"SUANLI_AUDIT_SEALER=off", "SUANLI_AUDIT_UNCHAINED_MAX_S=1", NULL};
    char *dburl = th_db_create("trust_unchained");
    struct th_server srv;
    struct th_auth op;
    th_server_start(&srv, dburl, env);
    th_operator(&srv, &op);
    free(th_org(&srv, &op, "city", "Unsealed-Town", NULL));
    sleep(3);
    json_t *report = verify_online(&srv, &op);
    char *text = json_dumps(report, 0);
    ck_assert_msg(json_is_false(json_object_get(report, "ok")), "%s", text);
    ck_assert_str_eq(reason_of(report), "unchained-too-long");
    ck_assert_int_ge(json_integer_value(json_object_get(report, "unchained_age_s")), 2);
    ck_assert_int_gt(json_integer_value(json_object_get(report, "unchained_events")), 0);
    free(text);
    json_decref(report);
    ck_assert_int_eq(th_server_stop(&srv), 0);

    /* the same log read by a server whose sealer chains it verifies again */
    const char *sealing[] = {"SUANLI_AUDIT_SEAL_MS=50", "SUANLI_AUDIT_CHECKPOINT_MS=100",
                             "SUANLI_AUDIT_UNCHAINED_MAX_S=1", NULL};
    th_server_start(&srv, dburl, sealing); /* op's API key is in the database: still valid */
    bool ok = false;
    for (int i = 0; i < 100 && !ok; i++) {
        report = verify_online(&srv, &op);
        ok = json_is_true(json_object_get(report, "ok"));
        json_decref(report);
        if (!ok)
            usleep(100000);
    }
    ck_assert_msg(ok, "the log does not verify once the sealer ran");
    ck_assert_int_eq(th_server_stop(&srv), 0);
    free(dburl);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("trust");
    TCase *t = tcase_create("trust");
    tcase_set_timeout(t, 180);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, keygen_adds_and_rotates_a_checkpoint_key_apart_from_the_voucher_key);
    tcase_add_test(t, a_key_file_with_a_key_in_both_lists_is_refused);
    tcase_add_test(t, a_checkpoint_forged_in_the_database_is_refused);
    tcase_add_test(t, a_key_file_others_can_read_or_that_another_user_owns_is_refused);
    tcase_add_test(t, a_prepared_cluster_directory_under_var_tmp_stops_start_up);
    tcase_add_test(t, a_tail_cut_from_the_database_is_found_by_the_witness);
    tcase_add_test(t, online_verify_fails_when_events_stay_unchained_too_long);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    if (sodium_init() < 0)
        return 1;
    return th_run(make_suite());
}
