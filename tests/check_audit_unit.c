/* check_audit_unit.c — the audit log's cryptographic core without a server: canonical bytes,
 * the chain step, checkpoint messages, the verifier's verdict on every kind of tampering, the
 * offline verifier on export files, and the key file formats it accepts; and the two pieces
 * the module stands on: the growable buffer and the periodic runner that drives the sealer. */
#include "harness.h"

#include "audit.h"
#include "buf.h"
#include "cron.h"
#include "paseto.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== helpers ============================================================================= */

static char *canon(const char *json) {
    char *out = NULL;
    size_t len;
    if (canon_object(json, strlen(json), NULL, &out, &len) != 0)
        return NULL;
    ck_assert_uint_eq(strlen(out), len);
    return out;
}

static void assert_canon(const char *json, const char *expected) {
    char *out = canon(json);
    ck_assert_msg(out != NULL, "refused: %s", json);
    ck_assert_str_eq(out, expected);
    free(out);
}

static void assert_refused(const char *json) {
    char *out = canon(json);
    ck_assert_msg(out == NULL, "accepted %s as %s", json, out ? out : "");
}

/* A synthetic log: events with content, chained, with checkpoints signed by a fresh key. */
#define LOG_N 12
struct synth {
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    struct keys_public key;
    char docs[LOG_N][160];
    int64_t seqs[LOG_N];
    unsigned char leaves[LOG_N][AUDIT_HASH_BYTES];
    unsigned char hashes[LOG_N][AUDIT_HASH_BYTES];
};

static void synth_init(struct synth *s) {
    crypto_sign_keypair(s->key.pk, s->sk);
    paserk_k4_pid(s->key.pk, s->key.kid);
    unsigned char prev[AUDIT_HASH_BYTES] = {0};
    for (int i = 0; i < LOG_N; i++) {
        s->seqs[i] = 10 + 2 * i; /* gaps, as rolled-back transactions leave */
        snprintf(s->docs[i], sizeof s->docs[i],
                 "{\"action\":\"org.create\",\"at\":\"2026-01-31T08:00:%02d.000001Z\","
                 "\"city_id\":null,\"data\":{\"n\":%d,\"pue\":1.20}}",
                 i, i);
        char *c = canon(s->docs[i]);
        audit_leaf(c, strlen(c), s->leaves[i]);
        free(c);
        audit_chain_step(prev, s->seqs[i], s->leaves[i], s->hashes[i]);
        memcpy(prev, s->hashes[i], sizeof prev);
    }
}

static struct audit_entry synth_entry(const struct synth *s, int i) {
    struct audit_entry e = {0};
    e.position = i + 1;
    e.seq = s->seqs[i];
    e.present = true;
    memcpy(e.leaf, s->leaves[i], AUDIT_HASH_BYTES);
    e.has_claim_leaf = e.has_claim_hash = true;
    memcpy(e.claim_leaf, s->leaves[i], AUDIT_HASH_BYTES);
    memcpy(e.claim_hash, s->hashes[i], AUDIT_HASH_BYTES);
    return e;
}

static struct audit_checkpoint synth_checkpoint(const struct synth *s, int64_t size) {
    struct audit_checkpoint cp = {0};
    cp.size = size;
    util_hex(s->hashes[size - 1], AUDIT_HASH_BYTES, cp.head_hex);
    snprintf(cp.signed_at, sizeof cp.signed_at, "2026-01-31T08:01:%02d.000Z", (int)size);
    snprintf(cp.kid, sizeof cp.kid, "%s", s->key.kid);
    char msg[512];
    int len = audit_checkpoint_message(cp.size, cp.head_hex, cp.signed_at, cp.kid, msg, sizeof msg);
    ck_assert_int_gt(len, 0);
    crypto_sign_detached(cp.signature, NULL, (unsigned char *)msg, (size_t)len, s->sk);
    return cp;
}

static int64_t synth_find(void *ctx, const unsigned char leaf[AUDIT_HASH_BYTES], int64_t not_pos) {
    const struct synth *s = ctx;
    for (int i = 0; i < LOG_N; i++)
        if (i + 1 != not_pos && memcmp(s->leaves[i], leaf, AUDIT_HASH_BYTES) == 0)
            return i + 1;
    return 0;
}

/* Feeds entries (checkpoints at 4, 8 and 12 after their position) and returns the verifier. */
static void feed(struct audit_verifier *v, const struct synth *s, struct audit_entry *entries,
                 int n) {
    audit_verifier_init(v, &s->key, 1, synth_find, (void *)s);
    for (int i = 0; i < n; i++) {
        audit_verifier_entry(v, &entries[i]);
        if (entries[i].position > 0 && entries[i].position % 4 == 0) {
            struct audit_checkpoint cp = synth_checkpoint(s, entries[i].position);
            audit_verifier_checkpoint(v, &cp);
        }
    }
    audit_verifier_finish(v);
}

static void assert_bad(const struct audit_verifier *v, int64_t position, const char *reason) {
    ck_assert_msg(v->failed, "expected %s at %lld, but the log verified", reason,
                  (long long)position);
    ck_assert_msg(strcmp(v->reason, reason) == 0 && v->bad_position == position,
                  "expected %s at %lld, got %s at %lld (%s)", reason, (long long)position,
                  v->reason, (long long)v->bad_position, v->detail);
}

/* ==== canonical bytes ===================================================================== */

START_TEST(canonical_sorts_members_and_drops_whitespace) {
    assert_canon("{ \"b\" : 1 ,\n\t\"a\" : [ 1 , {\"d\":true, \"c\":null} ] , \"aa\" : \"x\" }",
                 "{\"a\":[1,{\"c\":null,\"d\":true}],\"aa\":\"x\",\"b\":1}");
    assert_canon("{}", "{}");
    assert_canon("{\"a\":[],\"b\":{}}", "{\"a\":[],\"b\":{}}");
}
END_TEST

START_TEST(canonical_keeps_number_lexemes) {
    assert_canon("{\"x\":1.50,\"y\":-0.0,\"z\":1E+20,\"w\":12345678901234567890123}",
                 "{\"w\":12345678901234567890123,\"x\":1.50,\"y\":-0.0,\"z\":1E+20}");
}
END_TEST

START_TEST(canonical_escapes_only_what_json_requires) {
    assert_canon("{\"s\":\"\\u00e9\\/\\\"\\\\\\n\\u0001\\ud83d\\ude00\\u001F\"}",
                 "{\"s\":\"\xc3\xa9/\\\"\\\\\\n\\u0001\xf0\x9f\x98\x80\\u001f\"}");
}
END_TEST

START_TEST(canonical_orders_names_by_their_bytes) {
    assert_canon("{\"\\u00e9\":1,\"z\":2,\"b\":3,\"a\":4,\"ab\":5}",
                 "{\"a\":4,\"ab\":5,\"b\":3,\"z\":2,\"\xc3\xa9\":1}");
}
END_TEST

START_TEST(canonical_refuses_what_is_not_one_clean_object) {
    assert_refused("[1]");
    assert_refused("\"x\"");
    assert_refused("{\"a\":1,\"a\":2}");
    assert_refused("{\"a\":1} x");
    assert_refused("{\"a\":01}");
    assert_refused("{\"a\":1.}");
    assert_refused("{\"a\":\"\\ud800\"}");
    assert_refused("{\"a\":\"\\u0000\"}");
    assert_refused("{\"a\":\"\xc3\"}");
    assert_refused("{\"a\":\"\xc0\xaf\"}");
    assert_refused("{\"a\":\"\x01\"}");
    assert_refused("{\"a\":tru}");
    assert_refused("{\"a\":1,}");
    assert_refused("");
    char deep[300] = "{\"a\":";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    assert_refused(deep);
}
END_TEST

START_TEST(canonical_leaves_out_skipped_members) {
    const char *skip[] = {"kind", "seq", NULL};
    char *out;
    size_t len;
    const char *line = "{\"kind\":\"event\",\"seq\":7,\"b\":2,\"a\":1}";
    ck_assert_int_eq(canon_object(line, strlen(line), skip, &out, &len), 0);
    ck_assert_str_eq(out, "{\"a\":1,\"b\":2}");
    free(out);
}
END_TEST

/* ==== chain and checkpoints =============================================================== */

START_TEST(chain_step_hashes_previous_seq_and_leaf) {
    unsigned char prev[32], leaf[32], got[32], want[32], buf[72];
    for (int i = 0; i < 32; i++) {
        prev[i] = (unsigned char)i;
        leaf[i] = (unsigned char)(255 - i);
    }
    memcpy(buf, prev, 32);
    const unsigned char be[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x02};
    memcpy(buf + 32, be, 8);
    memcpy(buf + 40, leaf, 32);
    crypto_generichash(want, 32, buf, sizeof buf, NULL, 0);
    audit_chain_step(prev, 0x0102, leaf, got);
    ck_assert_mem_eq(got, want, 32);
    audit_leaf("{}", 2, got);
    crypto_generichash(want, 32, (const unsigned char *)"{}", 2, NULL, 0);
    ck_assert_mem_eq(got, want, 32);
}
END_TEST

START_TEST(checkpoint_message_is_sorted_compact_json) {
    char msg[512];
    int n =
        audit_checkpoint_message(42, "ab", "2026-01-31T08:00:00.000Z", "k4.pid.x", msg, sizeof msg);
    ck_assert_str_eq(msg, "{\"head_hash\":\"ab\",\"kid\":\"k4.pid.x\",\"signed_at\":"
                          "\"2026-01-31T08:00:00.000Z\",\"size\":42,\"type\":"
                          "\"suanli.audit.checkpoint.v1\"}");
    ck_assert_int_eq(n, (int)strlen(msg));
    ck_assert_int_eq(audit_checkpoint_message(42, "ab", "t", "k", msg, 10), -1);
}
END_TEST

/* ==== the verifier ======================================================================== */

START_TEST(verifier_accepts_an_intact_log) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    ck_assert_msg(!v.failed, "%s: %s", v.reason, v.detail);
    ck_assert_int_eq(v.size, LOG_N);
    ck_assert_int_eq(v.sealed, LOG_N);
    ck_assert_int_eq(v.checkpoints, 3);
    json_t *report = audit_verifier_report(&v);
    ck_assert(json_is_true(json_object_get(report, "ok")));
    ck_assert(json_is_null(json_object_get(report, "first_bad")));
    json_decref(report);
}
END_TEST

START_TEST(verifier_names_an_edited_event) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    e[5].leaf[0] ^= 1;
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    assert_bad(&v, 6, "edited");
    ck_assert(v.bad_has_seq && v.bad_seq == s.seqs[5]);
}
END_TEST

START_TEST(verifier_names_a_missing_event_and_a_missing_position) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    e[2].present = false; /* chain row kept, event deleted */
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    assert_bad(&v, 3, "missing");
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    memmove(&e[2], &e[3], (LOG_N - 3) * sizeof e[0]); /* the whole position gone */
    feed(&v, &s, e, LOG_N - 1);
    assert_bad(&v, 3, "missing");
}
END_TEST

START_TEST(verifier_names_an_inserted_event) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N + 1];
    for (int i = 0, k = 0; i < LOG_N; i++) {
        e[k++] = synth_entry(&s, i);
        if (i == 6) { /* seq 23 sits in the gap between positions 7 (seq 22) and 8 (seq 24) */
            e[k] = synth_entry(&s, 0);
            e[k].position = 0;
            e[k].seq = s.seqs[6] + 1;
            e[k].has_claim_leaf = e[k].has_claim_hash = false;
            k++;
        }
    }
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N + 1);
    assert_bad(&v, 8, "inserted");
    ck_assert_int_eq(v.bad_seq, s.seqs[6] + 1);
}
END_TEST

START_TEST(verifier_names_reordered_events) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    memcpy(e[3].leaf, s.leaves[9], 32); /* the contents of positions 4 and 10 swapped */
    memcpy(e[9].leaf, s.leaves[3], 32);
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    assert_bad(&v, 4, "reordered");
    ck_assert_ptr_nonnull(strstr(v.detail, "position 10"));
}
END_TEST

START_TEST(verifier_names_a_truncated_tail) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    struct audit_verifier v;
    audit_verifier_init(&v, &s.key, 1, NULL, NULL);
    for (int i = 0; i < 9; i++)
        audit_verifier_entry(&v, &e[i]);
    struct audit_checkpoint cp = synth_checkpoint(&s, 12);
    audit_verifier_checkpoint(&v, &cp);
    ck_assert(!v.failed);
    audit_verifier_finish(&v);
    assert_bad(&v, 10, "truncated");
}
END_TEST

START_TEST(verifier_names_a_rewritten_chain) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    e[6].claim_hash[3] ^= 0x40;
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    assert_bad(&v, 7, "chain-altered");
    /* A consistent rewrite of leaf and hashes from 6 on is caught by the checkpoint at 8. */
    unsigned char prev[32];
    memcpy(prev, s.hashes[4], 32);
    for (int i = 5; i < LOG_N; i++) {
        e[i] = synth_entry(&s, i);
        if (i == 5) {
            e[i].leaf[0] ^= 1;
            memcpy(e[i].claim_leaf, e[i].leaf, 32);
        }
        audit_chain_step(prev, e[i].seq, e[i].leaf, e[i].claim_hash);
        memcpy(prev, e[i].claim_hash, 32);
    }
    feed(&v, &s, e, LOG_N);
    assert_bad(&v, 5, "checkpoint-head-mismatch");
}
END_TEST

START_TEST(verifier_refuses_bad_and_unknown_signatures) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    struct audit_verifier v;
    audit_verifier_init(&v, &s.key, 1, NULL, NULL);
    for (int i = 0; i < 4; i++)
        audit_verifier_entry(&v, &e[i]);
    struct audit_checkpoint cp = synth_checkpoint(&s, 4);
    cp.signature[10] ^= 1;
    audit_verifier_checkpoint(&v, &cp);
    assert_bad(&v, 4, "checkpoint-signature-invalid");

    struct synth other;
    synth_init(&other);
    audit_verifier_init(&v, &other.key, 1, NULL, NULL);
    for (int i = 0; i < 4; i++)
        audit_verifier_entry(&v, &e[i]);
    cp = synth_checkpoint(&s, 4);
    audit_verifier_checkpoint(&v, &cp);
    assert_bad(&v, 4, "checkpoint-signature-invalid");
    ck_assert_ptr_nonnull(strstr(v.detail, "not among the keys"));
}
END_TEST

START_TEST(verifier_counts_unchained_tail_events) {
    struct synth s;
    synth_init(&s);
    struct audit_entry e[LOG_N];
    for (int i = 0; i < LOG_N; i++)
        e[i] = synth_entry(&s, i);
    for (int i = 9; i < LOG_N; i++) {
        e[i].position = 0;
        e[i].has_claim_leaf = e[i].has_claim_hash = false;
    }
    struct audit_verifier v;
    feed(&v, &s, e, LOG_N);
    ck_assert_msg(!v.failed, "%s", v.detail);
    ck_assert_int_eq(v.size, 9);
    ck_assert_int_eq(v.sealed, 8);
    ck_assert_int_eq(v.unchained, 3);
}
END_TEST

/* ==== offline: export files and key files ================================================= */

static char tmpdir[64];

static void tmp_setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/audit-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Writes the export of the synthetic log as the server does; redact: events with odd index
 * appear as their leaf only. mutate(i, line) may alter event line i. */
static const char *write_export(const struct synth *s, bool redact, bool end,
                                void (*mutate)(int i, char *line, size_t cap)) {
    static char path[128];
    snprintf(path, sizeof path, "%s/export.jsonl", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"kind\":\"header\",\"format\":\"suanli-audit-export/1\",\"exported_at\":"
               "\"2026-01-31T09:00:00.000Z\",\"city_id\":null}\n");
    int events = 0, redacted = 0, cps = 0;
    for (int i = 0; i < LOG_N; i++) {
        char leaf[65], hash[65], line[1024];
        util_hex(s->leaves[i], 32, leaf);
        util_hex(s->hashes[i], 32, hash);
        if (redact && i % 2 == 1) {
            snprintf(line, sizeof line,
                     "{\"kind\":\"redacted\",\"position\":%d,\"seq\":%lld,\"leaf\":\"%s\","
                     "\"hash\":\"%s\"}",
                     i + 1, (long long)s->seqs[i], leaf, hash);
            redacted++;
        } else {
            char *c = canon(s->docs[i]);
            snprintf(line, sizeof line,
                     "{\"kind\":\"event\",\"position\":%d,\"seq\":%lld,\"leaf\":\"%s\",\"hash\":"
                     "\"%s\",%s",
                     i + 1, (long long)s->seqs[i], leaf, hash, c + 1);
            free(c);
            events++;
        }
        if (mutate)
            mutate(i, line, sizeof line);
        if (line[0])
            fprintf(f, "%s\n", line);
        if ((i + 1) % 4 == 0) {
            struct audit_checkpoint cp = synth_checkpoint(s, i + 1);
            char sig[129];
            util_hex(cp.signature, 64, sig);
            fprintf(f,
                    "{\"kind\":\"checkpoint\",\"size\":%lld,\"head_hash\":\"%s\",\"signed_at\":"
                    "\"%s\",\"kid\":\"%s\",\"signature\":\"%s\"}\n",
                    (long long)cp.size, cp.head_hex, cp.signed_at, cp.kid, sig);
            cps++;
        }
    }
    if (end)
        fprintf(f, "{\"kind\":\"end\",\"events\":%d,\"redacted\":%d,\"checkpoints\":%d}\n", events,
                redacted, cps);
    fclose(f);
    return path;
}

static json_t *verify_file(const struct synth *s, const char *path) {
    json_t *report = NULL;
    char *error = NULL;
    ck_assert_msg(audit_verify_export(path, &s->key, 1, &report, &error) == 0, "%s", error);
    return report;
}

static void assert_report_bad(json_t *report, long long position, const char *reason) {
    char *text = json_dumps(report, 0);
    ck_assert_msg(json_is_false(json_object_get(report, "ok")), "verified: %s", text);
    json_t *bad = json_object_get(report, "first_bad");
    ck_assert_msg(json_integer_value(json_object_get(bad, "position")) == position &&
                      strcmp(json_string_value(json_object_get(bad, "reason")), reason) == 0,
                  "expected %s at %lld: %s", reason, position, text);
    free(text);
    json_decref(report);
}

static void edit_data(int i, char *line, size_t cap) {
    (void)cap;
    char *p = strstr(line, "\"n\":");
    if (i == 4 && p)
        p[4] = '9';
}

static void drop_line(int i, char *line, size_t cap) {
    (void)cap;
    if (i == 6)
        line[0] = '\0';
}

static void swap_content(int i, char *line, size_t cap) {
    (void)cap;
    /* give position 3 the content of position 5 (their "at" seconds and "n" differ) */
    if (i == 2) {
        char *at = strstr(line, ":00:02.");
        char *n = strstr(line, "\"n\":2");
        at[5] = '4';
        n[4] = '4';
    }
}

START_TEST(offline_verifier_accepts_an_intact_export) {
    struct synth s;
    synth_init(&s);
    json_t *r = verify_file(&s, write_export(&s, false, true, NULL));
    ck_assert_msg(json_is_true(json_object_get(r, "ok")), "%s",
                  json_string_value(json_object_get(json_object_get(r, "first_bad"), "detail")));
    ck_assert_int_eq(json_integer_value(json_object_get(r, "sealed_size")), LOG_N);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "events")), LOG_N);
    json_decref(r);
}
END_TEST

START_TEST(offline_verifier_accepts_a_redacted_export) {
    struct synth s;
    synth_init(&s);
    json_t *r = verify_file(&s, write_export(&s, true, true, NULL));
    ck_assert(json_is_true(json_object_get(r, "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(r, "redacted")), LOG_N / 2);
    json_decref(r);
}
END_TEST

START_TEST(offline_verifier_names_edits_gaps_and_swaps) {
    struct synth s;
    synth_init(&s);
    assert_report_bad(verify_file(&s, write_export(&s, false, true, edit_data)), 5, "edited");
    assert_report_bad(verify_file(&s, write_export(&s, false, true, drop_line)), 7, "missing");
    assert_report_bad(verify_file(&s, write_export(&s, false, true, swap_content)), 3, "reordered");
}
END_TEST

START_TEST(offline_verifier_refuses_a_cut_off_export) {
    struct synth s;
    synth_init(&s);
    assert_report_bad(verify_file(&s, write_export(&s, false, false, NULL)), LOG_N + 1,
                      "incomplete");
}
END_TEST

START_TEST(offline_verifier_refuses_garbage_lines) {
    struct synth s;
    synth_init(&s);
    const char *path = write_export(&s, false, true, NULL);
    FILE *f = fopen(path, "a");
    fprintf(f, "not json\n");
    fclose(f);
    json_t *r = verify_file(&s, path);
    ck_assert(json_is_false(json_object_get(r, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "first_bad"), "reason")),
                     "malformed");
    json_decref(r);
}
END_TEST

static const char *write_file(const char *name, const char *text) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(keys_load_reads_the_keys_endpoint_and_plain_paserks) {
    struct synth s;
    synth_init(&s);
    char paserk[PASERK_K4_PUBLIC_LEN], doc[512];
    paserk_k4_public(s.key.pk, paserk);
    struct keys_public *keys;
    int n;
    char *error = NULL;
    snprintf(doc, sizeof doc,
             "{\"items\":[{\"kid\":\"%s\",\"paserk\":\"%s\",\"status\":\"current\"}]}", s.key.kid,
             paserk);
    ck_assert_int_eq(keys_public_load(write_file("keys.json", doc), &keys, &n, &error), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(keys[0].kid, s.key.kid);
    ck_assert_mem_eq(keys[0].pk, s.key.pk, 32);
    free(keys);
    snprintf(doc, sizeof doc, "\n%s\n\n", paserk);
    ck_assert_int_eq(keys_public_load(write_file("keys.txt", doc), &keys, &n, &error), 0);
    ck_assert_int_eq(n, 1);
    free(keys);
    snprintf(doc, sizeof doc, "[\"%s\"]", paserk);
    ck_assert_int_eq(keys_public_load(write_file("keys.arr", doc), &keys, &n, &error), 0);
    free(keys);
}
END_TEST

START_TEST(keys_load_refuses_a_kid_that_is_not_its_key) {
    struct synth s, other;
    synth_init(&s);
    synth_init(&other);
    char paserk[PASERK_K4_PUBLIC_LEN], doc[512];
    paserk_k4_public(s.key.pk, paserk);
    snprintf(doc, sizeof doc, "{\"items\":[{\"kid\":\"%s\",\"paserk\":\"%s\"}]}", other.key.kid,
             paserk);
    struct keys_public *keys;
    int n;
    char *error = NULL;
    ck_assert_int_eq(keys_public_load(write_file("bad.json", doc), &keys, &n, &error), -1);
    ck_assert_ptr_nonnull(strstr(error, "is not the id of its key"));
    free(error);
    error = NULL;
    ck_assert_int_eq(
        keys_public_load(write_file("empty.json", "{\"items\":[]}"), &keys, &n, &error), -1);
    free(error);
}
END_TEST

/* ==== buffer and periodic runner ========================================================== */

START_TEST(buffer_grows_and_stays_terminated) {
    struct buf b = {0};
    buf_reserve(&b, 0);
    ck_assert_str_eq(b.p, "");
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%03d,", i);
    ck_assert_uint_eq(b.len, 4000);
    ck_assert_uint_eq(strlen(b.p), 4000);
    ck_assert(strncmp(b.p + 3996, "999,", 4) == 0);
    buf_clear(&b);
    buf_puts(&b, "ab");
    buf_putc(&b, 'c');
    buf_put(&b, "de", 1);
    ck_assert_str_eq(b.p, "abcd");
    ck_assert(!b.oom);
    buf_free(&b);
    ck_assert_ptr_null(b.p);
}
END_TEST

START_TEST(a_file_is_read_whole_whatever_its_size) {
    char *big = malloc(100001);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    big[100000] = '\0';
    size_t len = 1;
    char *text = util_read_file(write_file("big.txt", big), &len);
    ck_assert_uint_eq(len, 100000);
    ck_assert_str_eq(text, big);
    free(text);
    free(big);
    text = util_read_file(write_file("empty.txt", ""), &len);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(text, "");
    free(text);
    ck_assert_ptr_null(util_read_file("/nonexistent/suanli", &len));
}
END_TEST

struct cron_counts {
    int once, often, at_once;
};

static enum cron_next job_once(void *ctx) {
    ((struct cron_counts *)ctx)->once++;
    return CRON_DONE;
}

static enum cron_next job_often(void *ctx) {
    ((struct cron_counts *)ctx)->often++;
    return CRON_LATER;
}

/* Asks to run again at once three times, then waits for a period far beyond the test. */
static enum cron_next job_at_once(void *ctx) {
    return ++((struct cron_counts *)ctx)->at_once < 4 ? CRON_NOW : CRON_LATER;
}

START_TEST(runner_runs_each_job_at_its_own_period_and_stops_at_once) {
    struct cron_counts k = {0};
    ck_assert_int_eq(cron_add("once", 0, 10, job_once, &k), 0);
    ck_assert_int_eq(cron_add("often", 0, 20, job_often, &k), 0);
    ck_assert_int_eq(cron_add("at once", 50, 3600000, job_at_once, &k), 0);
    ck_assert_int_eq(cron_start(), 0);
    ck_assert_int_eq(cron_add("late", 0, 10, job_once, &k), -1); /* only before the start */
    usleep(400000);
    struct buf m = {0}; /* what /metrics shows of the runner */
    cron_render_metrics(&m);
    ck_assert_msg(strstr(m.p, "suanli_cron_runs_total{job=\"once\"} 1\n") &&
                      strstr(m.p, "suanli_cron_runs_total{job=\"at once\"} 4\n"),
                  "%s", m.p);
    buf_free(&m);
    int64_t t0 = util_now_ms();
    cron_stop();
    ck_assert_int_lt(util_now_ms() - t0, 1000); /* the wait is interrupted, not slept out */
    ck_assert_int_eq(k.once, 1);
    ck_assert_int_ge(k.often, 5);
    ck_assert_int_le(k.often, 21);
    ck_assert_int_eq(k.at_once, 4);
    cron_stop(); /* a second stop is harmless */
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("audit_unit");
    th_case(s, canonical_sorts_members_and_drops_whitespace, 0, NULL, NULL);
    th_case(s, canonical_keeps_number_lexemes, 0, NULL, NULL);
    th_case(s, canonical_escapes_only_what_json_requires, 0, NULL, NULL);
    th_case(s, canonical_orders_names_by_their_bytes, 0, NULL, NULL);
    th_case(s, canonical_refuses_what_is_not_one_clean_object, 0, NULL, NULL);
    th_case(s, canonical_leaves_out_skipped_members, 0, NULL, NULL);
    th_case(s, chain_step_hashes_previous_seq_and_leaf, 0, NULL, NULL);
    th_case(s, checkpoint_message_is_sorted_compact_json, 0, NULL, NULL);
    th_case(s, verifier_accepts_an_intact_log, 0, NULL, NULL);
    th_case(s, verifier_names_an_edited_event, 0, NULL, NULL);
    th_case(s, verifier_names_a_missing_event_and_a_missing_position, 0, NULL, NULL);
    th_case(s, verifier_names_an_inserted_event, 0, NULL, NULL);
    th_case(s, verifier_names_reordered_events, 0, NULL, NULL);
    th_case(s, verifier_names_a_truncated_tail, 0, NULL, NULL);
    th_case(s, verifier_names_a_rewritten_chain, 0, NULL, NULL);
    th_case(s, verifier_refuses_bad_and_unknown_signatures, 0, NULL, NULL);
    th_case(s, verifier_counts_unchained_tail_events, 0, NULL, NULL);
    th_case(s, offline_verifier_accepts_an_intact_export, 0, tmp_setup, tmp_teardown);
    th_case(s, offline_verifier_accepts_a_redacted_export, 0, tmp_setup, tmp_teardown);
    th_case(s, offline_verifier_names_edits_gaps_and_swaps, 0, tmp_setup, tmp_teardown);
    th_case(s, offline_verifier_refuses_a_cut_off_export, 0, tmp_setup, tmp_teardown);
    th_case(s, offline_verifier_refuses_garbage_lines, 0, tmp_setup, tmp_teardown);
    th_case(s, keys_load_reads_the_keys_endpoint_and_plain_paserks, 0, tmp_setup, tmp_teardown);
    th_case(s, keys_load_refuses_a_kid_that_is_not_its_key, 0, tmp_setup, tmp_teardown);
    th_case(s, buffer_grows_and_stays_terminated, 0, NULL, NULL);
    th_case(s, a_file_is_read_whole_whatever_its_size, 0, tmp_setup, tmp_teardown);
    th_case(s, runner_runs_each_job_at_its_own_period_and_stops_at_once, 0, NULL, NULL);
    return s;
}

int main(void) {
    if (sodium_init() < 0)
        return 1;
    return th_run(make_suite());
}
