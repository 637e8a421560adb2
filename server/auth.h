/* auth.h — who is calling: API keys, session cookies, CSRF, password hashing. */
#ifndef SUANLI_AUTH_H
#define SUANLI_AUTH_H

#include "http.h"

#define AUTH_COOKIE "suanli_session"
/* The name under https (http_req.secure): the browser keeps a __Host- cookie only if it is
 * Secure, Path=/ and has no Domain, so neither plain http nor a sibling host can plant it. */
#define AUTH_COOKIE_SECURE "__Host-suanli_session"

/* Sets the 32-byte secret that keys the BLAKE2b hashes of API keys and session tokens. */
void auth_set_hash_key(const unsigned char key[32]);

/* Hex of the keyed BLAKE2b-256 of a secret token (API key or session token); out >= 65 bytes. */
void auth_token_hash(const char *token, char out[65]);

/* Resolves the caller from Authorization: Bearer or the session cookie into r->who.
 * Returns 0 (authenticated or anonymous), or a db status < 0 when the lookup failed; a
 * presented but unknown credential replies 401 itself and returns 1. */
int auth_resolve(struct http_req *r);

/* Checks X-CSRF-Token against the session's token in constant time. */
bool auth_csrf_ok(struct http_req *r);

/* Argon2id (crypto_pwhash_str) with libsodium's interactive limits; out >= crypto_pwhash_STRBYTES.
 */
int auth_password_hash(const char *password, char *out);
bool auth_password_verify(const char *hash, const char *password);

#endif
