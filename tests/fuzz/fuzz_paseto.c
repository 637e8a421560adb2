/* fuzz_paseto — token parsing and verification, footer extraction, PASERK decoding. */
#include "paseto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    static int ready;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        unsigned char seed[crypto_sign_SEEDBYTES] = {7};
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *footer = NULL, *payload = NULL;
    size_t plen = 0;
    if (paseto_v4_footer(text, &footer) == PASETO_OK)
        free(footer);
    footer = NULL;
    if (paseto_v4_verify(pk, text, NULL, &payload, &plen, &footer) == PASETO_OK) {
        free(payload);
        free(footer);
    }
    unsigned char key[64];
    (void)paserk_k4_public_decode(text, key);
    (void)paserk_k4_secret_decode(text, key);
    free(text);
    return 0;
}
