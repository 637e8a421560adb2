/* vtoken.c — voucher tokens on top of server/paseto (see vtoken.h). */
#include "vtoken.h"

#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VTOKEN_MAX_FOOTER 200 /* ours is 59 bytes; a longer one is not ours and is not parsed */
#define VTOKEN_MAX_AMOUNT INT64_C(1000000000000)

/* ==== time ================================================================================ */

/* Milliseconds since the epoch of an RFC 3339 date-time; false if it is not a real one. */
static bool time_ms(const char *s, int64_t *ms) {
    int64_t us;
    if (!util_rfc3339_us(s, &us))
        return false;
    *ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
    return true;
}

/* ==== claims ============================================================================== */

json_t *vtoken_claims_json(const struct vtoken_claims *c) {
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "iss", VTOKEN_ISSUER, "jti",
                     c->jti, "sub", c->sub, "prg", c->prg, "amt", (json_int_t)c->amt, "cur",
                     VTOKEN_CURRENCY, "iat", c->iat, "nbf", c->nbf, "exp", c->exp);
}

static bool copy_string(json_t *obj, const char *name, char *out, size_t outlen) {
    const char *v = json_string_value(json_object_get(obj, name));
    if (v == NULL || strlen(v) >= outlen)
        return false;
    memcpy(out, v, strlen(v) + 1);
    return true;
}

bool vtoken_claims_from_voucher(json_t *v, struct vtoken_claims *c) {
    json_t *amt = json_object_get(v, "face_value_fen");
    if (!json_is_integer(amt))
        return false;
    c->amt = json_integer_value(amt);
    return copy_string(v, "id", c->jti, sizeof c->jti) &&
           copy_string(v, "institute_id", c->sub, sizeof c->sub) &&
           copy_string(v, "program_id", c->prg, sizeof c->prg) &&
           copy_string(v, "issued_at", c->iat, sizeof c->iat) &&
           copy_string(v, "not_before", c->nbf, sizeof c->nbf) &&
           copy_string(v, "expires_at", c->exp, sizeof c->exp);
}

/* The claims of a verified payload: exactly the nine of a voucher, each of its type. */
static bool claims_parse(json_t *p, struct vtoken_claims *c, const char **why) {
    static const char *const names[] = {"iss", "jti", "sub", "prg", "amt",
                                        "cur", "iat", "nbf", "exp"};
    *why = "the claims are not those of a voucher";
    if (!json_is_object(p) || json_object_size(p) != sizeof names / sizeof names[0])
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (json_object_get(p, names[i]) == NULL)
            return false;
    const char *iss = json_string_value(json_object_get(p, "iss"));
    const char *cur = json_string_value(json_object_get(p, "cur"));
    json_t *amt = json_object_get(p, "amt");
    if (iss == NULL || strcmp(iss, VTOKEN_ISSUER) != 0 || cur == NULL ||
        strcmp(cur, VTOKEN_CURRENCY) != 0 || !json_is_integer(amt) || json_integer_value(amt) < 1 ||
        json_integer_value(amt) > VTOKEN_MAX_AMOUNT)
        return false;
    c->amt = json_integer_value(amt);
    int64_t nbf, exp, iat;
    if (!copy_string(p, "jti", c->jti, sizeof c->jti) || !util_is_uuid(c->jti) ||
        !copy_string(p, "sub", c->sub, sizeof c->sub) || !util_is_uuid(c->sub) ||
        !copy_string(p, "prg", c->prg, sizeof c->prg) || !util_is_uuid(c->prg) ||
        !copy_string(p, "iat", c->iat, sizeof c->iat) || !time_ms(c->iat, &iat) ||
        !copy_string(p, "nbf", c->nbf, sizeof c->nbf) || !time_ms(c->nbf, &nbf) ||
        !copy_string(p, "exp", c->exp, sizeof c->exp) || !time_ms(c->exp, &exp) || exp <= nbf)
        return false;
    *why = NULL;
    return true;
}

/* ==== sign and verify ===================================================================== */

int vtoken_sign(const unsigned char sk[crypto_sign_SECRETKEYBYTES], const char *kid,
                const struct vtoken_claims *c, char **token_out) {
    *token_out = NULL;
    json_t *claims = vtoken_claims_json(c);
    json_t *footer_obj = json_pack("{s:s}", "kid", kid);
    char *payload = claims ? json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    char *footer = footer_obj ? json_dumps(footer_obj, JSON_COMPACT) : NULL;
    int rc = -1;
    if (payload != NULL && footer != NULL &&
        paseto_v4_sign(sk, payload, strlen(payload), footer, NULL, token_out) == PASETO_OK)
        rc = 0;
    free(payload);
    free(footer);
    json_decref(claims);
    json_decref(footer_obj);
    return rc;
}

/* The kid of a footer {"kid": "k4.pid.…"} (nothing else), copied into kid. */
static bool footer_kid(const char *footer, char kid[PASERK_K4_PID_LEN]) {
    if (strlen(footer) > VTOKEN_MAX_FOOTER)
        return false;
    json_t *f = json_loads(footer, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(f) && json_object_size(f) == 1 &&
              copy_string(f, "kid", kid, PASERK_K4_PID_LEN) && strncmp(kid, "k4.pid.", 7) == 0;
    json_decref(f);
    return ok;
}

enum vtoken_status vtoken_verify(const char *token, const struct keys_public *keys, int nkeys,
                                 struct vtoken_claims *c, char kid_out[PASERK_K4_PID_LEN],
                                 const char **why) {
    const char *reason = NULL;
    enum vtoken_status st = VTOKEN_INVALID;
    char *footer = NULL, *payload = NULL;
    size_t payload_len;
    json_t *claims = NULL;
    char kid[PASERK_K4_PID_LEN];

    if (paseto_v4_footer(token, &footer) != PASETO_OK) {
        reason = "not a PASETO v4.public token";
        goto out;
    }
    if (!footer_kid(footer, kid)) {
        reason = "the footer does not name a key id (kid)";
        goto out;
    }
    const struct keys_public *key = NULL;
    for (int i = 0; i < nkeys && key == NULL; i++)
        if (strcmp(keys[i].kid, kid) == 0)
            key = &keys[i];
    if (key == NULL) {
        st = VTOKEN_UNKNOWN_KEY;
        reason = "the token is signed by a key this service does not know";
        goto out;
    }
    if (paseto_v4_verify_footer(key->pk, token, footer, NULL, &payload, &payload_len, NULL) !=
        PASETO_OK) {
        reason = "the signature does not verify";
        goto out;
    }
    claims = json_loadb(payload, payload_len, JSON_REJECT_DUPLICATES, NULL);
    if (!claims_parse(claims, c, &reason))
        goto out;
    if (kid_out != NULL)
        memcpy(kid_out, kid, sizeof kid);
    st = VTOKEN_OK;
out:
    if (why != NULL)
        *why = reason;
    json_decref(claims);
    free(payload);
    free(footer);
    return st;
}

enum vtoken_status vtoken_check_time(const struct vtoken_claims *c, int64_t now_ms) {
    int64_t nbf = 0, exp = 0;
    time_ms(c->nbf, &nbf);
    time_ms(c->exp, &exp);
    if (now_ms < nbf)
        return VTOKEN_NOT_YET_VALID;
    if (now_ms >= exp)
        return VTOKEN_EXPIRED;
    return VTOKEN_OK;
}

/* ==== key sets ============================================================================ */

char *vtoken_keyring_json(void) {
    json_t *list = json_array();
    for (int i = 0; i < keyring.nkeys; i++) {
        char paserk[PASERK_K4_PUBLIC_LEN];
        paserk_k4_public(keyring.keys[i].pk, paserk);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:s}", "kid", keyring.keys[i].kid, "paserk",
                                        paserk, "created_at", keyring.keys[i].created_at));
    }
    char *text = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return text;
}

/* ==== this server's verifier =============================================================== */

/* The public keys this process verifies tokens with: its whole keyring, so that vouchers signed
 * by a key since rotated out of signing stay valid until they expire. */
static struct keys_public *own_keys;
static int nown_keys;

int vtoken_verifier_init(void) {
    return keys_public_from_keyring(KEYS_PUBLIC_VOUCHER, &own_keys, &nown_keys);
}

void vtoken_verifier_cleanup(void) {
    free(own_keys);
    own_keys = NULL;
    nown_keys = 0;
}

enum vtoken_status vtoken_verify_own(const char *token, struct vtoken_claims *c,
                                     char kid_out[PASERK_K4_PID_LEN], const char **why) {
    return vtoken_verify(token, own_keys, nown_keys, c, kid_out, why);
}

enum vtoken_status vtoken_resolve_vouchers(json_t *vouchers, size_t *bad, const char **why) {
    size_t i;
    json_t *e;
    json_array_foreach(vouchers, i, e) {
        const char *token = json_string_value(json_object_get(e, "token"));
        if (token == NULL)
            continue;
        struct vtoken_claims c;
        enum vtoken_status st = vtoken_verify_own(token, &c, NULL, why);
        if (st != VTOKEN_OK) {
            *bad = i;
            return st;
        }
        json_object_del(e, "token");
        json_object_set_new(e, "voucher_id", json_string(c.jti));
        json_object_set_new(e, "via_token", json_true());
    }
    return VTOKEN_OK;
}
