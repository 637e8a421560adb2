/* keys.h — the key file: the secret that keys credential hashes, and the Ed25519 signing keys
 * (the last one signs; older ones stay for verification until their vouchers expire). */
#ifndef SUANLI_KEYS_H
#define SUANLI_KEYS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#include "paseto.h"

struct signing_key {
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char kid[PASERK_K4_PID_LEN];
    char created_at[40];
};

struct keyring {
    unsigned char hash_key[32];
    struct signing_key *keys;
    int nkeys; /* keys[nkeys - 1] is the current signer */
};

extern struct keyring keyring;

/* Loads path into the keyring; -1 with a message naming the file on error. */
int keys_load(const char *path);

/* Creates path with a new hash secret and one signing key, or, when it exists, appends a new
 * signing key (rotation). Written atomically with mode 0600. */
int keys_generate(const char *path, bool *rotated);

/* As keys_generate, but the new signing key is one made elsewhere, given as a k4.secret PASERK:
 * checked first (prefix, length, base64url, and that its public half is the one its seed
 * derives); a key the file already holds is refused. -1 with a reason in why (whylen bytes),
 * the file untouched. */
int keys_import(const char *path, const char *paserk, bool *rotated, char *why, size_t whylen);

void keys_cleanup(void);

/* The current signing key. */
const struct signing_key *keys_current(void);

#endif
