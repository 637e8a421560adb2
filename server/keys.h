/* keys.h — the key file: the secret that keys credential hashes, the Ed25519 signing keys of
 * vouchers (the last one signs; older ones stay for verification until their vouchers expire),
 * and the Ed25519 checkpoint keys of the audit log, rotated on their own (the last one signs);
 * and the one reader of public-key files, for the offline verifiers (audit-verify,
 * voucher-verify). */
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
    /* Audit checkpoint keys; checkpoint_keys[ncheckpoint - 1] signs. A key file from before
     * they existed has none: checkpoints are then signed by the current voucher key. */
    struct signing_key *checkpoint_keys;
    int ncheckpoint;
    bool locked; /* hash_key is mlock'ed */
};

extern struct keyring keyring;

/* Loads path into the keyring; -1 with a message naming the file on error. The file must be a
 * regular file (no symbolic link) owned by the running user, mode 0600 (or stricter). Secret
 * keys are held in sodium_malloc'd memory; core dumps are disabled from here on. */
int keys_load(const char *path);

/* Which list of the key file a new key joins. */
enum keys_kind { KEYS_VOUCHER, KEYS_CHECKPOINT };

/* Creates path with a new hash secret and one signing key, or, when it exists, appends a new
 * signing key (rotation). Written atomically with mode 0600. */
int keys_generate(const char *path, bool *rotated);

/* Appends a new checkpoint key to the existing key file at path (the first one, or a rotation:
 * *rotated tells). Written atomically with mode 0600. */
int keys_generate_checkpoint(const char *path, bool *rotated);

/* As keys_generate, but the new signing key is one made elsewhere, given as a k4.secret PASERK:
 * checked first (prefix, length, base64url, and that its public half is the one its seed
 * derives); a key the file already holds is refused. -1 with a reason in why (whylen bytes),
 * the file untouched. */
int keys_import(const char *path, const char *paserk, bool *rotated, char *why, size_t whylen);

void keys_cleanup(void);

/* The current signing key. */
const struct signing_key *keys_current(void);

/* The key that signs audit checkpoints: the current checkpoint key, or, in a key file that has
 * none, the current voucher key. */
const struct signing_key *keys_checkpoint_signer(void);

/* A public key that verifies signatures (audit checkpoints, voucher tokens), by its PASERK id. */
struct keys_public {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char kid[PASERK_K4_PID_LEN];
};

/* Which public halves of the keyring keys_public_from_keyring gives. */
#define KEYS_PUBLIC_VOUCHER 1u    /* the voucher signing keys (they verify voucher tokens) */
#define KEYS_PUBLIC_CHECKPOINT 2u /* the checkpoint keys */

/* The public halves of the keyring that flags name, voucher keys then checkpoint keys (both
 * have signed audit checkpoints); *keys malloc'd (never NULL on success). 0 or -1. */
int keys_public_from_keyring(unsigned flags, struct keys_public **keys, int *nkeys);

/* Reads public keys from a saved GET /v1/keys answer ({"items": [{"kid", "paserk"}]}), a JSON
 * array of such items or of PASERK strings, one such item, or a text file of k4.public
 * PASERKs, one a line. A kid that does not match its key is refused, and so is a file without
 * keys. *keys is malloc'd. 0 ok, -1 with *error (malloc'd, may be NULL) set. */
int keys_public_load(const char *path, struct keys_public **keys, int *nkeys, char **error);

/* keys_public_load of text already read (len bytes, NUL-terminated; changed in place); name
 * names it in errors. */
int keys_public_parse(const char *name, char *text, size_t len, struct keys_public **keys,
                      int *nkeys, char **error);

#endif
