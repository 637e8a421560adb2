/* check_cli.c — the suanlid command line: configuration errors, --help, keygen rotation,
 * migrations (order, once, checksums), the demo seed, and the embedded PostgreSQL (placed where
 * the postgres user can reach it, shared by two servers, stopped by the last one). */
#include "harness.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Runs a shell command line; returns its exit status and its output (stdout+stderr). */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...) {
    char cmd[4096];
    setenv("SUANLI_LOG_LEVEL", "info", 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[4200];
    snprintf(full, sizeof full, "( %s ) 2>&1", cmd);
    FILE *p = popen(full, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        len += n;
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(bad_configuration_stops_with_the_variable_named) {
    char *out;
    ck_assert_int_eq(run(&out, "SUANLI_THREADS=lots %s migrate", th_suanlid()), 2);
    ck_assert_ptr_nonnull(strstr(out, "SUANLI_THREADS"));
    free(out);
    ck_assert_int_eq(run(&out, "SUANLI_LISTEN=localhost %s serve", th_suanlid()), 2);
    ck_assert_ptr_nonnull(strstr(out, "SUANLI_LISTEN"));
    free(out);
    ck_assert_int_eq(run(&out, "SUANLI_MODE=staging %s serve", th_suanlid()), 2);
    ck_assert_ptr_nonnull(strstr(out, "SUANLI_MODE"));
    free(out);
    ck_assert_int_eq(run(&out, "SUANLI_LOG_LEVEL=loud %s serve", th_suanlid()), 2);
    ck_assert_ptr_nonnull(strstr(out, "SUANLI_LOG_LEVEL"));
    free(out);
}
END_TEST

START_TEST(every_command_has_help) {
    const char *cmds[] = {"serve", "migrate", "keygen", "create-user", "demo-seed", "db"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *out;
        ck_assert_int_eq(run(&out, "%s %s --help", th_suanlid(), cmds[i]), 0);
        ck_assert_msg(strstr(out, "usage: suanlid") && strstr(out, "SUANLI_DATA_DIR"), "%s", out);
        free(out);
    }
    char *out;
    ck_assert_int_eq(run(&out, "%s frobnicate", th_suanlid()), 2);
    ck_assert_ptr_nonnull(strstr(out, "unknown command"));
    free(out);
}
END_TEST

START_TEST(keygen_creates_then_rotates) {
    char dir[] = "/tmp/suanli-keys-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *out;
    ck_assert_int_eq(run(&out, "%s keygen %s/k.json", th_suanlid(), dir), 0);
    ck_assert_ptr_nonnull(strstr(out, "created"));
    ck_assert_ptr_nonnull(strstr(out, "k4.pid."));
    free(out);
    ck_assert_int_eq(run(&out, "%s keygen %s/k.json", th_suanlid(), dir), 0);
    ck_assert_ptr_nonnull(strstr(out, "rotated"));
    free(out);
    char path[256];
    snprintf(path, sizeof path, "%s/k.json", dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert_int_eq((int)json_array_size(json_object_get(doc, "signing_keys")), 2);
    json_decref(doc);
    run(NULL, "rm -rf %s", dir);
}
END_TEST

START_TEST(migrations_apply_once_and_refuse_an_edited_file) {
    char *db = th_db_create("migrate");
    char dir[] = "/tmp/suanli-sql-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(run(NULL, "cp %s/*.sql %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
    char *out;
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    free(out);
    char *n1 = th_sql(db, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_ge(atoi(n1), 1);
    /* a second run applies nothing */
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_ptr_nonnull(strstr(out, "0 applied"));
    free(out);
    /* a new file is applied in order */
    ck_assert_int_eq(run(NULL, "echo 'CREATE TABLE zz_test (x int);' > %s/999_zz.sql", dir), 0);
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_ptr_nonnull(strstr(out, "999_zz.sql"));
    free(out);
    /* editing an applied migration is refused, with its name */
    ck_assert_int_eq(run(NULL, "echo '-- edited' >> %s/001_foundation.sql", dir), 0);
    ck_assert_int_ne(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_msg(strstr(out, "001_foundation.sql was edited"), "%s", out);
    free(out);
    char *n2 = th_sql(db, "SELECT count(*) FROM schema_migrations");
    ck_assert_int_eq(atoi(n2), atoi(n1) + 1);
    free(n1);
    free(n2);
    run(NULL, "rm -rf %s", dir);
    free(db);
}
END_TEST

START_TEST(a_failing_migration_is_rolled_back_whole) {
    char *db = th_db_create("migfail");
    char dir[] = "/tmp/suanli-sql-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(run(NULL, "cp %s/*.sql %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
    ck_assert_int_eq(
        run(NULL,
            "printf 'CREATE TABLE half (x int);\\nSELECT no_such_function();\\n' > %s/998_bad.sql",
            dir),
        0);
    char *out;
    ck_assert_int_ne(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_msg(strstr(out, "998_bad.sql failed"), "%s", out);
    free(out);
    char *half = th_sql(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'");
    ck_assert_str_eq(half, "0");
    free(half);
    char *rec = th_sql(db, "SELECT count(*) FROM schema_migrations WHERE version = 998");
    ck_assert_str_eq(rec, "0");
    free(rec);
    run(NULL, "rm -rf %s", dir);
    free(db);
}
END_TEST

START_TEST(demo_seed_logins_work_and_seed_is_idempotent) {
    char *db = th_db_create("demo");
    char *out;
    ck_assert_int_eq(run(&out, "DATABASE_URL='%s' %s demo-seed", db, th_suanlid()), 0);
    free(out);
    ck_assert_int_eq(run(&out, "DATABASE_URL='%s' %s demo-seed", db, th_suanlid()), 0);
    ck_assert_ptr_nonnull(strstr(out, "already seeded"));
    free(out);
    ck_assert_int_ne(
        run(&out, "SUANLI_MODE=production DATABASE_URL='%s' %s demo-seed", db, th_suanlid()), 0);
    ck_assert_ptr_nonnull(strstr(out, "development only"));
    free(out);
    struct th_server s;
    th_server_start(&s, db, NULL);
    const char *emails[] = {"operator@suanli.demo",        "admin@chengdu.suanli.demo",
                            "auditor@chengdu.suanli.demo", "ops@westcloud.suanli.demo",
                            "ops@eastcompute.suanli.demo", "lab@scu.suanli.demo"};
    const char *roles[] = {"operator", "city_admin", "auditor",
                           "provider", "provider",   "institute"};
    for (int i = 0; i < 6; i++) {
        struct th_auth a;
        ck_assert_int_eq(th_login(&s, emails[i], "suanli-demo", &a), 201);
        struct th_resp r = th_req(&s, "GET", "/v1/me", &a, NULL, NULL);
        ck_assert_str_eq(th_str(&r, "role"), roles[i]);
        th_resp_free(&r);
    }
    ck_assert_int_eq(th_server_stop(&s), 0);
    free(db);
}
END_TEST

START_TEST(create_user_bootstraps_an_operator) {
    char *db = th_db_create("bootstrap");
    char *out;
    ck_assert_int_eq(run(&out, "echo 'short' | DATABASE_URL='%s' %s create-user --email a@b.cn", db,
                         th_suanlid()),
                     2);
    free(out);
    ck_assert_int_eq(
        run(&out,
            "echo 'long enough password' | DATABASE_URL='%s' %s create-user --email Boss@Suanli.cn",
            db, th_suanlid()),
        0);
    ck_assert_ptr_nonnull(strstr(out, "created operator"));
    free(out);
    char *role = th_sql(db, "SELECT role FROM users WHERE email = 'boss@suanli.cn'");
    ck_assert_str_eq(role, "operator");
    free(role);
    free(db);
}
END_TEST

/* The data directory sits in a 0700 directory the postgres user cannot enter (as a checkout
 * under /root does in CI): the cluster must go elsewhere and everything must still work. */
START_TEST(embedded_cluster_is_shared_and_stopped_by_the_last_server) {
    char parent[] = "/tmp/suanli-private-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(parent));
    chmod(parent, 0700);
    char data[300], env[400];
    snprintf(data, sizeof data, "%s/var", parent);
    snprintf(env, sizeof env, "SUANLI_DATA_DIR=%s", data);
    const char *extra[] = {env, NULL};

    struct th_server a, b;
    th_server_start(&a, NULL, extra);
    struct th_resp r = th_req(&a, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    if (geteuid() == 0) {
        char loc[400];
        snprintf(loc, sizeof loc, "%s/pg.location", data);
        ck_assert_msg(access(loc, F_OK) == 0, "the cluster should have moved out of %s", parent);
    }
    th_server_start(&b, NULL, extra); /* joins the running cluster */
    r = th_req(&b, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_status(&r, 200);
    th_resp_free(&r);
    ck_assert_int_eq(th_server_stop(&a), 0);
    r = th_req(&b, "GET", "/readyz", NULL, NULL, NULL);
    th_assert_status(&r, 200); /* still up: b uses it */
    th_resp_free(&r);
    ck_assert_int_eq(th_server_stop(&b), 0);
    char *out;
    ck_assert_int_eq(run(&out, "SUANLI_DATA_DIR=%s %s db start", data, th_suanlid()), 0);
    free(out);
    ck_assert_int_eq(run(&out, "SUANLI_DATA_DIR=%s %s db stop", data, th_suanlid()), 0);
    free(out);
    char loc[400];
    snprintf(loc, sizeof loc, "%s/pg.location", data);
    FILE *f = fopen(loc, "r");
    if (f) {
        char cluster[300] = "";
        ck_assert_ptr_nonnull(fgets(cluster, sizeof cluster, f));
        fclose(f);
        cluster[strcspn(cluster, "\n")] = '\0';
        char pid[400];
        snprintf(pid, sizeof pid, "%s/postmaster.pid", cluster);
        ck_assert_msg(access(pid, F_OK) != 0, "the cluster in %s is still running", cluster);
        run(NULL, "rm -rf %s", cluster);
    }
    run(NULL, "rm -rf %s", parent);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_configuration_stops_with_the_variable_named);
    tcase_add_test(tc, every_command_has_help);
    tcase_add_test(tc, keygen_creates_then_rotates);
    tcase_add_test(tc, migrations_apply_once_and_refuse_an_edited_file);
    tcase_add_test(tc, a_failing_migration_is_rolled_back_whole);
    tcase_add_test(tc, demo_seed_logins_work_and_seed_is_idempotent);
    tcase_add_test(tc, create_user_bootstraps_an_operator);
    tcase_add_test(tc, embedded_cluster_is_shared_and_stopped_by_the_last_server);
    suite_add_tcase(s, tc);
    return th_run(s);
}
