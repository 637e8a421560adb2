/* vtoken.h — voucher tokens: PASETO v4.public tokens whose claims name one voucher.
 *
 *   payload  {"iss":"suanli","jti":<voucher id>,"sub":<institute id>,"prg":<programme id>,
 *             "amt":<face value fen>,"cur":"CNY","iat":…,"nbf":…,"exp":…}   (times RFC 3339)
 *   footer   {"kid":"<PASERK k4.pid of the signing key>"}
 *   implicit assertion: empty
 *
 * The payload is always serialised in this order and without spaces, so that a voucher's token
 * is a pure function of its stored claims and key (Ed25519 signatures are deterministic): the
 * server recomputes it on every read instead of storing it. Verification picks the key by the
 * footer's kid and fails closed when the kid is unknown. */
#ifndef SUANLI_VTOKEN_H
#define SUANLI_VTOKEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "paseto.h"
#include "util.h"

#define VTOKEN_ISSUER "suanli"
#define VTOKEN_CURRENCY "CNY"
#define VTOKEN_TIME_LEN 40

struct vtoken_claims {
    char jti[UUID_STR_LEN]; /* voucher id */
    char sub[UUID_STR_LEN]; /* institute id */
    char prg[UUID_STR_LEN]; /* programme id */
    int64_t amt;            /* face value in fen */
    char iat[VTOKEN_TIME_LEN], nbf[VTOKEN_TIME_LEN], exp[VTOKEN_TIME_LEN];
};

enum vtoken_status {
    VTOKEN_OK = 0,
    VTOKEN_INVALID,     /* malformed, forged, tampered, or claims not those of a voucher */
    VTOKEN_UNKNOWN_KEY, /* the footer names no key we hold: refused (fail closed) */
    VTOKEN_NOT_YET_VALID,
    VTOKEN_EXPIRED,
};

/* Signs the claims with sk under kid; *token_out is malloc'd. 0 on success. */
int vtoken_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES], const char *kid,
                const struct vtoken_claims *c, char **token_out);

/* Fills c from a voucher as the API shows it (id, institute_id, program_id, face_value_fen,
 * issued_at, not_before, expires_at). false when a field is missing or of the wrong type. */
bool vtoken_claims_from_voucher(json_t *voucher, struct vtoken_claims *c);

/* Verifies token against keys: shape, kid, signature, and that the claims are exactly those
 * of a voucher. Does not look at the time (see vtoken_check_time). On VTOKEN_OK fills c and
 * kid_out (if not NULL). why (if not NULL) gets a static, human-readable reason otherwise. */
enum vtoken_status vtoken_verify(const char *token, const struct keys_public *keys, int nkeys,
                                 struct vtoken_claims *c, char kid_out[PASERK_K4_PID_LEN],
                                 const char **why);

/* VTOKEN_NOT_YET_VALID before nbf, VTOKEN_EXPIRED from exp on, else VTOKEN_OK. */
enum vtoken_status vtoken_check_time(const struct vtoken_claims *c, int64_t now_ms);

/* The claims as a JSON object (for replies and the CLI). */
json_t *vtoken_claims_json(const struct vtoken_claims *c);

/* The keyring's public keys as [{kid, paserk, created_at}] for signing_keys_sync(); malloc'd
 * JSON text, NULL when out of memory. */
char *vtoken_keyring_json(void);

/* --- this server's verifier: the public half of its keyring ------------------------------- */

/* Loads the keyring's public keys for vtoken_verify_own (after keys_load); 0 on success. */
int vtoken_verifier_init(void);
void vtoken_verifier_cleanup(void);

/* vtoken_verify against this server's keys. */
enum vtoken_status vtoken_verify_own(const char *token, struct vtoken_claims *c,
                                     char kid_out[PASERK_K4_PID_LEN], const char **why);

/* For POST /v1/orders: replaces every {"token": …} element of a vouchers array by
 * {"voucher_id": <its jti>, "via_token": true} after verifying it with vtoken_verify_own.
 * On the first token refused returns its status with *bad its index and *why the reason. */
enum vtoken_status vtoken_resolve_vouchers(json_t *vouchers, size_t *bad, const char **why);

#endif
