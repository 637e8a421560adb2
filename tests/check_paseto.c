/* check_paseto.c — PASETO v4.public and PASERK k4: official test vectors and behaviour.
 *
 * The vectors live in $SUANLI_TEST_DATA (default tests/data): paseto-v4-public.json and
 * paserk-k4.json, copied from github.com/paseto-standard/test-vectors. */
#include "harness.h"
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paseto.h"

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static json_t *load_data(const char *file) {
    const char *dir = getenv("SUANLI_TEST_DATA");
    if (dir == NULL || dir[0] == '\0') {
        dir = "tests/data";
    }
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    ck_assert_msg(n > 0 && (size_t)n < sizeof path, "test data path too long");

    json_error_t error;
    json_t *root = json_load_file(path, 0, &error);
    ck_assert_msg(root != NULL, "cannot load %s: %s (line %d)", path, error.text, error.line);
    return root;
}

/* The "tests" array of a vector file, or of one section of it (section may be NULL). */
static json_t *vector_list(json_t *root, const char *section) {
    json_t *container = section != NULL ? json_object_get(root, section) : root;
    ck_assert_msg(json_is_object(container), "no section %s", section ? section : "(root)");
    json_t *tests = json_object_get(container, "tests");
    ck_assert_msg(json_is_array(tests) && json_array_size(tests) > 0, "no tests in %s",
                  section ? section : "(root)");
    return tests;
}

static const char *vector_name(json_t *v) {
    const char *name = json_string_value(json_object_get(v, "name"));
    return name != NULL ? name : "(unnamed)";
}

/* Upstream spells the flag "expect-fail" (and once "expectfail"); absent means false. */
static int vector_expects_failure(json_t *v) {
    return json_is_true(json_object_get(v, "expect-fail")) ||
           json_is_true(json_object_get(v, "expectfail"));
}

/* A string field, "" when absent or null. */
static const char *vector_string(json_t *v, const char *field) {
    const char *s = json_string_value(json_object_get(v, field));
    return s != NULL ? s : "";
}

/* Decodes the hex field into out (at most max bytes) and returns the decoded length, or
 * (size_t)-1 when the field is missing, not hex, or longer than max. */
static size_t vector_hex(json_t *v, const char *field, unsigned char *out, size_t max) {
    const char *hex = json_string_value(json_object_get(v, field));
    if (hex == NULL) {
        return (size_t)-1;
    }
    size_t hex_len = strlen(hex);
    const char *end = NULL;
    size_t len = 0;
    if (sodium_hex2bin(out, max, hex, hex_len, NULL, &len, &end) != 0 || end != hex + hex_len) {
        return (size_t)-1;
    }
    return len;
}

static void vector_key(json_t *v, const char *field, unsigned char *out, size_t len) {
    ck_assert_msg(vector_hex(v, field, out, len) == len, "%s: %s is not %zu bytes of hex",
                  vector_name(v), field, len);
}

/* A fixed key pair for the behaviour tests, so failures reproduce exactly. */
static void test_keypair(unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                         unsigned char sk[crypto_sign_SECRETKEYBYTES], unsigned char seed_byte) {
    unsigned char seed[crypto_sign_SEEDBYTES];
    memset(seed, seed_byte, sizeof seed);
    ck_assert_int_eq(crypto_sign_seed_keypair(pk, sk, seed), 0);
}

static char *sign_or_fail(const unsigned char *sk, const char *payload, const char *footer,
                          const char *implicit) {
    char *token = NULL;
    ck_assert_int_eq(paseto_v4_sign(sk, payload, strlen(payload), footer, implicit, &token),
                     PASETO_OK);
    ck_assert_ptr_nonnull(token);
    return token;
}

/* Verifies and checks that a refusal allocates nothing and clears the out pointers. */
static enum paseto_status verify_status(const unsigned char *pk, const char *token,
                                        const char *implicit) {
    char *payload = (char *)"sentinel";
    char *footer = (char *)"sentinel";
    size_t payload_len = 12345;
    enum paseto_status status =
        paseto_v4_verify(pk, token, implicit, &payload, &payload_len, &footer);
    if (status == PASETO_OK) {
        free(payload);
        free(footer);
    } else {
        ck_assert_ptr_null(payload);
        ck_assert_ptr_null(footer);
        ck_assert_uint_eq(payload_len, 0);
    }
    return status;
}

/* Copy of token with the character at index i replaced by c. */
static char *with_char(const char *token, size_t i, char c) {
    char *copy = strdup(token);
    ck_assert_ptr_nonnull(copy);
    ck_assert_uint_lt(i, strlen(copy));
    copy[i] = c;
    return copy;
}

/* token || suffix */
static char *with_suffix(const char *token, const char *suffix) {
    size_t a = strlen(token), b = strlen(suffix);
    char *s = malloc(a + b + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, token, a);
    memcpy(s + a, suffix, b + 1);
    return s;
}

static char *b64url(const void *bin, size_t len) {
    size_t size = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(size);
    ck_assert_ptr_nonnull(s);
    sodium_bin2base64(s, size, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Official PASETO v4 vectors
 * ------------------------------------------------------------------------------------------- */

START_TEST(official_vectors_sign_to_the_official_token) {
    json_t *root = load_data("paseto-v4-public.json");
    json_t *tests = vector_list(root, NULL);
    size_t i, signed_count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        if (vector_expects_failure(v)) {
            continue;
        }
        unsigned char sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
        unsigned char seed[crypto_sign_SEEDBYTES];
        unsigned char derived_pk[crypto_sign_PUBLICKEYBYTES],
            derived_sk[crypto_sign_SECRETKEYBYTES];
        vector_key(v, "secret-key", sk, sizeof sk);
        vector_key(v, "public-key", pk, sizeof pk);
        vector_key(v, "secret-key-seed", seed, sizeof seed);
        ck_assert_int_eq(crypto_sign_seed_keypair(derived_pk, derived_sk, seed), 0);
        ck_assert_msg(memcmp(derived_sk, sk, sizeof sk) == 0, "%s: seed/secret-key disagree",
                      vector_name(v));
        ck_assert_msg(memcmp(derived_pk, pk, sizeof pk) == 0, "%s: seed/public-key disagree",
                      vector_name(v));

        json_t *payload = json_object_get(v, "payload");
        ck_assert_msg(json_is_string(payload), "%s: payload is not a string", vector_name(v));
        char *token = NULL;
        ck_assert_int_eq(paseto_v4_sign(sk, json_string_value(payload), json_string_length(payload),
                                        vector_string(v, "footer"),
                                        vector_string(v, "implicit-assertion"), &token),
                         PASETO_OK);
        ck_assert_msg(strcmp(token, vector_string(v, "token")) == 0,
                      "%s: signed to\n  %s\nexpected\n  %s", vector_name(v), token,
                      vector_string(v, "token"));
        free(token);
        signed_count++;
    }
    ck_assert_uint_gt(signed_count, 0);
    fprintf(stderr, "official v4.public vectors signed to the official token: %zu\n", signed_count);
    json_decref(root);
}
END_TEST

START_TEST(official_vectors_verify_to_the_official_payload) {
    json_t *root = load_data("paseto-v4-public.json");
    json_t *tests = vector_list(root, NULL);
    size_t i, verified_count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        if (vector_expects_failure(v)) {
            continue;
        }
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        vector_key(v, "public-key", pk, sizeof pk);
        json_t *expected = json_object_get(v, "payload");
        const char *token = vector_string(v, "token");
        const char *implicit = vector_string(v, "implicit-assertion");
        const char *expected_footer = vector_string(v, "footer");

        char *payload = NULL, *footer = NULL;
        size_t payload_len = 0;
        ck_assert_msg(paseto_v4_verify(pk, token, implicit, &payload, &payload_len, &footer) ==
                          PASETO_OK,
                      "%s: does not verify", vector_name(v));
        ck_assert_uint_eq(payload_len, json_string_length(expected));
        ck_assert_msg(memcmp(payload, json_string_value(expected), payload_len) == 0,
                      "%s: payload differs", vector_name(v));
        ck_assert_int_eq(payload[payload_len], '\0');
        ck_assert_str_eq(footer, expected_footer);
        free(payload);
        free(footer);

        /* The same footer through the expected-footer check and the unverified reader. */
        ck_assert_int_eq(paseto_v4_verify_footer(pk, token, expected_footer, implicit, &payload,
                                                 &payload_len, NULL),
                         PASETO_OK);
        free(payload);
        ck_assert_int_eq(paseto_v4_footer(token, &footer), PASETO_OK);
        ck_assert_str_eq(footer, expected_footer);
        free(footer);
        verified_count++;
    }
    ck_assert_uint_gt(verified_count, 0);
    fprintf(stderr, "official v4.public vectors verified to the official payload: %zu\n",
            verified_count);
    json_decref(root);
}
END_TEST

/* Every expect-fail vector must be refused, whichever 32-byte key it names, and also under the
 * key that signed the success vectors (the one an attacker would hope to confuse). */
START_TEST(official_expect_fail_vectors_are_refused) {
    json_t *root = load_data("paseto-v4-public.json");
    json_t *tests = vector_list(root, NULL);
    unsigned char signer_pk[crypto_sign_PUBLICKEYBYTES];
    int have_signer = 0;
    size_t i, refused_count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        if (!vector_expects_failure(v) && !have_signer) {
            vector_key(v, "public-key", signer_pk, sizeof signer_pk);
            have_signer = 1;
        }
    }
    ck_assert(have_signer);

    json_array_foreach(tests, i, v) {
        if (!vector_expects_failure(v)) {
            continue;
        }
        const char *token = vector_string(v, "token");
        const char *implicit = vector_string(v, "implicit-assertion");
        const char *fields[] = {"public-key", "key"};
        unsigned char pk[64];
        int tried = 0;

        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            if (vector_hex(v, fields[f], pk, sizeof pk) == crypto_sign_PUBLICKEYBYTES) {
                ck_assert_msg(verify_status(pk, token, implicit) != PASETO_OK,
                              "%s: accepted under %s", vector_name(v), fields[f]);
                tried++;
            }
        }
        ck_assert_msg(verify_status(signer_pk, token, implicit) != PASETO_OK,
                      "%s: accepted under the signing key", vector_name(v));
        ck_assert_int_gt(tried, 0);
        refused_count++;
    }
    ck_assert_uint_gt(refused_count, 0);
    fprintf(stderr, "official expect-fail vectors refused: %zu\n", refused_count);
    json_decref(root);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Official PASERK vectors
 * ------------------------------------------------------------------------------------------- */

START_TEST(official_paserk_k4_public_vectors_match) {
    json_t *root = load_data("paserk-k4.json");
    json_t *tests = vector_list(root, "k4.public");
    size_t i, count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        unsigned char key[64];
        size_t key_len = vector_hex(v, "key", key, sizeof key);
        const char *paserk = json_string_value(json_object_get(v, "paserk"));

        if (vector_expects_failure(v)) {
            /* A key that is not 32 bytes has no k4.public form; its would-be encoding must not
             * decode either. */
            ck_assert_uint_ne(key_len, 32);
            if (key_len != (size_t)-1) {
                char *b64 = b64url(key, key_len);
                char *forged = with_suffix("k4.public.", b64);
                unsigned char pk[32];
                ck_assert_int_eq(paserk_k4_public_decode(forged, pk), -1);
                free(forged);
                free(b64);
            }
            if (paserk != NULL) {
                unsigned char pk[32];
                ck_assert_int_eq(paserk_k4_public_decode(paserk, pk), -1);
            }
            count++;
            continue;
        }

        ck_assert_uint_eq(key_len, 32);
        ck_assert_ptr_nonnull(paserk);
        char out[PASERK_K4_PUBLIC_LEN];
        paserk_k4_public(key, out);
        ck_assert_str_eq(out, paserk);
        unsigned char decoded[32];
        ck_assert_int_eq(paserk_k4_public_decode(paserk, decoded), 0);
        ck_assert_mem_eq(decoded, key, 32);
        count++;
    }
    fprintf(stderr, "official k4.public vectors checked: %zu\n", count);
    json_decref(root);
}
END_TEST

START_TEST(official_paserk_k4_pid_vectors_match) {
    json_t *root = load_data("paserk-k4.json");
    json_t *tests = vector_list(root, "k4.pid");
    size_t i, ok_count = 0, fail_count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        unsigned char key[64];
        size_t key_len = vector_hex(v, "key", key, sizeof key);

        if (vector_expects_failure(v)) {
            /* "Small public keys must fail to serialize" and "MUST NOT accept a PASERK of the
             * wrong version": neither key is 32 bytes, so paserk_k4_pid cannot be handed one,
             * and a k4.public made of its bytes is refused. */
            ck_assert_msg(key_len != 32, "%s: key is 32 bytes", vector_name(v));
            ck_assert_ptr_null(json_string_value(json_object_get(v, "paserk")));
            if (key_len != (size_t)-1) {
                char *b64 = b64url(key, key_len);
                char *forged = with_suffix("k4.public.", b64);
                unsigned char pk[32];
                ck_assert_int_eq(paserk_k4_public_decode(forged, pk), -1);
                free(forged);
                free(b64);
            }
            fail_count++;
            continue;
        }

        ck_assert_uint_eq(key_len, 32);
        char out[PASERK_K4_PID_LEN];
        paserk_k4_pid(key, out);
        ck_assert_str_eq(out, vector_string(v, "paserk"));
        ok_count++;
    }
    ck_assert_uint_gt(ok_count, 0);
    fprintf(stderr, "official k4.pid vectors matched: %zu, expected-fail refused: %zu\n", ok_count,
            fail_count);
    json_decref(root);
}
END_TEST

START_TEST(official_paserk_k4_secret_vectors_match) {
    json_t *root = load_data("paserk-k4.json");
    json_t *tests = vector_list(root, "k4.secret");
    size_t i, count = 0;
    json_t *v;

    json_array_foreach(tests, i, v) {
        ck_assert(!vector_expects_failure(v));
        unsigned char key[64], seed[32], pk[32], derived_pk[32], derived_sk[64], decoded[64];
        vector_key(v, "key", key, sizeof key);
        vector_key(v, "secret-key-seed", seed, sizeof seed);
        vector_key(v, "public-key", pk, sizeof pk);
        ck_assert_int_eq(crypto_sign_seed_keypair(derived_pk, derived_sk, seed), 0);
        ck_assert_mem_eq(derived_sk, key, 64);
        ck_assert_mem_eq(derived_pk, pk, 32);

        char out[PASERK_K4_SECRET_LEN];
        paserk_k4_secret(key, out);
        ck_assert_str_eq(out, vector_string(v, "paserk"));
        ck_assert_int_eq(paserk_k4_secret_decode(out, decoded), 0);
        ck_assert_mem_eq(decoded, key, 64);
        count++;
    }
    fprintf(stderr, "official k4.secret vectors matched: %zu\n", count);
    json_decref(root);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * Behaviour
 * ------------------------------------------------------------------------------------------- */

START_TEST(round_trip_with_footer_and_implicit) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x11);
    const char *claims = "{\"sub\":\"voucher:42\",\"exp\":\"2030-01-01T00:00:00Z\"}";
    char *token = sign_or_fail(sk, claims, "{\"kid\":\"k4.pid.x\"}", "tenant=7");

    char *payload = NULL, *footer = NULL;
    size_t payload_len = 0;
    ck_assert_int_eq(paseto_v4_verify(pk, token, "tenant=7", &payload, &payload_len, &footer),
                     PASETO_OK);
    ck_assert_uint_eq(payload_len, strlen(claims));
    ck_assert_str_eq(payload, claims);
    ck_assert_str_eq(footer, "{\"kid\":\"k4.pid.x\"}");
    free(payload);
    free(footer);

    /* footer_out is optional. */
    ck_assert_int_eq(paseto_v4_verify(pk, token, "tenant=7", &payload, &payload_len, NULL),
                     PASETO_OK);
    free(payload);
    free(token);
}
END_TEST

START_TEST(round_trip_without_footer_has_no_separator) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x12);
    char *token = sign_or_fail(sk, "hello", NULL, NULL);
    ck_assert_ptr_null(strchr(token + strlen("v4.public."), '.'));
    char *same = sign_or_fail(sk, "hello", "", "");
    ck_assert_str_eq(token, same);

    char *payload = NULL, *footer = NULL;
    size_t payload_len = 0;
    ck_assert_int_eq(paseto_v4_verify(pk, token, NULL, &payload, &payload_len, &footer), PASETO_OK);
    ck_assert_str_eq(payload, "hello");
    ck_assert_str_eq(footer, "");
    free(payload);
    free(footer);
    free(same);
    free(token);
}
END_TEST

START_TEST(empty_and_binary_payloads_round_trip) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x13);
    char *token = NULL, *payload = NULL;
    size_t payload_len = 99;

    ck_assert_int_eq(paseto_v4_sign(sk, NULL, 0, NULL, NULL, &token), PASETO_OK);
    ck_assert_int_eq(paseto_v4_verify(pk, token, NULL, &payload, &payload_len, NULL), PASETO_OK);
    ck_assert_uint_eq(payload_len, 0);
    ck_assert_str_eq(payload, "");
    free(payload);
    free(token);

    const unsigned char binary[] = {0x00, 0xff, 0x00, 0x7f, 0x80};
    ck_assert_int_eq(paseto_v4_sign(sk, binary, sizeof binary, NULL, NULL, &token), PASETO_OK);
    ck_assert_int_eq(paseto_v4_verify(pk, token, NULL, &payload, &payload_len, NULL), PASETO_OK);
    ck_assert_uint_eq(payload_len, sizeof binary);
    ck_assert_mem_eq(payload, binary, sizeof binary);
    free(payload);
    free(token);
}
END_TEST

START_TEST(tampered_payload_fails_signature) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x21);
    char *token = sign_or_fail(sk, "{\"amount\":100}", "{\"kid\":\"a\"}", NULL);

    /* Changing a character early in the body changes a payload byte but keeps the base64
     * canonical, so only the signature can catch it. */
    size_t i = strlen("v4.public.") + 2;
    char *tampered = with_char(token, i, token[i] == 'A' ? 'B' : 'A');
    ck_assert_int_eq(verify_status(pk, tampered, NULL), PASETO_BAD_SIGNATURE);
    free(tampered);

    /* So can a changed signature byte. */
    const char *dot = strchr(token + strlen("v4.public."), '.');
    i = (size_t)(dot - token) - 10;
    tampered = with_char(token, i, token[i] == 'A' ? 'B' : 'A');
    ck_assert_int_eq(verify_status(pk, tampered, NULL), PASETO_BAD_SIGNATURE);
    free(tampered);
    free(token);
}
END_TEST

START_TEST(tampered_footer_fails_signature) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x22);
    char *token = sign_or_fail(sk, "{}", "{\"kid\":\"a\"}", NULL);

    /* Same body, the footer of another key id. */
    const char *dot = strchr(token + strlen("v4.public."), '.');
    size_t prefix_len = (size_t)(dot - token) + 1;
    char *other = b64url("{\"kid\":\"b\"}", strlen("{\"kid\":\"b\"}"));
    char *forged = malloc(prefix_len + strlen(other) + 1);
    ck_assert_ptr_nonnull(forged);
    memcpy(forged, token, prefix_len);
    strcpy(forged + prefix_len, other);
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_BAD_SIGNATURE);

    /* Dropping the footer altogether is no better. */
    forged[prefix_len - 1] = '\0';
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_BAD_SIGNATURE);
    free(forged);
    free(other);
    free(token);
}
END_TEST

START_TEST(wrong_implicit_assertion_fails_signature) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x23);
    char *token = sign_or_fail(sk, "{}", NULL, "tenant=7");
    ck_assert_int_eq(verify_status(pk, token, "tenant=8"), PASETO_BAD_SIGNATURE);
    ck_assert_int_eq(verify_status(pk, token, NULL), PASETO_BAD_SIGNATURE);
    ck_assert_int_eq(verify_status(pk, token, "tenant=7"), PASETO_OK);
    free(token);
}
END_TEST

START_TEST(wrong_key_is_refused) {
    unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
    test_keypair(pk, sk, 0x31);
    test_keypair(other_pk, other_sk, 0x32);
    char *token = sign_or_fail(sk, "{\"sub\":\"x\"}", NULL, NULL);
    ck_assert_int_eq(verify_status(other_pk, token, NULL), PASETO_BAD_SIGNATURE);

    /* The all-zero point is of small order; libsodium refuses it outright. */
    unsigned char zero_pk[32] = {0};
    ck_assert_int_eq(verify_status(zero_pk, token, NULL), PASETO_BAD_SIGNATURE);
    free(token);
}
END_TEST

START_TEST(footer_is_readable_without_verification) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x41);
    char pid[PASERK_K4_PID_LEN];
    paserk_k4_pid(pk, pid);
    char footer_json[128];
    snprintf(footer_json, sizeof footer_json, "{\"kid\":\"%s\"}", pid);
    char *token = sign_or_fail(sk, "{}", footer_json, NULL);

    char *footer = NULL;
    ck_assert_int_eq(paseto_v4_footer(token, &footer), PASETO_OK);
    ck_assert_str_eq(footer, footer_json);
    free(footer);

    /* Even a token whose signature is broken exposes its footer (that is the point: the kid
     * picks the key, and the verification that follows does the refusing). */
    size_t i = strlen("v4.public.") + 2;
    char *tampered = with_char(token, i, token[i] == 'A' ? 'B' : 'A');
    ck_assert_int_eq(paseto_v4_footer(tampered, &footer), PASETO_OK);
    ck_assert_str_eq(footer, footer_json);
    free(footer);
    free(tampered);
    free(token);

    token = sign_or_fail(sk, "{}", NULL, NULL);
    ck_assert_int_eq(paseto_v4_footer(token, &footer), PASETO_OK);
    ck_assert_str_eq(footer, "");
    free(footer);
    free(token);

    ck_assert_int_eq(paseto_v4_footer("v4.local.abc.def", &footer), PASETO_MALFORMED);
    ck_assert_ptr_null(footer);
}
END_TEST

START_TEST(footer_mismatch_is_reported_before_the_signature) {
    unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
    test_keypair(pk, sk, 0x42);
    test_keypair(other_pk, other_sk, 0x43);
    char *token = sign_or_fail(sk, "{}", "{\"kid\":\"a\"}", NULL);
    char *payload = NULL, *footer = NULL;
    size_t payload_len = 0;

    ck_assert_int_eq(paseto_v4_verify_footer(pk, token, "{\"kid\":\"b\"}", NULL, &payload,
                                             &payload_len, &footer),
                     PASETO_FOOTER_MISMATCH);
    ck_assert_ptr_null(payload);
    ck_assert_ptr_null(footer);
    ck_assert_int_eq(paseto_v4_verify_footer(pk, token, "", NULL, &payload, &payload_len, &footer),
                     PASETO_FOOTER_MISMATCH);
    ck_assert_int_eq(paseto_v4_verify_footer(other_pk, token, "{\"kid\":\"b\"}", NULL, &payload,
                                             &payload_len, &footer),
                     PASETO_FOOTER_MISMATCH);
    ck_assert_int_eq(paseto_v4_verify_footer(pk, token, "{\"kid\":\"a\"}", NULL, &payload,
                                             &payload_len, &footer),
                     PASETO_OK);
    free(payload);
    free(footer);
    free(token);

    token = sign_or_fail(sk, "{}", NULL, NULL);
    ck_assert_int_eq(paseto_v4_verify_footer(pk, token, "", NULL, &payload, &payload_len, &footer),
                     PASETO_OK);
    free(payload);
    free(footer);
    ck_assert_int_eq(paseto_v4_verify_footer(pk, token, "x", NULL, &payload, &payload_len, &footer),
                     PASETO_FOOTER_MISMATCH);
    free(token);
}
END_TEST

START_TEST(truncated_token_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x51);
    char *token = sign_or_fail(sk, "{\"sub\":\"x\"}", NULL, NULL);
    size_t len = strlen(token);
    size_t min_len = strlen("v4.public.") + 86; /* base64url of a bare 64-byte signature */

    /* No prefix of a valid token verifies; the ones too short to hold a signature are refused
     * as malformed before any cryptography runs. */
    for (size_t cut = 0; cut < len; cut++) {
        char *prefix = strndup(token, cut);
        ck_assert_ptr_nonnull(prefix);
        enum paseto_status status = verify_status(pk, prefix, NULL);
        ck_assert_msg(status != PASETO_OK, "prefix of length %zu verified", cut);
        if (cut < min_len) {
            ck_assert_msg(status == PASETO_MALFORMED, "prefix of length %zu: status %d", cut,
                          (int)status);
        }
        free(prefix);
    }
    ck_assert_int_eq(verify_status(pk, "", NULL), PASETO_MALFORMED);
    ck_assert_int_eq(verify_status(pk, NULL, NULL), PASETO_MALFORMED);
    free(token);
}
END_TEST

START_TEST(non_v4_header_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x52);
    char *token = sign_or_fail(sk, "{}", NULL, NULL);
    const char *body = token + strlen("v4.public.");
    const char *headers[] = {"v4.local.",  "v3.public.", "v2.public.", "V4.public.",
                             "v4.PUBLIC.", "v4.public",  "v4public.",  ".v4.public."};

    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++) {
        char *forged = with_suffix(headers[h], body);
        ck_assert_msg(verify_status(pk, forged, NULL) == PASETO_MALFORMED, "header %s accepted",
                      headers[h]);
        char *footer = NULL;
        ck_assert_int_eq(paseto_v4_footer(forged, &footer), PASETO_MALFORMED);
        free(forged);
    }
    free(token);
}
END_TEST

START_TEST(non_canonical_base64_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x53);
    /* 2 payload bytes + 64 signature bytes = 66 bytes = 88 characters, no slack bits; 3 payload
     * bytes make 67 bytes = 90 characters whose last one carries 4 slack bits. */
    char *token = sign_or_fail(sk, "abc", NULL, NULL);
    size_t len = strlen(token);
    ck_assert_uint_eq(len, strlen("v4.public.") + 90);

    /* Set a slack bit: same bytes, different spelling. */
    char last = token[len - 1];
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t index = (size_t)(strchr(alphabet, last) - alphabet);
    ck_assert_uint_eq(index & 0x0f, 0);
    char *forged = with_char(token, len - 1, alphabet[index | 1]);
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
    free(forged);

    /* Padding, the standard alphabet, whitespace and stray characters are not base64url. */
    const char *suffixes[] = {"=", "==", " ", "\n", "AAA"};
    for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
        forged = with_suffix(token, suffixes[s]);
        ck_assert_msg(verify_status(pk, forged, NULL) == PASETO_MALFORMED, "suffix %zu accepted",
                      s);
        free(forged);
    }
    /* One more character is a canonical spelling of other bytes: a signature matter. */
    forged = with_suffix(token, "A");
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_BAD_SIGNATURE);
    free(forged);

    const char bad[] = {'+', '/', '=', '*', ' '};
    for (size_t b = 0; b < sizeof bad; b++) {
        forged = with_char(token, strlen("v4.public.") + 5, bad[b]);
        ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
        free(forged);
    }
    free(token);

    /* The same strictness applies to the footer. "a" encodes to "YQ"; "YR" has a slack bit. */
    token = sign_or_fail(sk, "abc", "a", NULL);
    len = strlen(token);
    ck_assert_str_eq(token + len - 3, ".YQ");
    forged = with_char(token, len - 1, 'R');
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
    char *footer = NULL;
    ck_assert_int_eq(paseto_v4_footer(forged, &footer), PASETO_MALFORMED);
    free(forged);
    free(token);
}
END_TEST

START_TEST(empty_footer_separator_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x54);
    char *token = sign_or_fail(sk, "{}", NULL, NULL);
    char *forged = with_suffix(token, ".");
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
    free(forged);

    /* A third dot-separated part is not a footer either. */
    char *with_footer = sign_or_fail(sk, "{}", "f", NULL);
    forged = with_suffix(with_footer, ".Zg");
    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
    free(forged);
    free(with_footer);
    free(token);
}
END_TEST

START_TEST(footer_with_nul_byte_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x55);
    char *token = sign_or_fail(sk, "{}", NULL, NULL);
    const char raw[] = {'k', 'i', 'd', '\0', 'x'};
    char *b64 = b64url(raw, sizeof raw);
    char *dotted = with_suffix(token, ".");
    char *forged = with_suffix(dotted, b64);

    ck_assert_int_eq(verify_status(pk, forged, NULL), PASETO_MALFORMED);
    char *footer = NULL;
    ck_assert_int_eq(paseto_v4_footer(forged, &footer), PASETO_MALFORMED);
    ck_assert_ptr_null(footer);
    free(forged);
    free(dotted);
    free(b64);
    free(token);
}
END_TEST

START_TEST(oversized_token_is_malformed) {
    unsigned char pk[32], sk[64];
    test_keypair(pk, sk, 0x56);

    /* Just under the cap signs and verifies: 48000 + 64 bytes = 64086 characters + header. */
    size_t big_len = 48000;
    char *big = malloc(big_len + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', big_len);
    big[big_len] = '\0';
    char *token = NULL;
    ck_assert_int_eq(paseto_v4_sign(sk, big, big_len, NULL, NULL, &token), PASETO_OK);
    ck_assert_uint_le(strlen(token), PASETO_MAX_TOKEN_LEN);
    ck_assert_int_eq(verify_status(pk, token, NULL), PASETO_OK);
    free(token);

    /* Signing refuses what verifying would refuse, */
    ck_assert_int_eq(paseto_v4_sign(sk, big, 49200, NULL, NULL, &token), PASETO_MALFORMED);
    ck_assert_ptr_null(token);
    ck_assert_int_eq(paseto_v4_sign(sk, big, 30000, big, NULL, &token), PASETO_MALFORMED);
    ck_assert_ptr_null(token);
    free(big);

    /* and verifying refuses a string one character over the cap without looking further. */
    char *huge = malloc(PASETO_MAX_TOKEN_LEN + 2);
    ck_assert_ptr_nonnull(huge);
    memcpy(huge, "v4.public.", strlen("v4.public."));
    memset(huge + strlen("v4.public."), 'A', PASETO_MAX_TOKEN_LEN + 1 - strlen("v4.public."));
    huge[PASETO_MAX_TOKEN_LEN + 1] = '\0';
    ck_assert_int_eq(verify_status(pk, huge, NULL), PASETO_MALFORMED);
    char *footer = NULL;
    ck_assert_int_eq(paseto_v4_footer(huge, &footer), PASETO_MALFORMED);
    free(huge);
}
END_TEST

START_TEST(paserk_public_round_trips_and_refuses_other_strings) {
    unsigned char pk[32], sk[64], decoded[32];
    test_keypair(pk, sk, 0x61);
    char s[PASERK_K4_PUBLIC_LEN];
    paserk_k4_public(pk, s);
    ck_assert_uint_eq(strlen(s), PASERK_K4_PUBLIC_LEN - 1);
    ck_assert_int_eq(paserk_k4_public_decode(s, decoded), 0);
    ck_assert_mem_eq(decoded, pk, 32);

    const char *body = s + strlen("k4.public.");
    const char *prefixes[] = {"k3.public.", "k2.public.", "k4.secret.", "k4.local.",
                              "k4.pid.",    "K4.public.", "k4.public",  ""};
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        char *forged = with_suffix(prefixes[p], body);
        ck_assert_msg(paserk_k4_public_decode(forged, decoded) == -1, "prefix '%s' accepted",
                      prefixes[p]);
        free(forged);
    }
    char *longer = with_suffix(s, "A");
    ck_assert_int_eq(paserk_k4_public_decode(longer, decoded), -1);
    free(longer);
    char *shorter = strndup(s, strlen(s) - 1);
    ck_assert_int_eq(paserk_k4_public_decode(shorter, decoded), -1);
    free(shorter);
    ck_assert_int_eq(paserk_k4_public_decode(NULL, decoded), -1);

    /* k4.public-1 is 32 zero bytes, "...AAA"; "...AAB" sets a slack bit. */
    ck_assert_int_eq(
        paserk_k4_public_decode("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", decoded),
        -1);
}
END_TEST

START_TEST(paserk_secret_decode_checks_the_public_half) {
    unsigned char pk[32], sk[64], other_pk[32], other_sk[64], decoded[64];
    test_keypair(pk, sk, 0x62);
    test_keypair(other_pk, other_sk, 0x63);
    char s[PASERK_K4_SECRET_LEN];
    paserk_k4_secret(sk, s);
    ck_assert_uint_eq(strlen(s), PASERK_K4_SECRET_LEN - 1);
    ck_assert_int_eq(paserk_k4_secret_decode(s, decoded), 0);
    ck_assert_mem_eq(decoded, sk, 64);

    /* This key's seed glued to another key's public half. */
    unsigned char mixed[64];
    memcpy(mixed, sk, 32);
    memcpy(mixed + 32, other_pk, 32);
    paserk_k4_secret(mixed, s);
    memset(decoded, 0xaa, sizeof decoded);
    ck_assert_int_eq(paserk_k4_secret_decode(s, decoded), -1);
    unsigned char zero[64] = {0};
    ck_assert_mem_eq(decoded, zero, 64);

    char pub[PASERK_K4_PUBLIC_LEN];
    paserk_k4_public(pk, pub);
    ck_assert_int_eq(paserk_k4_secret_decode(pub, decoded), -1);
    ck_assert_int_eq(paserk_k4_secret_decode("k4.secret.", decoded), -1);
    ck_assert_int_eq(paserk_k4_secret_decode(NULL, decoded), -1);
}
END_TEST

START_TEST(pid_depends_only_on_the_public_key) {
    unsigned char pk[32], sk[64], other_pk[32], other_sk[64];
    test_keypair(pk, sk, 0x64);
    test_keypair(other_pk, other_sk, 0x65);
    char a[PASERK_K4_PID_LEN], b[PASERK_K4_PID_LEN], c[PASERK_K4_PID_LEN];
    paserk_k4_pid(pk, a);
    paserk_k4_pid(pk, b);
    paserk_k4_pid(other_pk, c);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, c);
    ck_assert_uint_eq(strlen(a), PASERK_K4_PID_LEN - 1);
    ck_assert_int_eq(strncmp(a, "k4.pid.", 7), 0);
}
END_TEST

static Suite *make_suite(void) {
    Suite *s = suite_create("paseto");
    th_case(s, official_vectors_sign_to_the_official_token, 0, NULL, NULL);
    th_case(s, official_vectors_verify_to_the_official_payload, 0, NULL, NULL);
    th_case(s, official_expect_fail_vectors_are_refused, 0, NULL, NULL);
    th_case(s, official_paserk_k4_public_vectors_match, 0, NULL, NULL);
    th_case(s, official_paserk_k4_pid_vectors_match, 0, NULL, NULL);
    th_case(s, official_paserk_k4_secret_vectors_match, 0, NULL, NULL);
    th_case(s, round_trip_with_footer_and_implicit, 0, NULL, NULL);
    th_case(s, round_trip_without_footer_has_no_separator, 0, NULL, NULL);
    th_case(s, empty_and_binary_payloads_round_trip, 0, NULL, NULL);
    th_case(s, tampered_payload_fails_signature, 0, NULL, NULL);
    th_case(s, tampered_footer_fails_signature, 0, NULL, NULL);
    th_case(s, wrong_implicit_assertion_fails_signature, 0, NULL, NULL);
    th_case(s, wrong_key_is_refused, 0, NULL, NULL);
    th_case(s, footer_is_readable_without_verification, 0, NULL, NULL);
    th_case(s, footer_mismatch_is_reported_before_the_signature, 0, NULL, NULL);
    th_case(s, truncated_token_is_malformed, 0, NULL, NULL);
    th_case(s, non_v4_header_is_malformed, 0, NULL, NULL);
    th_case(s, non_canonical_base64_is_malformed, 0, NULL, NULL);
    th_case(s, empty_footer_separator_is_malformed, 0, NULL, NULL);
    th_case(s, footer_with_nul_byte_is_malformed, 0, NULL, NULL);
    th_case(s, oversized_token_is_malformed, 0, NULL, NULL);
    th_case(s, paserk_public_round_trips_and_refuses_other_strings, 0, NULL, NULL);
    th_case(s, paserk_secret_decode_checks_the_public_half, 0, NULL, NULL);
    th_case(s, pid_depends_only_on_the_public_key, 0, NULL, NULL);
    return s;
}

int main(void) {
    if (sodium_init() < 0) {
        fprintf(stderr, "sodium_init failed\n");
        return EXIT_FAILURE;
    }
    return th_run(make_suite());
}
