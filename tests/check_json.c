/* check_json.c — declarative body decoding and the small parsers it relies on. */
#include "harness.h"

#include "json.h"
#include "util.h"

#include <string.h>

static const char *const colours[] = {"red", "green", NULL};

struct decoded {
    const char *name, *colour, *when, *id;
    int64_t units;
    double share;
    bool flag, flag_given;
    json_t *list;
};

static json_t *check(const char *text, struct decoded *d) {
    memset(d, 0, sizeof *d);
    const struct jf_field fields[] = {
        JF_REQ_STRING("name", &d->name, 1, 8),
        JF_REQ_INT("units", &d->units, 1, 100),
        JF_OPT_NUMBER("share", &d->share, 0, 1, NULL),
        JF_OPT_ENUM("colour", &d->colour, colours, NULL),
        JF_OPT_TIME("when", &d->when, NULL),
        JF_OPT_UUID("id", &d->id, NULL),
        JF_OPT_BOOL("flag", &d->flag, &d->flag_given),
        JF_OPT_ARRAY("list", &d->list, 0, 2, NULL),
        JF_END,
    };
    json_t *obj = json_loads(text, 0, NULL);
    ck_assert_msg(obj != NULL, "test JSON is invalid: %s", text);
    json_t *errors = jf_check(obj, fields, "");
    json_decref(obj); /* the decoded pointers are not used after this */
    return errors;
}

static void assert_error(const char *text, const char *field, const char *message_part) {
    struct decoded d;
    json_t *errors = check(text, &d);
    ck_assert_msg(errors != NULL, "expected an error for %s", text);
    bool found = false;
    for (size_t i = 0; i < json_array_size(errors); i++) {
        json_t *e = json_array_get(errors, i);
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0 &&
            strstr(json_string_value(json_object_get(e, "message")), message_part))
            found = true;
    }
    char *dump = json_dumps(errors, 0);
    ck_assert_msg(found, "no error '%s' on %s for %s: %s", message_part, field, text, dump);
    free(dump);
    json_decref(errors);
}

START_TEST(valid_body_fills_every_destination) {
    struct decoded d;
    json_t *obj = json_loads("{\"name\":\"gpu\",\"units\":5,\"share\":0.5,\"colour\":\"red\","
                             "\"when\":\"2026-01-02T03:04:05Z\",\"flag\":false,\"list\":[1]}",
                             0, NULL);
    memset(&d, 0, sizeof d);
    const struct jf_field fields[] = {
        JF_REQ_STRING("name", &d.name, 1, 8),
        JF_REQ_INT("units", &d.units, 1, 100),
        JF_OPT_NUMBER("share", &d.share, 0, 1, NULL),
        JF_OPT_ENUM("colour", &d.colour, colours, NULL),
        JF_OPT_TIME("when", &d.when, NULL),
        JF_OPT_UUID("id", &d.id, NULL),
        JF_OPT_BOOL("flag", &d.flag, &d.flag_given),
        JF_OPT_ARRAY("list", &d.list, 0, 2, NULL),
        JF_END,
    };
    ck_assert_ptr_null(jf_check(obj, fields, ""));
    ck_assert_str_eq(d.name, "gpu");
    ck_assert_int_eq(d.units, 5);
    ck_assert(d.share == 0.5);
    ck_assert_str_eq(d.colour, "red");
    ck_assert(d.flag_given && !d.flag);
    ck_assert_ptr_null(d.id);
    ck_assert_int_eq((int)json_array_size(d.list), 1);
    json_decref(obj);
}
END_TEST

START_TEST(missing_required_fields_are_each_named) {
    assert_error("{}", "name", "is required");
    assert_error("{}", "units", "is required");
}
END_TEST

START_TEST(unknown_fields_are_refused) {
    assert_error("{\"name\":\"a\",\"units\":1,\"admin\":true}", "admin", "not a known field");
}
END_TEST

/* Found by fuzz_endpoints: an unknown key long enough that its error text was cut inside a
 * multi-byte character could not be encoded, and the field was silently accepted. */
START_TEST(an_unknown_field_with_a_long_multibyte_name_is_still_refused) {
    /* one ASCII byte, then 算 (3 bytes) repeated: the 255 bytes an error's field name keeps
     * end inside a character */
    char text[2048], key[1400] = "x";
    size_t n = 1;
    while (n + 3 < sizeof key - 1) {
        memcpy(key + n, "\xe7\xae\x97", 3); /* 算 */
        n += 3;
    }
    key[n] = '\0';
    snprintf(text, sizeof text, "{\"name\":\"a\",\"units\":1,\"%s\":true}", key);
    struct decoded d;
    json_t *errors = check(text, &d);
    ck_assert_msg(errors != NULL && json_array_size(errors) == 1,
                  "a long unknown key was accepted");
    const char *field = json_string_value(json_object_get(json_array_get(errors, 0), "field"));
    const char *message = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
    ck_assert_ptr_nonnull(field);
    ck_assert_ptr_nonnull(message);
    ck_assert_ptr_nonnull(strstr(message, "not a known field"));
    /* what is reported must itself be valid UTF-8, or it cannot go out as JSON */
    json_t *again = json_string(field);
    ck_assert_ptr_nonnull(again);
    json_decref(again);
    json_decref(errors);
}
END_TEST

START_TEST(types_are_strict) {
    assert_error("{\"name\":1,\"units\":1}", "name", "must be a string");
    assert_error("{\"name\":\"a\",\"units\":\"1\"}", "units", "must be an integer");
    assert_error("{\"name\":\"a\",\"units\":1.5}", "units", "must be an integer");
    assert_error("{\"name\":\"a\",\"units\":1,\"flag\":1}", "flag", "must be a boolean");
    assert_error("{\"name\":\"a\",\"units\":1,\"list\":{}}", "list", "must be an array");
    assert_error("{\"name\":\"a\",\"units\":1,\"share\":\"0.5\"}", "share", "must be a number");
}
END_TEST

START_TEST(ranges_and_lengths_are_enforced) {
    assert_error("{\"name\":\"a\",\"units\":0}", "units", "from 1 to 100");
    assert_error("{\"name\":\"a\",\"units\":101}", "units", "from 1 to 100");
    assert_error("{\"name\":\"\",\"units\":1}", "name", "characters long");
    assert_error("{\"name\":\"123456789\",\"units\":1}", "name", "characters long");
    assert_error("{\"name\":\"a\",\"units\":1,\"share\":1.01}", "share", "from 0 to 1");
    assert_error("{\"name\":\"a\",\"units\":1,\"list\":[1,2,3]}", "list", "elements");
}
END_TEST

START_TEST(formats_are_checked) {
    assert_error("{\"name\":\"a\",\"units\":1,\"colour\":\"blue\"}", "colour", "red, green");
    assert_error("{\"name\":\"a\",\"units\":1,\"when\":\"2026-01-02\"}", "when", "RFC 3339");
    assert_error("{\"name\":\"a\",\"units\":1,\"id\":\"123\"}", "id", "UUID");
}
END_TEST

START_TEST(null_means_absent) {
    struct decoded d;
    ck_assert_ptr_null(check("{\"name\":\"a\",\"units\":1,\"colour\":null}", &d));
    assert_error("{\"name\":null,\"units\":1}", "name", "is required");
}
END_TEST

START_TEST(rfc3339_parser_accepts_offsets_and_refuses_the_rest) {
    ck_assert(util_is_rfc3339("2026-11-28T08:00:00Z"));
    ck_assert(util_is_rfc3339("2026-11-28T08:00:00.123456+08:00"));
    ck_assert(util_is_rfc3339("2026-11-28t08:00:00z"));
    ck_assert(!util_is_rfc3339("2026-11-28T08:00:00"));
    ck_assert(!util_is_rfc3339("2026-11-28 08:00:00Z"));
    ck_assert(!util_is_rfc3339("2026-13-28T08:00:00Z"));
    ck_assert(!util_is_rfc3339("2026-11-28T24:00:00Z"));
    ck_assert(!util_is_rfc3339("2026-11-28T08:00:00.1234567Z"));
    ck_assert(!util_is_rfc3339("2026-11-28T08:00:00+8:00"));
    ck_assert(!util_is_rfc3339(""));
}
END_TEST

START_TEST(rfc3339_parser_refuses_impossible_dates_and_reads_the_instant) {
    int64_t us;
    ck_assert(!util_rfc3339_us("2026-02-30T08:00:00Z", &us));
    ck_assert(!util_rfc3339_us("2026-02-29T08:00:00Z", &us)); /* 2026 is no leap year */
    ck_assert(!util_rfc3339_us("2026-04-31T08:00:00Z", &us));
    ck_assert(!util_rfc3339_us("0000-01-01T00:00:00Z", &us));
    ck_assert(!util_rfc3339_us("2026-01-01T00:00:00+24:00", &us));
    /* PostgreSQL reads offsets up to ±15:59 and refuses the rest (22009, once a 500) */
    ck_assert(util_rfc3339_us("2026-01-01T00:00:00+15:59", &us));
    ck_assert(util_rfc3339_us("2026-01-01T00:00:00-15:59", &us));
    ck_assert(!util_rfc3339_us("2026-01-01T00:00:00+16:00", &us));
    ck_assert(!util_rfc3339_us("2026-01-01T00:00:00-23:59", &us));
    ck_assert(util_rfc3339_us("2028-02-29T08:00:00Z", &us));
    ck_assert(util_rfc3339_us("1970-01-01T00:00:00Z", &us) && us == 0);
    ck_assert(util_rfc3339_us("1970-01-01T08:00:00+08:00", &us) && us == 0);
    ck_assert(util_rfc3339_us("1969-12-31T19:00:00.5-05:00", &us) && us == 500000);
    ck_assert(util_rfc3339_us("1969-12-31T23:59:59.999999Z", &us) && us == -1);
    ck_assert(util_rfc3339_us("2026-11-28T08:00:00Z", &us) && us == INT64_C(1795852800000000));
}
END_TEST

START_TEST(decimal_parser_takes_plain_decimals_in_range) {
    ck_assert(util_is_decimal("0.85", 0, 1));
    ck_assert(util_is_decimal("12", 0, 100));
    ck_assert(!util_is_decimal("1e2", 0, 1000));
    ck_assert(!util_is_decimal("-1", -5, 5));
    ck_assert(!util_is_decimal("1.2.3", 0, 10));
    ck_assert(!util_is_decimal(".", 0, 10));
    ck_assert(!util_is_decimal("1.5", 0, 1));
    ck_assert(!util_is_decimal("", 0, 1));
}
END_TEST

START_TEST(uuid_parser_is_exact) {
    ck_assert(util_is_uuid("01a222b0-fcca-7e6c-8793-b52de52ddc12"));
    ck_assert(!util_is_uuid("01a222b0fcca7e6c8793b52de52ddc12"));
    ck_assert(!util_is_uuid("01a222b0-fcca-7e6c-8793-b52de52ddc1g"));
    ck_assert(!util_is_uuid("01a222b0-fcca-7e6c-8793-b52de52ddc123"));
    ck_assert(!util_is_uuid(NULL));
}
END_TEST

START_TEST(integer_parser_checks_range_and_garbage) {
    int64_t v;
    ck_assert(util_parse_int64("42", 0, 100, &v) && v == 42);
    ck_assert(!util_parse_int64("42x", 0, 100, &v));
    ck_assert(!util_parse_int64(" 42", 0, 100, &v));
    ck_assert(!util_parse_int64("101", 0, 100, &v));
    ck_assert(!util_parse_int64("99999999999999999999", 0, INT64_MAX, &v));
}
END_TEST

int main(void) {
    Suite *s = suite_create("json");
    th_case(s, valid_body_fills_every_destination, 0, NULL, NULL);
    th_case(s, missing_required_fields_are_each_named, 0, NULL, NULL);
    th_case(s, unknown_fields_are_refused, 0, NULL, NULL);
    th_case(s, an_unknown_field_with_a_long_multibyte_name_is_still_refused, 0, NULL, NULL);
    th_case(s, types_are_strict, 0, NULL, NULL);
    th_case(s, ranges_and_lengths_are_enforced, 0, NULL, NULL);
    th_case(s, formats_are_checked, 0, NULL, NULL);
    th_case(s, null_means_absent, 0, NULL, NULL);
    th_case(s, rfc3339_parser_accepts_offsets_and_refuses_the_rest, 0, NULL, NULL);
    th_case(s, rfc3339_parser_refuses_impossible_dates_and_reads_the_instant, 0, NULL, NULL);
    th_case(s, decimal_parser_takes_plain_decimals_in_range, 0, NULL, NULL);
    th_case(s, uuid_parser_is_exact, 0, NULL, NULL);
    th_case(s, integer_parser_checks_range_and_garbage, 0, NULL, NULL);
    return th_run(s);
}
