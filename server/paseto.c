/* paseto.c — PASETO v4.public sign/verify and PASERK k4 key strings, on top of libsodium. */
#include "paseto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define V4_PUBLIC_HEADER "v4.public."
#define V4_PUBLIC_HEADER_LEN (sizeof V4_PUBLIC_HEADER - 1)

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* Characters of unpadded base64url for n bytes (sodium's macro counts the NUL). */
#define B64_LEN(n) (sodium_base64_ENCODED_LEN((n), B64_VARIANT) - 1)

/* The shortest body that can hold a signature: base64url of 64 bytes. */
#define MIN_BODY_B64_LEN B64_LEN(crypto_sign_BYTES)

#define PASERK_K4_PUBLIC_PREFIX "k4.public."
#define PASERK_K4_SECRET_PREFIX "k4.secret."
#define PASERK_K4_PID_PREFIX "k4.pid."
#define PASERK_K4_PID_HASH_BYTES 33 /* BLAKE2b-264: 33 bytes encode to 44 chars, no slack bits */

_Static_assert(PASERK_K4_PUBLIC_LEN == sizeof PASERK_K4_PUBLIC_PREFIX - 1 + B64_LEN(32) + 1,
               "PASERK_K4_PUBLIC_LEN");
_Static_assert(PASERK_K4_SECRET_LEN == sizeof PASERK_K4_SECRET_PREFIX - 1 + B64_LEN(64) + 1,
               "PASERK_K4_SECRET_LEN");
_Static_assert(PASERK_K4_PID_LEN ==
                   sizeof PASERK_K4_PID_PREFIX - 1 + B64_LEN(PASERK_K4_PID_HASH_BYTES) + 1,
               "PASERK_K4_PID_LEN");

/* ---------------------------------------------------------------------------------------------
 * Pre-authentication encoding
 * ------------------------------------------------------------------------------------------- */

struct pae_piece {
    const void *data;
    size_t len;
};

/* LE64 with the most significant bit cleared, as Common.md requires for interoperability with
 * languages that lack unsigned 64-bit integers. */
static void le64(unsigned char out[8], uint64_t n) {
    n &= UINT64_C(0x7fffffffffffffff);
    for (int i = 0; i < 8; i++) {
        out[i] = (unsigned char)(n & 0xff);
        n >>= 8;
    }
}

/* PAE(pieces) = LE64(count) || for each piece: LE64(len) || piece. Prefixing every length makes
 * the encoding injective, so header, payload, footer and implicit assertion cannot be shifted
 * into one another. Returns a malloc'd buffer, or NULL when out of memory. */
static unsigned char *pae_encode(const struct pae_piece *pieces, size_t count, size_t *out_len) {
    size_t total = 8;
    for (size_t i = 0; i < count; i++) {
        if (pieces[i].len > SIZE_MAX - total - 8) {
            return NULL;
        }
        total += 8 + pieces[i].len;
    }

    unsigned char *out = malloc(total);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *p = out;
    le64(p, count);
    p += 8;
    for (size_t i = 0; i < count; i++) {
        le64(p, pieces[i].len);
        p += 8;
        if (pieces[i].len > 0) {
            memcpy(p, pieces[i].data, pieces[i].len);
            p += pieces[i].len;
        }
    }
    *out_len = total;
    return out;
}

/* ---------------------------------------------------------------------------------------------
 * Token parsing
 * ------------------------------------------------------------------------------------------- */

/* Strict unpadded base64url decoding into a fresh buffer that has room for a trailing NUL (which
 * is written). libsodium refuses '=', characters outside the alphabet, impossible lengths and
 * non-zero trailing bits, which is exactly the strictness Common.md demands: every token has a
 * single valid spelling. */
static enum paseto_status b64_decode(const char *b64, size_t b64_len, unsigned char **out,
                                     size_t *out_len) {
    size_t cap = b64_len / 4 * 3 + 3;
    unsigned char *buf = malloc(cap + 1);
    if (buf == NULL) {
        return PASETO_NOMEM;
    }

    const char *end = NULL;
    size_t len = 0;
    if (sodium_base642bin(buf, cap, b64, b64_len, NULL, &len, &end, B64_VARIANT) != 0 ||
        end != b64 + b64_len) {
        free(buf);
        return PASETO_MALFORMED;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return PASETO_OK;
}

struct token_parts {
    const char *body; /* base64url of m || sig */
    size_t body_len;
    const char *footer; /* base64url of f; empty when the token has none */
    size_t footer_len;
};

/* Splits "v4.public.<body>[.<footer>]" without decoding anything. The length cap is enforced
 * with strnlen so an attacker-sized string is never scanned past the limit. */
static enum paseto_status split_token(const char *token, struct token_parts *parts) {
    if (token == NULL) {
        return PASETO_MALFORMED;
    }
    size_t len = strnlen(token, PASETO_MAX_TOKEN_LEN + 1);
    if (len > PASETO_MAX_TOKEN_LEN) {
        return PASETO_MALFORMED;
    }
    if (len < V4_PUBLIC_HEADER_LEN || memcmp(token, V4_PUBLIC_HEADER, V4_PUBLIC_HEADER_LEN) != 0) {
        return PASETO_MALFORMED;
    }

    const char *body = token + V4_PUBLIC_HEADER_LEN;
    const char *end = token + len;
    const char *dot = memchr(body, '.', (size_t)(end - body));

    parts->body = body;
    if (dot == NULL) {
        parts->body_len = (size_t)(end - body);
        parts->footer = end;
        parts->footer_len = 0;
    } else {
        parts->body_len = (size_t)(dot - body);
        parts->footer = dot + 1;
        parts->footer_len = (size_t)(end - dot - 1);
        /* The signer omits the separator when the footer is empty, so "body." is not canonical. A
         * second '.' inside the footer is caught by the base64 decoder. */
        if (parts->footer_len == 0) {
            return PASETO_MALFORMED;
        }
    }
    if (parts->body_len < MIN_BODY_B64_LEN) {
        return PASETO_MALFORMED;
    }
    return PASETO_OK;
}

/* Decodes the footer part. A footer with a NUL byte is refused: the API hands footers out as C
 * strings, and a truncated footer could make the caller look up a different kid than the one
 * that was signed. */
static enum paseto_status decode_footer(const struct token_parts *parts, unsigned char **out,
                                        size_t *out_len) {
    enum paseto_status status = b64_decode(parts->footer, parts->footer_len, out, out_len);
    if (status != PASETO_OK) {
        return status;
    }
    if (memchr(*out, '\0', *out_len) != NULL) {
        free(*out);
        *out = NULL;
        return PASETO_MALFORMED;
    }
    return PASETO_OK;
}

/* ---------------------------------------------------------------------------------------------
 * v4.public
 * ------------------------------------------------------------------------------------------- */

enum paseto_status paseto_v4_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                                  const void *payload, size_t payload_len, const char *footer,
                                  const char *implicit, char **token_out) {
    enum paseto_status status;
    unsigned char *m2 = NULL;
    unsigned char *signed_body = NULL;
    char *token = NULL;
    size_t m2_len = 0;

    *token_out = NULL;
    if (footer == NULL) {
        footer = "";
    }
    if (implicit == NULL) {
        implicit = "";
    }
    if (payload == NULL && payload_len != 0) {
        return PASETO_MALFORMED;
    }

    /* Refuse to mint a token that paseto_v4_verify would reject as oversized; checking the
     * inputs first also keeps the length arithmetic below far from overflow. */
    size_t footer_len = strlen(footer);
    if (payload_len > PASETO_MAX_TOKEN_LEN || footer_len > PASETO_MAX_TOKEN_LEN) {
        return PASETO_MALFORMED;
    }
    size_t body_len = payload_len + crypto_sign_BYTES;
    size_t body_b64_len = B64_LEN(body_len);
    size_t footer_b64_len = footer_len > 0 ? B64_LEN(footer_len) : 0;
    size_t token_len =
        V4_PUBLIC_HEADER_LEN + body_b64_len + (footer_len > 0 ? 1 + footer_b64_len : 0);
    if (token_len > PASETO_MAX_TOKEN_LEN) {
        return PASETO_MALFORMED;
    }

    const struct pae_piece pieces[] = {
        {V4_PUBLIC_HEADER, V4_PUBLIC_HEADER_LEN},
        {payload, payload_len},
        {footer, footer_len},
        {implicit, strlen(implicit)},
    };
    m2 = pae_encode(pieces, sizeof pieces / sizeof pieces[0], &m2_len);
    signed_body = malloc(body_len);
    token = malloc(token_len + 1);
    if (m2 == NULL || signed_body == NULL || token == NULL) {
        status = PASETO_NOMEM;
        goto cleanup;
    }

    if (payload_len > 0) {
        memcpy(signed_body, payload, payload_len);
    }
    crypto_sign_detached(signed_body + payload_len, NULL, m2, m2_len, sk);

    char *p = token;
    memcpy(p, V4_PUBLIC_HEADER, V4_PUBLIC_HEADER_LEN);
    p += V4_PUBLIC_HEADER_LEN;
    sodium_bin2base64(p, body_b64_len + 1, signed_body, body_len, B64_VARIANT);
    p += body_b64_len;
    if (footer_len > 0) {
        *p++ = '.';
        sodium_bin2base64(p, footer_b64_len + 1, (const unsigned char *)footer, footer_len,
                          B64_VARIANT);
    }

    *token_out = token;
    token = NULL;
    status = PASETO_OK;

cleanup:
    free(token);
    free(signed_body);
    free(m2);
    return status;
}

/* The constant-time compare the spec asks for when matching an expected footer. Only the
 * length can leak, and footers are not secret anyway. */
static int footer_equals(const char *expected, const unsigned char *footer, size_t footer_len) {
    size_t expected_len = strlen(expected);
    return expected_len == footer_len && sodium_memcmp(expected, footer, footer_len) == 0;
}

enum paseto_status paseto_v4_verify_footer(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                                           const char *token, const char *expected_footer,
                                           const char *implicit, char **payload_out,
                                           size_t *payload_len, char **footer_out) {
    enum paseto_status status;
    struct token_parts parts;
    unsigned char *body = NULL;
    unsigned char *footer = NULL;
    unsigned char *m2 = NULL;
    size_t body_len = 0, footer_len = 0, m2_len = 0;

    *payload_out = NULL;
    *payload_len = 0;
    if (footer_out != NULL) {
        *footer_out = NULL;
    }
    if (implicit == NULL) {
        implicit = "";
    }

    status = split_token(token, &parts);
    if (status != PASETO_OK) {
        goto cleanup;
    }
    status = decode_footer(&parts, &footer, &footer_len);
    if (status != PASETO_OK) {
        goto cleanup;
    }
    if (expected_footer != NULL && !footer_equals(expected_footer, footer, footer_len)) {
        status = PASETO_FOOTER_MISMATCH;
        goto cleanup;
    }
    status = b64_decode(parts.body, parts.body_len, &body, &body_len);
    if (status != PASETO_OK) {
        goto cleanup;
    }
    if (body_len < crypto_sign_BYTES) {
        status = PASETO_MALFORMED;
        goto cleanup;
    }

    /* body = m || sig, the signature being the rightmost 64 bytes. */
    size_t m_len = body_len - crypto_sign_BYTES;
    const unsigned char *sig = body + m_len;
    const struct pae_piece pieces[] = {
        {V4_PUBLIC_HEADER, V4_PUBLIC_HEADER_LEN},
        {body, m_len},
        {footer, footer_len},
        {implicit, strlen(implicit)},
    };
    m2 = pae_encode(pieces, sizeof pieces / sizeof pieces[0], &m2_len);
    if (m2 == NULL) {
        status = PASETO_NOMEM;
        goto cleanup;
    }
    if (crypto_sign_verify_detached(sig, m2, m2_len, pk) != 0) {
        status = PASETO_BAD_SIGNATURE;
        goto cleanup;
    }

    /* Hand out the decode buffer itself: the NUL goes where the signature began. */
    body[m_len] = '\0';
    *payload_out = (char *)body;
    *payload_len = m_len;
    body = NULL;
    if (footer_out != NULL) {
        *footer_out = (char *)footer;
        footer = NULL;
    }
    status = PASETO_OK;

cleanup:
    free(m2);
    free(body);
    free(footer);
    return status;
}

enum paseto_status paseto_v4_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                                    const char *token, const char *implicit, char **payload_out,
                                    size_t *payload_len, char **footer_out) {
    return paseto_v4_verify_footer(pk, token, NULL, implicit, payload_out, payload_len, footer_out);
}

enum paseto_status paseto_v4_footer(const char *token, char **footer_out) {
    struct token_parts parts;
    unsigned char *footer = NULL;
    size_t footer_len = 0;

    *footer_out = NULL;
    enum paseto_status status = split_token(token, &parts);
    if (status != PASETO_OK) {
        return status;
    }
    status = decode_footer(&parts, &footer, &footer_len);
    if (status != PASETO_OK) {
        return status;
    }
    *footer_out = (char *)footer;
    return PASETO_OK;
}

/* ---------------------------------------------------------------------------------------------
 * PASERK k4
 * ------------------------------------------------------------------------------------------- */

/* prefix || base64url(key) into out, which the callers size exactly via PASERK_*_LEN. */
static void paserk_encode(const char *prefix, const unsigned char *key, size_t key_len, char *out,
                          size_t out_size) {
    size_t prefix_len = strlen(prefix);
    memcpy(out, prefix, prefix_len);
    sodium_bin2base64(out + prefix_len, out_size - prefix_len, key, key_len, B64_VARIANT);
}

/* Accepts exactly prefix || base64url(key_len bytes): anything with another version or type,
 * another length or a non-canonical encoding is refused. */
static int paserk_decode(const char *prefix, const char *s, unsigned char *key, size_t key_len) {
    if (s == NULL) {
        return -1;
    }
    size_t prefix_len = strlen(prefix);
    if (strncmp(s, prefix, prefix_len) != 0) {
        return -1;
    }
    const char *b64 = s + prefix_len;
    size_t want = B64_LEN(key_len);
    if (strnlen(b64, want + 1) != want) {
        return -1;
    }

    const char *end = NULL;
    size_t len = 0;
    if (sodium_base642bin(key, key_len, b64, want, NULL, &len, &end, B64_VARIANT) != 0 ||
        end != b64 + want || len != key_len) {
        return -1;
    }
    return 0;
}

void paserk_k4_public(const unsigned char pk[32], char out[PASERK_K4_PUBLIC_LEN]) {
    paserk_encode(PASERK_K4_PUBLIC_PREFIX, pk, 32, out, PASERK_K4_PUBLIC_LEN);
}

void paserk_k4_secret(const unsigned char sk[64], char out[PASERK_K4_SECRET_LEN]) {
    paserk_encode(PASERK_K4_SECRET_PREFIX, sk, 64, out, PASERK_K4_SECRET_LEN);
}

/* PASERK operations/ID.md, versions 2 and 4: d = crypto_generichash(h || p, 33) with
 * h = "k4.pid." and p the full k4.public string; the id is h || base64url(d). The 33-byte output
 * length is a BLAKE2b parameter, so this is not a truncated 32- or 64-byte hash. */
void paserk_k4_pid(const unsigned char pk[32], char out[PASERK_K4_PID_LEN]) {
    char paserk[PASERK_K4_PUBLIC_LEN];
    unsigned char d[PASERK_K4_PID_HASH_BYTES];
    crypto_generichash_state state;

    paserk_k4_public(pk, paserk);
    crypto_generichash_init(&state, NULL, 0, sizeof d);
    crypto_generichash_update(&state, (const unsigned char *)PASERK_K4_PID_PREFIX,
                              sizeof PASERK_K4_PID_PREFIX - 1);
    crypto_generichash_update(&state, (const unsigned char *)paserk, strlen(paserk));
    crypto_generichash_final(&state, d, sizeof d);
    paserk_encode(PASERK_K4_PID_PREFIX, d, sizeof d, out, PASERK_K4_PID_LEN);
}

int paserk_k4_public_decode(const char *s, unsigned char pk[32]) {
    return paserk_decode(PASERK_K4_PUBLIC_PREFIX, s, pk, 32);
}

/* libsodium's secret key is seed || public key and signing trusts the stored public half, so a
 * mismatched pair would produce signatures nobody can verify (or, worse, leak the seed through
 * related signatures). Re-derive the pair from the seed and insist the halves agree. */
int paserk_k4_secret_decode(const char *s, unsigned char sk[64]) {
    unsigned char decoded[crypto_sign_SECRETKEYBYTES];
    unsigned char derived_sk[crypto_sign_SECRETKEYBYTES];
    unsigned char derived_pk[crypto_sign_PUBLICKEYBYTES];
    int rc = -1;

    if (paserk_decode(PASERK_K4_SECRET_PREFIX, s, decoded, sizeof decoded) != 0) {
        goto cleanup;
    }
    if (crypto_sign_seed_keypair(derived_pk, derived_sk, decoded) != 0) {
        goto cleanup;
    }
    if (sodium_memcmp(derived_pk, decoded + crypto_sign_SEEDBYTES, sizeof derived_pk) != 0) {
        goto cleanup;
    }
    memcpy(sk, decoded, sizeof decoded);
    rc = 0;

cleanup:
    if (rc != 0) {
        sodium_memzero(sk, crypto_sign_SECRETKEYBYTES);
    }
    sodium_memzero(decoded, sizeof decoded);
    sodium_memzero(derived_sk, sizeof derived_sk);
    return rc;
}
