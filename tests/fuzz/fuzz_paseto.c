/* fuzz_paseto — token parsing and verification, footer extraction, PASERK decoding; and the
 * voucher claims behind a valid signature.
 *
 * The key is the one of the official PASETO v4.public test vectors, so that the seed vectors
 * verify. A signature cannot be fuzzed into validity, so an input that starts with '{' is also
 * signed here as a voucher token's payload (footer {"kid": …}) and verified with vtoken_verify:
 * that reaches the claims checks every token of POST /v1/orders, /v1/redemptions and
 * /v1/vouchers/verify goes through once its signature holds. Claims that verify must render
 * (the verify endpoint shows them) and sign again into a token that verifies to the same claims
 * (the server recomputes a voucher's token from its claims). */
#include "paseto.h"
#include "util.h"
#include "vtoken.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static struct keys_public vkey;
static char footer_json[96];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    static const char seed_hex[] =
        "b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a3774";
    unsigned char seed[crypto_sign_SEEDBYTES];
    if (sodium_init() < 0 ||
        sodium_hex2bin(seed, sizeof seed, seed_hex, sizeof seed_hex - 1, NULL, NULL, NULL) != 0)
        abort();
    crypto_sign_seed_keypair(pk, sk, seed);
    memcpy(vkey.pk, pk, sizeof pk);
    paserk_k4_pid(pk, vkey.kid);
    snprintf(footer_json, sizeof footer_json, "{\"kid\":\"%s\"}", vkey.kid);
    return 0;
}

/* Signs payload as a voucher token and checks what vtoken_verify makes of it. */
static void claims_check(const uint8_t *payload, size_t size) {
    char *token = NULL, *again = NULL;
    if (paseto_v4_sign(sk, payload, size, footer_json, NULL, &token) != PASETO_OK)
        return;
    struct vtoken_claims c, c2;
    char kid[PASERK_K4_PID_LEN];
    const char *why = NULL;
    memset(&c, 0, sizeof c);
    if (vtoken_verify(token, &vkey, 1, &c, kid, &why) == VTOKEN_OK) {
        json_t *shown = vtoken_claims_json(&c);
        memset(&c2, 0, sizeof c2);
        if (shown == NULL || vtoken_sign(sk, kid, &c, &again) != 0 ||
            vtoken_verify(again, &vkey, 1, &c2, NULL, &why) != VTOKEN_OK ||
            memcmp(&c, &c2, sizeof c) != 0) {
            fprintf(stderr, "fuzz_paseto: verified claims do not render or re-sign (%s)\n",
                    why ? why : "");
            abort();
        }
        (void)vtoken_check_time(&c, util_now_ms());
        json_decref(shown);
    } else if (why == NULL) {
        fprintf(stderr, "fuzz_paseto: a refused token without a reason\n");
        abort();
    }
    free(again);
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
    if (size > 0 && data[0] == '{')
        claims_check(data, size);
    return 0;
}
