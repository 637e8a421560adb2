/* paseto.h — PASETO v4.public tokens and PASERK k4 key strings (Ed25519, via libsodium).
 *
 * Implements https://github.com/paseto-standard/paseto-spec (Version4.md, "Sign" and "Verify")
 * and the k4.public, k4.secret and k4.pid types of https://github.com/paseto-standard/paserk.
 * Callers must have called sodium_init() once before using any function here. */
#ifndef SUANLI_PASETO_H
#define SUANLI_PASETO_H

#include <stddef.h>
#include <sodium.h>

/* Longest token paseto_v4_verify and paseto_v4_footer accept, and paseto_v4_sign produces,
 * in characters (without the NUL). Anything longer is PASETO_MALFORMED. */
#define PASETO_MAX_TOKEN_LEN 65536

enum paseto_status {
    PASETO_OK = 0,
    PASETO_MALFORMED,       /* not a well-formed v4.public token (header, base64, length) */
    PASETO_BAD_SIGNATURE,   /* well-formed, but the signature does not verify under the key */
    PASETO_FOOTER_MISMATCH, /* the footer is not the one the caller expected */
    PASETO_NOMEM,
};

/* Signs payload (bytes) with an Ed25519 secret key (64 bytes, libsodium layout). footer and
 * implicit may be NULL (= empty). *token_out is malloc'd, NUL-terminated; caller frees.
 * PASETO_MALFORMED if the token would exceed PASETO_MAX_TOKEN_LEN. */
enum paseto_status paseto_v4_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                                  const void *payload, size_t payload_len, const char *footer,
                                  const char *implicit, char **token_out);

/* Verifies; on PASETO_OK *payload_out (malloc'd, NUL-terminated, length in *payload_len) and, if
 * footer_out != NULL, *footer_out (malloc'd, NUL-terminated, "" when none). implicit may be NULL
 * (= empty). On any other status nothing is allocated and the out pointers are set to NULL.
 * A footer that contains a NUL byte is PASETO_MALFORMED, since it could not be returned intact. */
enum paseto_status paseto_v4_verify(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                                    const char *token, const char *implicit, char **payload_out,
                                    size_t *payload_len, char **footer_out);

/* As paseto_v4_verify, but when expected_footer is not NULL the token's footer must equal it
 * (constant-time compare; "" matches a token without footer), else PASETO_FOOTER_MISMATCH.
 * The footer is checked before the signature. */
enum paseto_status paseto_v4_verify_footer(const unsigned char pk[crypto_sign_PUBLICKEYBYTES],
                                           const char *token, const char *expected_footer,
                                           const char *implicit, char **payload_out,
                                           size_t *payload_len, char **footer_out);

/* Decodes the footer of a v4.public token WITHOUT verifying it (to pick the key by kid).
 * malloc'd; "" when none. The token's shape is checked as in paseto_v4_verify. */
enum paseto_status paseto_v4_footer(const char *token, char **footer_out);

/* PASERK buffer sizes, including the NUL: prefix plus unpadded base64url of the key bytes. */
#define PASERK_K4_PUBLIC_LEN (sizeof "k4.public." - 1 + 43 + 1) /* 32 bytes -> 43 chars */
#define PASERK_K4_PID_LEN (sizeof "k4.pid." - 1 + 44 + 1)       /* 33 bytes -> 44 chars */
#define PASERK_K4_SECRET_LEN (sizeof "k4.secret." - 1 + 86 + 1) /* 64 bytes -> 86 chars */

/* "k4.public." || base64url(pk). */
void paserk_k4_public(const unsigned char pk[32], char out[PASERK_K4_PUBLIC_LEN]);

/* "k4.secret." || base64url(sk), sk being libsodium's 64-byte seed || public key. */
void paserk_k4_secret(const unsigned char sk[64], char out[PASERK_K4_SECRET_LEN]);

/* "k4.pid." || base64url(BLAKE2b-264("k4.pid." || paserk_k4_public(pk))): the key id to put in
 * a token footer's "kid". */
void paserk_k4_pid(const unsigned char pk[32], char out[PASERK_K4_PID_LEN]);

/* Parses a k4.public PASERK. 0 ok, -1 bad (wrong prefix or version, length, non-canonical
 * base64). pk is left unspecified on failure. */
int paserk_k4_public_decode(const char *s, unsigned char pk[32]);

/* Parses a k4.secret PASERK. 0 ok, -1 bad; also -1 when the public half is not the one derived
 * from the seed half. sk is zeroed on failure. */
int paserk_k4_secret_decode(const char *s, unsigned char sk[64]);

#endif
