/* fuzz_json — request-body decoding: the depth guard, the parser and json_check against field
 * specs that use every field type (as the endpoints do), plus nested element checks. */
#include "json.h"

#include <stdint.h>
#include <string.h>

static const char *const kinds[] = {"gpu", "npu", "cpu", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[256];
    json_t *obj = json_parse_object((const char *)data, size, why, sizeof why);
    if (obj == NULL)
        return 0;
    const char *s = NULL, *e = NULL, *t = NULL, *u = NULL;
    int64_t i = 0;
    double d = 0;
    bool b = false, given = false;
    json_t *arr = NULL, *o = NULL;
    const struct json_field fields[] = {
        JF_REQ_STRING("name", &s, 1, 200),
        JF_OPT_ENUM("resource_class", &e, kinds, NULL),
        JF_OPT_TIME("start", &t, NULL),
        JF_OPT_UUID("offer_id", &u, NULL),
        JF_OPT_INT("units", &i, 1, 1000000, NULL),
        JF_OPT_NUMBER("green_share", &d, 0, 1, NULL),
        JF_OPT_BOOL("allow_split", &b, &given),
        JF_OPT_ARRAY("vouchers", &arr, 0, 20, NULL),
        JF_OPT_OBJECT("meta", &o, NULL),
        JF_END,
    };
    json_t *errors = json_check(obj, fields, "");
    if (errors == NULL && arr != NULL) {
        const char *vid = NULL, *tok = NULL;
        int64_t amount = 0;
        const struct json_field element[] = {
            JF_OPT_UUID("voucher_id", &vid, NULL),
            JF_OPT_STRING("token", &tok, 1, 4096, NULL),
            JF_OPT_INT("amount_fen", &amount, 1, INT64_MAX, NULL),
            JF_END,
        };
        for (size_t k = 0; k < json_array_size(arr); k++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "vouchers[%zu].", k);
            json_decref(json_check(json_array_get(arr, k), element, prefix));
        }
    }
    json_decref(errors);
    json_decref(obj);
    return 0;
}
