/* fuzz_query — the parsers behind query-string filters and cursors: offer-search cursors
 * for every sort key, times, decimals, accelerators, integers and UUIDs. */
#include "market.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const sorts[] = {NULL,          "price",     "-price", "tflops_per_fen",
                                        "green_share", "created_at"};
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char value[64], id[37];
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        (void)market_cursor_decode(s, sorts[i], value, id);
    int64_t us, n;
    (void)util_rfc3339_us(s, &us);
    (void)util_is_decimal(s, 0, 1);
    (void)util_is_decimal(s, 1, 3);
    (void)market_accelerator_ok(s);
    (void)util_parse_int64(s, 1, 200, &n);
    (void)util_is_uuid(s);
    free(s);
    return 0;
}
