/* check_query.c — declarative query-string decoding (server/query.c), over a fake connection:
 * this file defines libmicrohttpd's two query lookups, and the linker binds server/http.o to
 * them rather than to the library's (as tests/fuzz/fuzz_endpoints.c does for headers). */
#include "harness.h"

#include "http.h"
#include "query.h"

#include <microhttpd.h>
#include <string.h>

/* ==== the connection: a query string as name/value pairs ================================== */

struct MHD_Connection {
    const char *(*pairs)[2];
};

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
                                        const char *key) {
    for (size_t i = 0; kind == MHD_GET_ARGUMENT_KIND && c->pairs[i][0] != NULL; i++)
        if (strcmp(c->pairs[i][0], key) == 0)
            return c->pairs[i][1];
    return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
                              MHD_KeyValueIterator iterator, void *iterator_cls) {
    int n = 0;
    for (size_t i = 0; kind == MHD_GET_ARGUMENT_KIND && c->pairs[i][0] != NULL; i++) {
        n++;
        if (iterator(iterator_cls, kind, c->pairs[i][0], c->pairs[i][1]) != MHD_YES)
            break;
    }
    return n;
}

/* ==== the fields under test =============================================================== */

static const char *const orders[] = {"asc", "desc", NULL};
static const char *const groups[] = {"day", "month", "year", NULL};

struct decoded {
    const char *id, *from, *limit, *share, *order, *groups, *name;
};

static bool no_spaces(const char *s) {
    return strchr(s, ' ') == NULL;
}

/* Decodes pairs (NULL-terminated) into d; returns qf_check's errors. */
static json_t *check(const char *pairs[][2], struct decoded *d) {
    struct MHD_Connection conn = {pairs};
    struct http_req r = {.conn = &conn, .url = "/test", .method = "GET"};
    const struct query_field fields[] = {
        QF_UUID("id", &d->id),
        QF_TIME("from", &d->from),
        QF_INT("limit", &d->limit, 1, 200, "50"),
        QF_DECIMAL("share", &d->share, 0, 1),
        QF_ENUM("order", &d->order, orders),
        QF_SET("group_by", &d->groups, groups),
        QF_STRING("name", &d->name, 1, 8, no_spaces, NULL),
        QF_END,
    };
    return qf_check(&r, fields);
}

static void assert_error(const char *name, const char *value, const char *message) {
    const char *pairs[][2] = {{name, value}, {NULL, NULL}};
    struct decoded d;
    json_t *errors = check(pairs, &d);
    ck_assert_msg(errors != NULL, "%s=%s was accepted", name, value);
    ck_assert_int_eq(json_array_size(errors), 1);
    json_t *e = json_array_get(errors, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "field")), name);
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")), message);
    json_decref(errors);
}

/* ==== tests =============================================================================== */

START_TEST(valid_parameters_fill_their_destinations_and_absent_ones_take_defaults) {
    const char *pairs[][2] = {{"id", "01a222b0-fcca-7e6c-8793-b52de52ddc12"},
                              {"from", "2026-02-28T08:00:00+08:00"},
                              {"share", "0.85"},
                              {"order", "desc"},
                              {"group_by", "year,day"},
                              {NULL, NULL}};
    struct decoded d;
    ck_assert_ptr_null(check(pairs, &d));
    ck_assert_str_eq(d.id, "01a222b0-fcca-7e6c-8793-b52de52ddc12");
    ck_assert_str_eq(d.from, "2026-02-28T08:00:00+08:00");
    ck_assert_str_eq(d.limit, "50");
    ck_assert_str_eq(d.share, "0.85");
    ck_assert_ptr_eq(d.order, orders[1]);
    ck_assert_str_eq(d.groups, "year,day");
    ck_assert_ptr_null(d.name);
}
END_TEST

START_TEST(an_unknown_parameter_is_refused_alone) {
    const char *pairs[][2] = {{"id", "x"}, {"colour", "red"}, {NULL, NULL}};
    struct decoded d;
    json_t *errors = check(pairs, &d);
    ck_assert_int_eq(json_array_size(errors), 1);
    json_t *e = json_array_get(errors, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "field")), "colour");
    ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "unknown parameter");
    ck_assert_ptr_null(d.id); /* every destination is set, to NULL, for a caller that goes on */
    ck_assert_ptr_null(d.limit);
    json_decref(errors);
}
END_TEST

START_TEST(each_type_refuses_what_it_should_naming_the_parameter) {
    assert_error("id", "01a222b0fcca7e6c8793b52de52ddc12", "must be a UUID");
    assert_error("from", "2026-02-30T08:00:00Z", "must be an RFC 3339 date-time with an offset");
    assert_error("from", "2026-02-28", "must be an RFC 3339 date-time with an offset");
    assert_error("limit", "0", "must be an integer from 1 to 200");
    assert_error("limit", "+5", "must be an integer from 1 to 200");
    assert_error("limit", " 5", "must be an integer from 1 to 200");
    assert_error("limit", "0x10", "must be an integer from 1 to 200");
    assert_error("share", "1e-1", "must be a decimal number from 0 to 1");
    assert_error("order", "up", "must be asc or desc");
    assert_error("group_by", "day,day",
                 "must be a comma-separated list of distinct day, month, year");
    assert_error("group_by", "day,", "must be a comma-separated list of distinct day, month, year");
    assert_error("group_by", "", "must be a comma-separated list of distinct day, month, year");
    assert_error("name", "a b", "must be 1 to 8 characters long");
    assert_error("name", "123456789", "must be 1 to 8 characters long");
    /* every value may reach SQL, whose text must be UTF-8 (invalid bytes were a 500) */
    assert_error("name", "a\xff", "must be UTF-8 text");
    assert_error("name", "\xc0\x80", "must be UTF-8 text");
    assert_error("name", "\xed\xa0\x80", "must be UTF-8 text");
    assert_error("name", "a\xe4\xb8", "must be UTF-8 text");
}
END_TEST

START_TEST(every_bad_parameter_is_listed_in_declaration_order) {
    const char *pairs[][2] = {{"order", "up"}, {"id", "x"}, {"limit", "x"}, {NULL, NULL}};
    struct decoded d;
    json_t *errors = check(pairs, &d);
    ck_assert_int_eq(json_array_size(errors), 3);
    const char *names[] = {"id", "limit", "order"};
    for (size_t i = 0; i < 3; i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, i), "field")),
                         names[i]);
    ck_assert_ptr_null(d.id);
    json_decref(errors);
}
END_TEST

START_TEST(decode_replies_invalid_query_naming_the_first_error) {
    const char *pairs[][2] = {{"limit", "500"}, {NULL, NULL}};
    struct MHD_Connection conn = {pairs};
    struct http_req r = {.conn = &conn, .url = "/test", .method = "GET"};
    const char *limit;
    const struct query_field fields[] = {QF_INT("limit", &limit, 1, 200, "50"), QF_END};
    ck_assert(!qf_decode(&r, fields));
    ck_assert_uint_eq(r.status, 400);
    json_t *body = json_loadb(r.resp_body, r.resp_len, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(body, "type")), "/problems/invalid-query");
    ck_assert_str_eq(json_string_value(json_object_get(body, "detail")),
                     "limit must be an integer from 1 to 200");
    json_decref(body);
    http_req_release(&r);
    /* no fields: any parameter is unknown */
    ck_assert(!qf_decode(&r, NULL));
    ck_assert_uint_eq(r.status, 400);
    http_req_release(&r);
}
END_TEST

START_TEST(what_a_request_owns_is_freed_with_it) {
    struct http_req r = {.url = "/test", .method = "GET"};
    for (int i = 0; i < 100; i++) /* LeakSanitizer proves each is freed */
        ck_assert_ptr_nonnull(http_req_own_str(&r, strdup("owned")));
    ck_assert_ptr_null(http_req_own_str(&r, NULL));
    http_req_release(&r);
    ck_assert_uint_eq(r.nowned, 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("query");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, valid_parameters_fill_their_destinations_and_absent_ones_take_defaults);
    tcase_add_test(tc, an_unknown_parameter_is_refused_alone);
    tcase_add_test(tc, each_type_refuses_what_it_should_naming_the_parameter);
    tcase_add_test(tc, every_bad_parameter_is_listed_in_declaration_order);
    tcase_add_test(tc, decode_replies_invalid_query_naming_the_first_error);
    tcase_add_test(tc, what_a_request_owns_is_freed_with_it);
    suite_add_tcase(s, tc);
    return th_run(s);
}
