/* keys.c — the key file, a small JSON document kept at mode 0600:
 *   {"hash_key": "<base64url of 32 bytes>",
 *    "signing_keys": [{"secret": "k4.secret.…", "created_at": "…"}, …],
 *    "checkpoint_keys": [{"secret": "k4.secret.…", "created_at": "…"}, …]}
 * signing_keys sign vouchers, checkpoint_keys sign audit checkpoints (optional: a file without
 * them, from before they existed, signs checkpoints with the voucher key). No key is in both.
 * Every replica is given the same file, so all sign and hash alike. */
#include "keys.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct keyring keyring;

/* Secret keys live in sodium_malloc'd memory (locked, guarded, wiped by sodium_free); the hash
 * secret inside the keyring is locked in place while loaded. */
void keys_cleanup(void) {
    sodium_free(keyring.keys);
    sodium_free(keyring.checkpoint_keys);
    if (keyring.locked)
        sodium_munlock(keyring.hash_key, sizeof keyring.hash_key); /* also wipes it */
    sodium_memzero(&keyring, sizeof keyring);
}

#if defined(__SANITIZE_ADDRESS__)
#define KEYS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEYS_SANITIZED 1
#endif
#endif

/* No core file may carry the secrets: RLIMIT_CORE 0, and the process is made non-dumpable
 * (except under AddressSanitizer, whose leak check must attach to the process). */
static void keys_forbid_core_dumps(void) {
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        log_warn("cannot disable core dumps: %s", strerror(errno));
#ifndef KEYS_SANITIZED
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        log_warn("cannot make the process non-dumpable: %s", strerror(errno));
#endif
}

/* Opens the key file for reading, refusing a symbolic link, anything but a regular file, a file
 * that another user owns or that group or others may read or write. -1 with a message. */
static FILE *keyfile_open(const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        log_error("key file %s: %s", path,
                  errno == ELOOP ? "is a symbolic link; give the file itself" : strerror(errno));
        return NULL;
    }
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "is not a regular file";
    if (why == NULL && st.st_uid != geteuid()) {
        log_error("key file %s: owned by uid %u, not by the user running suanlid (uid %u); "
                  "chown it",
                  path, (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return NULL;
    }
    if (why == NULL && (st.st_mode & 077) != 0) {
        log_error("key file %s: mode %04o lets others read it; it must be 0600 (chmod 600)", path,
                  (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    FILE *f = why == NULL ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        log_error("key file %s: %s", path, why ? why : strerror(errno));
        close(fd);
    }
    return f;
}

const struct signing_key *keys_current(void) {
    return keyring.nkeys > 0 ? &keyring.keys[keyring.nkeys - 1] : NULL;
}

const struct signing_key *keys_checkpoint_signer(void) {
    if (keyring.ncheckpoint > 0)
        return &keyring.checkpoint_keys[keyring.ncheckpoint - 1];
    return keys_current();
}

/* ==== the key file ======================================================================== */

/* Reads the list member of the key file doc into *keys (calloc'd); -1 with a message. */
static int keys_list_load(const char *path, json_t *doc, const char *member,
                          struct signing_key **keys, int *n) {
    json_t *list = json_object_get(doc, member);
    *n = (int)json_array_size(list);
    *keys = sodium_allocarray((size_t)*n + 1, sizeof **keys);
    if (*keys == NULL)
        return -1;
    sodium_memzero(*keys, ((size_t)*n + 1) * sizeof **keys);
    for (int i = 0; i < *n; i++) {
        json_t *e = json_array_get(list, (size_t)i);
        struct signing_key *k = &(*keys)[i];
        const char *secret = json_string_value(json_object_get(e, "secret"));
        const char *created = json_string_value(json_object_get(e, "created_at"));
        if (secret == NULL || paserk_k4_secret_decode(secret, k->sk) != 0) {
            log_error("key file %s: %s[%d].secret is not a k4.secret PASERK", path, member, i);
            return -1;
        }
        crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
        paserk_k4_pid(k->pk, k->kid);
        snprintf(k->created_at, sizeof k->created_at, "%s", created ? created : "");
    }
    return 0;
}

int keys_load(const char *path) {
    keys_cleanup();
    keys_forbid_core_dumps();
    FILE *f = keyfile_open(path);
    if (f == NULL)
        return -1;
    json_error_t err;
    json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
    fclose(f);
    if (doc == NULL) {
        log_error("key file %s: %s", path, err.text);
        return -1;
    }
    keyring.locked = sodium_mlock(keyring.hash_key, sizeof keyring.hash_key) == 0;
    int rc = -1;
    const char *hk = json_string_value(json_object_get(doc, "hash_key"));
    json_t *list = json_object_get(doc, "signing_keys");
    json_t *cps = json_object_get(doc, "checkpoint_keys");
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
    if (cps != NULL && !json_is_array(cps)) {
        log_error("key file %s: checkpoint_keys must be an array", path);
        goto out;
    }
    if (keys_list_load(path, doc, "signing_keys", &keyring.keys, &keyring.nkeys) != 0 ||
        keys_list_load(path, doc, "checkpoint_keys", &keyring.checkpoint_keys,
                       &keyring.ncheckpoint) != 0)
        goto out;
    for (int i = 0; i < keyring.ncheckpoint; i++)
        for (int j = 0; j < keyring.nkeys; j++)
            if (strcmp(keyring.checkpoint_keys[i].kid, keyring.keys[j].kid) == 0) {
                log_error("key file %s: key %s is both a voucher and a checkpoint key", path,
                          keyring.keys[j].kid);
                goto out;
            }
    rc = 0;
out:
    json_decref(doc);
    if (rc != 0)
        keys_cleanup();
    return rc;
}

/* Whether the key list member of doc holds the key of sk; -1 when an entry is not a key. */
static int keyfile_holds(const char *path, json_t *doc, const char *member,
                         const unsigned char sk[crypto_sign_SECRETKEYBYTES], char *why,
                         size_t whylen) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, member), i, e) {
        unsigned char held[crypto_sign_SECRETKEYBYTES];
        const char *secret = json_string_value(json_object_get(e, "secret"));
        if (secret == NULL || paserk_k4_secret_decode(secret, held) != 0) {
            snprintf(why, whylen, "key file %s: %s[%zu].secret is not a k4.secret PASERK", path,
                     member, i);
            return -1;
        }
        bool same = sodium_memcmp(held + crypto_sign_SEEDBYTES, sk + crypto_sign_SEEDBYTES,
                                  crypto_sign_PUBLICKEYBYTES) == 0;
        sodium_memzero(held, sizeof held);
        if (same) {
            char kid[PASERK_K4_PID_LEN];
            paserk_k4_pid(sk + crypto_sign_SEEDBYTES, kid);
            snprintf(why, whylen, "key file %s already holds %s key %s", path,
                     strcmp(member, "signing_keys") == 0 ? "signing" : "checkpoint", kid);
            return 1;
        }
    }
    return 0;
}

/* Appends the secret key sk as the new key of kind to the key file at path (rotation), or
 * creates the file with a new hash secret around a voucher key. A key the file already holds,
 * in either list, is refused. -1 with the reason in why. */
static int keyfile_append(const char *path, enum keys_kind kind,
                          const unsigned char sk[crypto_sign_SECRETKEYBYTES], bool *rotated,
                          char *why, size_t whylen) {
    const char *member = kind == KEYS_CHECKPOINT ? "checkpoint_keys" : "signing_keys";
    json_t *doc = NULL;
    char *text = NULL;
    int rc = -1;
    *rotated = false;
    if (access(path, F_OK) == 0) {
        json_error_t err;
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL || !json_is_array(json_object_get(doc, "signing_keys"))) {
            snprintf(why, whylen, "key file %s exists but is not valid: %s", path,
                     doc ? "no signing_keys array" : err.text);
            goto out;
        }
        *rotated = kind == KEYS_VOUCHER || json_array_size(json_object_get(doc, member)) > 0;
    } else if (kind == KEYS_CHECKPOINT) {
        snprintf(why, whylen, "key file %s does not exist: create it first", path);
        goto out;
    } else {
        unsigned char hk[32];
        char hk64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        randombytes_buf(hk, sizeof hk);
        sodium_bin2base64(hk64, sizeof hk64, hk, sizeof hk,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(hk, sizeof hk);
        doc = json_pack("{s:s, s:[]}", "hash_key", hk64, "signing_keys");
        if (doc == NULL) {
            snprintf(why, whylen, "out of memory");
            goto out;
        }
    }
    if (keyfile_holds(path, doc, "signing_keys", sk, why, whylen) != 0 ||
        keyfile_holds(path, doc, "checkpoint_keys", sk, why, whylen) != 0)
        goto out;
    json_t *list = json_object_get(doc, member);
    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new(doc, member, list) != 0) {
            snprintf(why, whylen, "out of memory");
            goto out;
        }
    }
    char secret[PASERK_K4_SECRET_LEN], now[40];
    paserk_k4_secret(sk, secret);
    util_now_rfc3339(now, sizeof now);
    json_array_append_new(list, json_pack("{s:s, s:s}", "secret", secret, "created_at", now));
    sodium_memzero(secret, sizeof secret);
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (util_write_file_atomic(path, text, strlen(text), 0600) != 0) {
        snprintf(why, whylen, "cannot write key file %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    json_decref(doc); /* jansson does not wipe the secrets it held: the process exits soon */
    return rc;
}

static int keys_generate_kind(const char *path, enum keys_kind kind, bool *rotated) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char why[PATH_MAX + 128];
    crypto_sign_keypair(pk, sk);
    int rc = keyfile_append(path, kind, sk, rotated, why, sizeof why);
    sodium_memzero(sk, sizeof sk);
    if (rc != 0)
        log_error("%s", why);
    return rc;
}

int keys_generate(const char *path, bool *rotated) {
    return keys_generate_kind(path, KEYS_VOUCHER, rotated);
}

int keys_generate_checkpoint(const char *path, bool *rotated) {
    return keys_generate_kind(path, KEYS_CHECKPOINT, rotated);
}

/* Decodes a k4.secret PASERK into sk, or says which of its parts is wrong. */
static int paserk_secret_check(const char *paserk, unsigned char sk[crypto_sign_SECRETKEYBYTES],
                               char *why, size_t whylen) {
    static const char prefix[] = "k4.secret.";
    const size_t b64_len = PASERK_K4_SECRET_LEN - sizeof prefix; /* both count a NUL */
    if (strncmp(paserk, "k4.public.", 10) == 0) {
        snprintf(why, whylen,
                 "this is a public key (k4.public); import needs the secret key, "
                 "a k4.secret PASERK");
        return -1;
    }
    if (strncmp(paserk, prefix, sizeof prefix - 1) != 0) {
        snprintf(why, whylen,
                 "not a k4.secret PASERK: it must begin with \"%s\" (PASETO v4, "
                 "Ed25519 signing key)",
                 prefix);
        return -1;
    }
    const char *b64 = paserk + sizeof prefix - 1;
    if (strlen(b64) != b64_len) {
        snprintf(why, whylen,
                 "a k4.secret PASERK holds 64 bytes, %zu base64url characters after "
                 "\"%s\"; this one has %zu",
                 b64_len, prefix, strlen(b64));
        return -1;
    }
    unsigned char raw[crypto_sign_SECRETKEYBYTES];
    size_t len = 0;
    const char *end = NULL;
    int bad = sodium_base642bin(raw, sizeof raw, b64, b64_len, NULL, &len, &end,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
              end != b64 + b64_len || len != sizeof raw;
    sodium_memzero(raw, sizeof raw);
    if (bad) {
        snprintf(why, whylen, "the key is not canonical unpadded base64url");
        return -1;
    }
    if (paserk_k4_secret_decode(paserk, sk) != 0) {
        snprintf(why, whylen,
                 "its public half is not the public key of its secret seed "
                 "(a corrupted or spliced key)");
        return -1;
    }
    return 0;
}

int keys_import(const char *path, const char *paserk, bool *rotated, char *why, size_t whylen) {
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    *rotated = false;
    int rc = paserk_secret_check(paserk, sk, why, whylen);
    if (rc == 0)
        rc = keyfile_append(path, KEYS_VOUCHER, sk, rotated, why, whylen);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ==== public keys ========================================================================= */

int keys_public_from_keyring(unsigned flags, struct keys_public **keys, int *nkeys) {
    int nvoucher = flags & KEYS_PUBLIC_VOUCHER ? keyring.nkeys : 0;
    int ncheckpoint = flags & KEYS_PUBLIC_CHECKPOINT ? keyring.ncheckpoint : 0;
    *nkeys = 0;
    *keys = calloc((size_t)(nvoucher + ncheckpoint) + 1, sizeof **keys);
    if (*keys == NULL)
        return -1;
    for (int i = 0; i < nvoucher + ncheckpoint; i++) {
        const struct signing_key *k =
            i < nvoucher ? &keyring.keys[i] : &keyring.checkpoint_keys[i - nvoucher];
        memcpy((*keys)[i].pk, k->pk, sizeof k->pk);
        memcpy((*keys)[i].kid, k->kid, sizeof k->kid);
    }
    *nkeys = nvoucher + ncheckpoint;
    return 0;
}

/* Adds the key of a PASERK (and checks its claimed kid) to keys. */
static int public_add(const char *paserk, const char *kid, struct keys_public *keys, int *n,
                      char **error) {
    struct keys_public *k = &keys[*n];
    if (paserk == NULL || paserk_k4_public_decode(paserk, k->pk) != 0) {
        if (asprintf(error, "key %d is not a k4.public PASERK", *n + 1) < 0)
            *error = NULL;
        return -1;
    }
    paserk_k4_pid(k->pk, k->kid);
    if (kid != NULL && strcmp(kid, k->kid) != 0) {
        if (asprintf(error, "key %d: kid %s is not the id of its key (%s)", *n + 1, kid, k->kid) <
            0)
            *error = NULL;
        return -1;
    }
    (*n)++;
    return 0;
}

int keys_public_load(const char *path, struct keys_public **keys, int *nkeys, char **error) {
    *keys = NULL;
    *nkeys = 0;
    *error = NULL;
    size_t len;
    char *text = util_read_file(path, &len);
    if (text == NULL) {
        if (asprintf(error, "cannot read %s: %s", path, strerror(errno)) < 0)
            *error = NULL;
        return -1;
    }
    int rc = keys_public_parse(path, text, len, keys, nkeys, error);
    free(text);
    return rc;
}

int keys_public_parse(const char *name, char *text, size_t len, struct keys_public **keys_out,
                      int *nkeys, char **error) {
    *keys_out = NULL;
    *nkeys = 0;
    *error = NULL;
    json_t *doc = json_loadb(text, len, 0, NULL);
    json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "items");
    size_t cap = json_is_array(items) ? json_array_size(items) : 1;
    for (size_t i = 0; i < len; i++)
        cap += text[i] == '\n';
    struct keys_public *keys = calloc(cap + 1, sizeof *keys);
    int n = 0, rc = keys ? 0 : -1;
    if (rc == 0 && json_is_array(items)) {
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            const char *paserk = json_is_string(item)
                                     ? json_string_value(item)
                                     : json_string_value(json_object_get(item, "paserk"));
            const char *kid = json_string_value(json_object_get(item, "kid"));
            if ((rc = public_add(paserk, kid, keys, &n, error)) != 0)
                break;
        }
    } else if (rc == 0 && json_is_object(doc)) {
        rc = public_add(json_string_value(json_object_get(doc, "paserk")),
                        json_string_value(json_object_get(doc, "kid")), keys, &n, error);
    } else if (rc == 0) {
        char *save = NULL;
        for (char *l = strtok_r(text, "\r\n", &save); l && rc == 0;
             l = strtok_r(NULL, "\r\n", &save))
            if (l[strspn(l, " \t")] != '\0')
                rc = public_add(l + strspn(l, " \t"), NULL, keys, &n, error);
    }
    json_decref(doc);
    if (rc == 0 && n == 0) {
        if (asprintf(error, "%s holds no keys", name) < 0)
            *error = NULL;
        rc = -1;
    }
    if (rc != 0) {
        free(keys);
        return -1;
    }
    *keys_out = keys;
    *nkeys = n;
    return 0;
}
