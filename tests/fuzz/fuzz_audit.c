/* fuzz_audit — the offline verifier's input: the canonical encoding of an event, and a whole
 * export file (JSON Lines of header, events, redactions, checkpoints) checked against a key. */
#include "audit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct keys_public key;
    static int ready;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        unsigned char sk[crypto_sign_SECRETKEYBYTES], seed[crypto_sign_SEEDBYTES] = {9};
        crypto_sign_seed_keypair(key.pk, sk, seed);
        paserk_k4_pid(key.pk, key.kid);
        ready = 1;
    }
    char *canonical = NULL;
    size_t clen = 0;
    if (canon_object((const char *)data, size, NULL, &canonical, &clen) == 0)
        free(canonical);

    int fd = memfd_create("export", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        json_t *report = NULL;
        char *error = NULL;
        (void)audit_verify_export(path, &key, 1, &report, &error);
        json_decref(report);
        free(error);
    }
    close(fd);
    return 0;
}
