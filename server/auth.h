/* auth.h — who is calling: API keys, session cookies, CSRF, password hashing. */
#ifndef SUANLI_AUTH_H
#define SUANLI_AUTH_H

#include "http.h"

#include <libpq-fe.h>

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

/* For a one-round-trip handler (RF_ONE_TRIP): the credential the request presents, as
 * auth_resolve would look it up (Authorization: Bearer first, else the session cookie), hashed
 * for SQL to look up in the same statement as the change or read; with csrf (a write), for a
 * cookie the hash of its X-CSRF-Token too (a GET needs none). False when there is nothing to
 * look up in one statement (no credential, a malformed one, a write's cookie without
 * X-CSRF-Token): the request takes the usual path. */
struct auth_lookup {
    bool cookie;
    char token_hash[65];
    char csrf_hash[65]; /* "" for an API key, or without csrf */
};
bool auth_lookup_args(struct http_req *r, bool csrf, struct auth_lookup *out);

/* Fills who from row 0 of res, columns col.. (user id, role, organization, city, API key or
 * session id), as auth_resolve does; the session's CSRF hash is left empty (SQL compared it). */
void auth_fill_row(struct principal *who, const PGresult *res, int col, bool cookie);
/* The same from the five values themselves (NULL reads as ""). */
void auth_fill(struct principal *who, const char *const v[5], bool cookie);

/* Checks X-CSRF-Token against the session's token in constant time. */
bool auth_csrf_ok(struct http_req *r);

/* Argon2id (crypto_pwhash_str) with libsodium's interactive limits; out >= crypto_pwhash_STRBYTES.
 */
int auth_password_hash(const char *password, char *out);
bool auth_password_verify(const char *hash, const char *password);

#endif
