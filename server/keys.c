/* keys.c — the key file, a small JSON document kept at mode 0600:
 *   {"hash_key": "<base64url of 32 bytes>",
 *    "signing_keys": [{"secret": "k4.secret.…", "created_at": "…"}, …]}
 * Every replica is given the same file, so all sign and hash alike. */
#include "keys.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct keyring keyring;

void keys_cleanup(void) {
    if (keyring.keys)
        sodium_memzero(keyring.keys, (size_t)keyring.nkeys * sizeof *keyring.keys);
    free(keyring.keys);
    sodium_memzero(&keyring, sizeof keyring);
}

const struct signing_key *keys_current(void) {
    return keyring.nkeys > 0 ? &keyring.keys[keyring.nkeys - 1] : NULL;
}

int keys_load(const char *path) {
    keys_cleanup();
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL) {
        log_error("key file %s: %s", path, err.text);
        return -1;
    }
    int rc = -1;
    const char *hk = json_string_value(json_object_get(doc, "hash_key"));
    json_t *list = json_object_get(doc, "signing_keys");
    size_t binlen;
    if (hk == NULL ||
        sodium_base642bin(keyring.hash_key, sizeof keyring.hash_key, hk, strlen(hk), NULL, &binlen,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        binlen != sizeof keyring.hash_key) {
        log_error("key file %s: hash_key must be 32 bytes in unpadded base64url", path);
        goto out;
    }
    if (!json_is_array(list) || json_array_size(list) == 0) {
        log_error("key file %s: signing_keys must be a non-empty array", path);
        goto out;
    }
    keyring.nkeys = (int)json_array_size(list);
    keyring.keys = calloc((size_t)keyring.nkeys, sizeof *keyring.keys);
    if (keyring.keys == NULL)
        goto out;
    for (int i = 0; i < keyring.nkeys; i++) {
        json_t *e = json_array_get(list, (size_t)i);
        struct signing_key *k = &keyring.keys[i];
        const char *secret = json_string_value(json_object_get(e, "secret"));
        const char *created = json_string_value(json_object_get(e, "created_at"));
        if (secret == NULL || paserk_k4_secret_decode(secret, k->sk) != 0) {
            log_error("key file %s: signing_keys[%d].secret is not a k4.secret PASERK", path, i);
            goto out;
        }
        crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
        paserk_k4_pid(k->pk, k->kid);
        snprintf(k->created_at, sizeof k->created_at, "%s", created ? created : "");
    }
    rc = 0;
out:
    json_decref(doc);
    if (rc != 0)
        keys_cleanup();
    return rc;
}

int keys_generate(const char *path, bool *rotated) {
    json_t *doc = NULL;
    *rotated = false;
    if (access(path, F_OK) == 0) {
        json_error_t err;
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL || !json_is_array(json_object_get(doc, "signing_keys"))) {
            log_error("key file %s exists but is not valid: %s", path, doc ? "" : err.text);
            json_decref(doc);
            return -1;
        }
        *rotated = true;
    } else {
        unsigned char hk[32];
        char hk64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        randombytes_buf(hk, sizeof hk);
        sodium_bin2base64(hk64, sizeof hk64, hk, sizeof hk,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(hk, sizeof hk);
        doc = json_pack("{s:s, s:[]}", "hash_key", hk64, "signing_keys");
    }
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_keypair(pk, sk);
    char secret[PASERK_K4_SECRET_LEN], now[40];
    paserk_k4_secret(sk, secret);
    sodium_memzero(sk, sizeof sk);
    util_now_rfc3339(now, sizeof now);
    json_array_append_new(json_object_get(doc, "signing_keys"),
                          json_pack("{s:s, s:s}", "secret", secret, "created_at", now));
    sodium_memzero(secret, sizeof secret);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (text == NULL)
        return -1;
    int rc = util_write_file_atomic(path, text, strlen(text), 0600);
    if (rc != 0)
        log_error("cannot write key file %s: %s", path, strerror(errno));
    sodium_memzero(text, strlen(text));
    free(text);
    return rc;
}
