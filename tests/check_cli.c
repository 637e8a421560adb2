/* check_cli.c — the suanlid command line: configuration errors, --help, keygen rotation,
 * key import (keygen --import: a PASERK made elsewhere, malformed ones refused), migrations
 * (order, once, checksums, functions reloaded in full and each defined once, the old layout
 * refused, a run that meets a deadlock tried again), the demo seed, and the embedded
 * PostgreSQL (placed where the postgres user can reach it, shared by two servers, stopped by
 * the last one). */
#include "harness.h"

#include "paseto.h"

#include <libpq-fe.h>
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

/* The key file dir/name: it must be private to its owner (0600); returns its parsed JSON. */
static json_t *key_file(const char *dir, const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    json_t *doc = json_load_file(path, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

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
    json_t *doc = key_file(dir, "k.json");
    ck_assert_int_eq((int)json_array_size(json_object_get(doc, "signing_keys")), 2);
    json_decref(doc);
    run(NULL, "rm -rf %s", dir);
}
END_TEST

/* ==== keygen --import ===================================================================== */

/* PASERK k4.secret test vectors 2 and 3 (tests/data/paserk-k4.json): keys made elsewhere. */
#define VECTOR2_SECRET                                                                             \
    "k4.secret.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8c5WpIyC_5kWKhS8VEYSZ05dYfuTF-"           \
    "ZdQFV4D9vLTcNQ"
#define VECTOR2_PUBLIC "1ce56a48c82ff99162a14bc544612674e5d61fb9317e65d4055780fdbcb4dc35"
#define VECTOR3_SECRET                                                                             \
    "k4.secret.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjpBg_jdXGl1ufTCxUVTOSp-"                    \
    "5LHDIcISPTM3xYmWICX9z9w"
#define VECTOR3_SEED "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e90"

/* The whole content of a file, malloc'd ("" when it cannot be read). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);
    if (f != NULL) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* The k4.pid of a public key given in hex. */
static void pid_of_hex(const char *hex, char kid[PASERK_K4_PID_LEN]) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    ck_assert_int_eq(sodium_hex2bin(pk, sizeof pk, hex, strlen(hex), NULL, NULL, NULL), 0);
    paserk_k4_pid(pk, kid);
}

START_TEST(keygen_imports_a_key_made_elsewhere_as_the_new_signing_key) {
    char dir[] = "/tmp/suanli-import-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *out;
    ck_assert_int_eq(run(&out, "%s keygen %s/k.json", th_suanlid(), dir), 0);
    free(out);
    /* from a file */
    ck_assert_int_eq(run(NULL, "umask 077; echo '%s' > %s/v2.paserk", VECTOR2_SECRET, dir), 0);
    ck_assert_int_eq(run(&out, "%s keygen %s/k.json --import %s/v2.paserk", th_suanlid(), dir, dir),
                     0);
    char kid[PASERK_K4_PID_LEN];
    pid_of_hex(VECTOR2_PUBLIC, kid);
    ck_assert_msg(strstr(out, "rotated") && strstr(out, kid) && strstr(out, "(imported)"), "%s",
                  out);
    ck_assert_msg(strstr(out, "k4.secret.") == NULL, "the secret was printed: %s", out);
    free(out);
    json_t *doc = key_file(dir, "k.json");
    json_t *keys = json_object_get(doc, "signing_keys");
    ck_assert_int_eq((int)json_array_size(keys), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(keys, 1), "secret")),
                     VECTOR2_SECRET);
    json_decref(doc);
    /* from standard input, after which the old keys stay for verification */
    ck_assert_int_eq(
        run(&out, "echo '%s' | %s keygen %s/k.json --import -", VECTOR3_SECRET, th_suanlid(), dir),
        0);
    ck_assert_msg(strstr(out, "rotated") && strstr(out, "(imported)"), "%s", out);
    free(out);
    doc = key_file(dir, "k.json");
    keys = json_object_get(doc, "signing_keys");
    ck_assert_int_eq((int)json_array_size(keys), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(keys, 1), "secret")),
                     VECTOR2_SECRET);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(keys, 2), "secret")),
                     VECTOR3_SECRET);
    json_decref(doc);
    /* into a file that does not exist yet: created, with a hash secret of its own */
    ck_assert_int_eq(
        run(&out, "%s keygen %s/new.json --import %s/v2.paserk", th_suanlid(), dir, dir), 0);
    ck_assert_msg(strstr(out, "created") && strstr(out, kid), "%s", out);
    free(out);
    doc = key_file(dir, "new.json");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(doc, "hash_key")));
    ck_assert_int_eq((int)json_array_size(json_object_get(doc, "signing_keys")), 1);
    json_decref(doc);
    run(NULL, "rm -rf %s", dir);
}
END_TEST

START_TEST(keygen_import_refuses_a_bad_key_and_leaves_the_file_unchanged) {
    char dir[] = "/tmp/suanli-import-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *out;
    ck_assert_int_eq(run(&out, "%s keygen %s/k.json", th_suanlid(), dir), 0);
    free(out);
    ck_assert_int_eq(
        run(&out, "echo '%s' | %s keygen %s/k.json --import -", VECTOR2_SECRET, th_suanlid(), dir),
        0);
    free(out);
    /* the seed of vector 3 spliced with the public key of vector 2 */
    unsigned char spliced[crypto_sign_SECRETKEYBYTES];
    ck_assert_int_eq(sodium_hex2bin(spliced, 32, VECTOR3_SEED, 64, NULL, NULL, NULL), 0);
    ck_assert_int_eq(sodium_hex2bin(spliced + 32, 32, VECTOR2_PUBLIC, 64, NULL, NULL, NULL), 0);
    char spliced_paserk[PASERK_K4_SECRET_LEN] = "k4.secret.";
    sodium_bin2base64(spliced_paserk + 10, sizeof spliced_paserk - 10, spliced, sizeof spliced,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char bad_char[] = VECTOR3_SECRET, truncated[] = VECTOR3_SECRET,
         other_version[] = VECTOR3_SECRET;
    bad_char[20] = '+'; /* base64, not base64url */
    truncated[60] = '\0';
    other_version[1] = '3';
    char path[256];
    snprintf(path, sizeof path, "%s/k.json", dir);
    char *before = slurp(path);
    const struct {
        const char *what, *input, *message;
    } cases[] = {
        {"a public key", "echo 'k4.public.cHFyc3R1dnd4eXp7fH1-f4CBgoOEhYaHiImKi4yNjo8' |",
         "this is a public key (k4.public)"},
        {"another PASERK version", other_version, "must begin with \"k4.secret.\""},
        {"a truncated key", truncated, "holds 64 bytes, 86 base64url characters"},
        {"a character outside base64url", bad_char, "not canonical unpadded base64url"},
        {"a spliced key", spliced_paserk,
         "its public half is not the public key of its secret seed"},
        {"a key the file holds", VECTOR2_SECRET, "already holds signing key k4.pid."},
        {"two lines", "printf 'k4.secret.a\\nk4.secret.b\\n' |", "on one line"},
        {"nothing", "true |", "on one line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *in = cases[i].input;
        bool shell = in[strlen(in) - 1] == '|';
        int rc = shell ? run(&out, "%s %s keygen %s --import -", in, th_suanlid(), path)
                       : run(&out, "echo '%s' | %s keygen %s --import -", in, th_suanlid(), path);
        ck_assert_msg(rc == 1, "%s: exit %d: %s", cases[i].what, rc, out);
        ck_assert_msg(strstr(out, cases[i].message) && strstr(out, "is unchanged"), "%s: %s",
                      cases[i].what, out);
        free(out);
        char *after = slurp(path);
        ck_assert_msg(strcmp(before, after) == 0, "%s changed the key file", cases[i].what);
        free(after);
    }
    /* a key on the command line is refused without being echoed */
    ck_assert_int_eq(run(&out, "%s keygen %s --import %s", th_suanlid(), path, VECTOR3_SECRET), 1);
    ck_assert_msg(strstr(out, "not the key itself") && strstr(out, "k4.secret.") == NULL, "%s",
                  out);
    free(out);
    /* a missing PASERK file, and no file created on failure */
    ck_assert_int_eq(
        run(&out, "%s keygen %s/none.json --import %s/missing", th_suanlid(), dir, dir), 1);
    ck_assert_msg(strstr(out, "cannot read") && strstr(out, "was not created"), "%s", out);
    free(out);
    char none[256];
    snprintf(none, sizeof none, "%s/none.json", dir);
    ck_assert_int_ne(access(none, F_OK), 0);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    free(before);
    run(NULL, "rm -rf %s", dir);
}
END_TEST

START_TEST(migrations_apply_once_and_refuse_an_edited_file) {
    char *db = th_db_create("migrate");
    char dir[] = "/tmp/suanli-sql-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(run(NULL, "cp -r %s/. %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
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
    ck_assert_int_eq(run(NULL, "echo 'CREATE TABLE zz_test (x int);' > %s/schema/999_zz.sql", dir),
                     0);
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_ptr_nonnull(strstr(out, "999_zz.sql"));
    free(out);
    /* editing an applied migration is refused, with its name */
    ck_assert_int_eq(run(NULL, "echo '-- edited' >> %s/schema/001_foundation.sql", dir), 0);
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
    ck_assert_int_eq(run(NULL, "cp -r %s/. %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
    ck_assert_int_eq(run(NULL,
                         "printf 'CREATE TABLE half (x int);\\nSELECT no_such_function();\\n' > "
                         "%s/schema/998_bad.sql",
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

/* A fresh database, migrated from the sql/ directory the suites use. */
static char *migrated_db(const char *label) {
    char *db = th_db_create(label);
    char *out;
    int rc = run(&out, "DATABASE_URL='%s' %s migrate", db, th_suanlid());
    ck_assert_msg(rc == 0, "migrate: %s", out);
    free(out);
    return db;
}

/* Every function of sql/functions is defined in exactly one file, <area>/<name>.sql, which
 * defines that function only; schema files define none but uuid_v7, which column defaults
 * need. Checked on the files and on what a migrated database holds. */
START_TEST(each_function_is_defined_in_exactly_one_file) {
    const char *sql = getenv("SUANLI_SQL_DIR");
    char *out;
    /* a file defining anything but the one function its name says */
    ck_assert_int_eq(
        run(&out,
            "cd %s/functions && for f in */*.sql; do n=$(basename $f .sql); "
            "d=$(grep -ciE '^CREATE (OR REPLACE )?FUNCTION' $f); "
            "grep -qiE \"^CREATE FUNCTION $n\\(\" $f && [ \"$d\" = 1 ] || echo \"bad: $f\"; done",
            sql),
        0);
    ck_assert_msg(out[0] == '\0', "%s", out);
    free(out);
    /* the same name in two files */
    ck_assert_int_eq(
        run(&out, "cd %s/functions && ls */*.sql | xargs -n1 basename | sort | uniq -d", sql), 0);
    ck_assert_msg(out[0] == '\0', "defined twice: %s", out);
    free(out);
    /* schema files: uuid_v7 only */
    ck_assert_int_eq(run(&out,
                         "grep -hoiE 'CREATE (OR REPLACE )?FUNCTION [a-z_0-9.]+' %s/schema/*.sql "
                         "| grep -v 'FUNCTION uuid_v7$'",
                         sql),
                     1);
    ck_assert_msg(out[0] == '\0', "a function in a schema file: %s", out);
    free(out);
    /* the database holds one function per file, each in schema api, and in public only the
     * functions that tables depend on */
    char *db = migrated_db("fnonce");
    ck_assert_int_eq(run(&out, "ls %s/functions/*/*.sql | wc -l", sql), 0);
    int files = atoi(out);
    free(out);
    char *n = th_sql(db, "SELECT count(DISTINCT proname) || '/' || count(*) FROM pg_proc "
                         "WHERE pronamespace = 'api'::regnamespace");
    char want[32];
    snprintf(want, sizeof want, "%d/%d", files, files);
    ck_assert_str_eq(n, want);
    free(n);
    char *loose = th_sql(db, "SELECT coalesce(string_agg(proname, ' '), '') FROM pg_proc p "
                             "WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS ("
                             " SELECT 1 FROM pg_depend d WHERE d.refobjid = p.oid"
                             " AND d.classid IN ('pg_attrdef'::regclass, 'pg_constraint'::regclass,"
                             "                   'pg_class'::regclass))");
    ck_assert_msg(loose == NULL || loose[0] == '\0', "functions in public: %s", loose);
    free(loose);
    free(db);
}
END_TEST

/* Reads do not write: every function that answers a GET (names ending in _get, _list, _json,
 * _live, _search, _page, and the report_ and match_ functions) is STABLE or IMMUTABLE, which
 * PostgreSQL enforces (such a function cannot change a row, nor call one that does). */
START_TEST(functions_that_answer_reads_cannot_write) {
    char *db = migrated_db("reads");
    const char *reads = "FROM pg_proc WHERE pronamespace = 'api'::regnamespace"
                        " AND (proname ~ '_(get|list|json|live|search|page)$'"
                        "      OR proname ~ '^(report|match)_')";
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) %s", reads);
    char *n = th_sql(db, sql);
    ck_assert_int_ge(atoi(n), 30);
    free(n);
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(proname, ' '), '') %s AND provolatile = 'v'", reads);
    char *writers = th_sql(db, sql);
    ck_assert_msg(writers == NULL || writers[0] == '\0', "read functions that may write: %s",
                  writers);
    free(writers);
    free(db);
}
END_TEST

/* Re-running migrate reloads every function (new objects, triggers again in place) and keeps
 * the data; a function file that does not compile rolls the whole run back. A helper whose
 * standard SQL body reads no table is left to run as its caller (so it can be inlined); one
 * that reads a table runs as the owner, like every other function the runtime role calls. */
START_TEST(migrate_reloads_functions_and_keeps_data) {
    char *db = th_db_create("reload");
    char dir[] = "/tmp/suanli-sql-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(run(NULL, "cp -r %s/. %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
    ck_assert_int_eq(run(NULL,
                         "printf 'CREATE FUNCTION zz_cities() RETURNS bigint LANGUAGE sql STABLE\n"
                         "RETURN (SELECT count(*) FROM organizations);\n' "
                         "> %s/functions/core/zz_cities.sql",
                         dir),
                     0);
    char *out;
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    free(out);
    char *definer = th_sql(db, "SELECT string_agg(proname || '=' || prosecdef, ' ' ORDER BY"
                               " proname) FROM pg_proc WHERE proname IN ('zz_cities', 'ts')"
                               " AND pronamespace = 'api'::regnamespace");
    ck_assert_str_eq(definer, "ts=false zz_cities=true");
    free(definer);
    free(th_sql(db, "SELECT org_create('{\"role\":\"operator\"}', 'city', 'Reloadville', NULL)"));
    const char *oid_sql = "SELECT 'api.org_create'::regproc::oid";
    const char *trig_sql = "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal";
    char *oid1 = th_sql(db, oid_sql), *trig1 = th_sql(db, trig_sql);
    ck_assert_int_gt(atoi(trig1), 0);
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_msg(strstr(out, "0 applied") && strstr(out, "reloaded"), "%s", out);
    free(out);
    char *oid2 = th_sql(db, oid_sql), *trig2 = th_sql(db, trig_sql);
    ck_assert_str_ne(oid1, oid2);
    ck_assert_str_eq(trig1, trig2);
    char *kept = th_sql(db, "SELECT count(*) FROM organizations WHERE name = 'Reloadville'");
    ck_assert_str_eq(kept, "1");
    free(kept);
    /* a broken function file: refused with its name, and nothing of the run stays */
    ck_assert_int_eq(
        run(NULL, "echo 'CREATE TABLE zz_half (x int);' > %s/schema/997_half.sql", dir), 0);
    ck_assert_int_eq(run(NULL,
                         "printf 'CREATE FUNCTION zz_broken() RETURNS int LANGUAGE sql AS "
                         "$$ SELECT no_such_column FROM organizations $$;\\n' "
                         "> %s/functions/core/zz_broken.sql",
                         dir),
                     0);
    ck_assert_int_ne(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    ck_assert_msg(strstr(out, "does not compile") && strstr(out, "no_such_column"), "%s", out);
    free(out);
    char *half = th_sql(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'zz_half'");
    ck_assert_str_eq(half, "0");
    free(half);
    char *oid3 = th_sql(db, oid_sql);
    ck_assert_str_eq(oid2, oid3);
    free(oid1);
    free(oid2);
    free(oid3);
    free(trig1);
    free(trig2);
    run(NULL, "rm -rf %s", dir);
    free(db);
}
END_TEST

/* Until the count of rows of sql is want: polled for up to 30 s; false if it never is. */
static bool eventually(const char *db, const char *sql, const char *want) {
    for (int i = 0; i < 300; i++) {
        char *v = th_sql(db, sql);
        bool ok = v != NULL && strcmp(v, want) == 0;
        free(v);
        if (ok)
            return true;
        usleep(100 * 1000);
    }
    return false;
}

/* A migration that deadlocks with a transaction of a running server is rolled back and tried
 * again, and then applies. Deterministic: the new schema file locks zz_first and then
 * zz_second; the "server" holds zz_second, waits until migrate holds zz_first and waits for
 * zz_second, then asks for zz_first. Its deadlock_timeout is long, so migrate's check finds
 * the cycle and ends its own transaction; the server gets zz_first and commits; migrate's
 * second attempt applies the file. */
START_TEST(a_migration_that_meets_a_deadlock_is_tried_again) {
    char *db = th_db_create("deadlock");
    char dir[] = "/tmp/suanli-sql-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(run(NULL, "cp -r %s/. %s/", getenv("SUANLI_SQL_DIR"), dir), 0);
    char *out;
    ck_assert_int_eq(
        run(&out, "DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate", db, dir, th_suanlid()), 0);
    free(out);
    free(th_sql(db, "CREATE TABLE zz_first (x int); CREATE TABLE zz_second (x int)"));
    ck_assert_int_eq(run(NULL,
                         "printf 'LOCK TABLE zz_first IN ACCESS EXCLUSIVE MODE;\n"
                         "LOCK TABLE zz_second IN ACCESS EXCLUSIVE MODE;\n"
                         "ALTER TABLE zz_first ADD COLUMN y int;\n' > %s/schema/996_both.sql",
                         dir),
                     0);

    PGconn *server = PQconnectdb(db);
    ck_assert_int_eq(PQstatus(server), CONNECTION_OK);
    const char *hold[] = {"SET deadlock_timeout = '60s'", "BEGIN",
                          "LOCK TABLE zz_second IN ACCESS SHARE MODE"};
    for (size_t i = 0; i < sizeof hold / sizeof hold[0]; i++) {
        PGresult *r = PQexec(server, hold[i]);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", hold[i],
                      PQerrorMessage(server));
        PQclear(r);
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "( SUANLI_LOG_LEVEL=info DATABASE_URL='%s' SUANLI_SQL_DIR=%s %s migrate ) 2>&1", db,
             dir, th_suanlid());
    FILE *migrate = popen(cmd, "r");
    ck_assert_ptr_nonnull(migrate);
    ck_assert_msg(eventually(db,
                             "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                             " WHERE c.relname = 'zz_second' AND NOT l.granted",
                             "1"),
                  "migrate never came to wait for zz_second");
    PGresult *r = PQexec(server, "LOCK TABLE zz_first IN ACCESS SHARE MODE");
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "the server lost: %s",
                  PQerrorMessage(server));
    PQclear(r);
    r = PQexec(server, "COMMIT");
    ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(server);

    size_t cap = 65536, len = 0, n;
    out = calloc(1, cap);
    while ((n = fread(out + len, 1, cap - len - 1, migrate)) > 0)
        len += n;
    int status = pclose(migrate);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "migrate: %s", out);
    ck_assert_msg(strstr(out, "deadlock detected") && strstr(out, "attempt 2 of") &&
                      strstr(out, "applied migration 996_both.sql") &&
                      strstr(out, "(1 applied now)"),
                  "%s", out);
    free(out);
    char *applied = th_sql(db, "SELECT count(*) FROM schema_migrations WHERE version = 996");
    ck_assert_str_eq(applied, "1");
    free(applied);
    char *column = th_sql(db, "SELECT count(*) FROM information_schema.columns"
                              " WHERE table_name = 'zz_first' AND column_name = 'y'");
    ck_assert_str_eq(column, "1");
    free(column);
    run(NULL, "rm -rf %s", dir);
    free(db);
}
END_TEST

/* A database migrated by the layout of before sql/schema (functions in public, no schema
 * api) is refused with the reason, and left as it was. */
START_TEST(the_old_layout_is_refused) {
    char *db = th_db_create("oldlayout");
    free(th_sql(db, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT "
                    "NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
                    "INSERT INTO schema_migrations VALUES (1, '001_foundation.sql', 'x')"));
    char *out;
    ck_assert_int_ne(run(&out, "DATABASE_URL='%s' %s migrate", db, th_suanlid()), 0);
    ck_assert_msg(strstr(out, "layout before sql/schema"), "%s", out);
    free(out);
    char *api = th_sql(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'api'");
    ck_assert_str_eq(api, "0");
    free(api);
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
    /* issue 13: one submitted and one approved application (with its voucher), and an
     * accreditation list, seeded once */
    const char *counts[][2] = {
        {"SELECT count(*) FROM applications WHERE status = 'submitted'", "1"},
        {"SELECT count(*) FROM applications WHERE status = 'approved' AND voucher_id IS NOT NULL",
         "1"},
        {"SELECT count(*) FROM program_providers WHERE status = 'accredited'", "1"},
    };
    for (int i = 0; i < 3; i++) {
        char *n = th_sql(db, counts[i][0]);
        ck_assert_msg(n != NULL && strcmp(n, counts[i][1]) == 0, "%s: %s", counts[i][0], n);
        free(n);
    }
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
    th_case(s, bad_configuration_stops_with_the_variable_named, 120, NULL, NULL);
    th_case(s, every_command_has_help, 120, NULL, NULL);
    th_case(s, keygen_creates_then_rotates, 120, NULL, NULL);
    th_case(s, keygen_imports_a_key_made_elsewhere_as_the_new_signing_key, 120, NULL, NULL);
    th_case(s, keygen_import_refuses_a_bad_key_and_leaves_the_file_unchanged, 120, NULL, NULL);
    th_case(s, migrations_apply_once_and_refuse_an_edited_file, 120, NULL, NULL);
    th_case(s, a_failing_migration_is_rolled_back_whole, 120, NULL, NULL);
    th_case(s, each_function_is_defined_in_exactly_one_file, 120, NULL, NULL);
    th_case(s, migrate_reloads_functions_and_keeps_data, 120, NULL, NULL);
    th_case(s, a_migration_that_meets_a_deadlock_is_tried_again, 120, NULL, NULL);
    th_case(s, the_old_layout_is_refused, 120, NULL, NULL);
    th_case(s, functions_that_answer_reads_cannot_write, 120, NULL, NULL);
    th_case(s, demo_seed_logins_work_and_seed_is_idempotent, 120, NULL, NULL);
    th_case(s, create_user_bootstraps_an_operator, 120, NULL, NULL);
    th_case(s, embedded_cluster_is_shared_and_stopped_by_the_last_server, 120, NULL, NULL);
    return th_run(s);
}
