/* check_match.c — POST /v1/match against a real suanlid and PostgreSQL: ranked plans with
 * costs and reasons, every constraint, free units computed against existing orders, the
 * earliest window for a duration, split plans, the alternative rankings, an empty answer that
 * counts what each constraint excluded, and a 400 naming every bad field. Each test posts
 * offers under its own accelerator name so that tests do not see each other's offers. */
#include "world.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct world w;

static void up(void) {
    world_setup(&w, "match", 0);
}

static int down(void) {
    return world_teardown(&w);
}

static struct th_resp match(const char *body) {
    return th_req(&w.srv, "POST", "/v1/match", &w.inst, body, NULL);
}

/* The index (0-based) in ids of the offer of plan i's leg k; -1 if none of them. */
static int leg_offer(const struct th_resp *r, int i, int k, char **ids, int n) {
    char path[64];
    snprintf(path, sizeof path, "items.%d.legs.%d.offer_id", i, k);
    const char *id = th_str(r, path);
    for (int j = 0; id && j < n; j++)
        if (strcmp(ids[j], id) == 0)
            return j;
    return -1;
}

/* The single-offer plans as a string of letters (offer index + 'A'), in rank order. */
static void expect_plans(const char *body, char **ids, int n, const char *letters) {
    struct th_resp r = match(body);
    th_assert_status(&r, 200);
    char got[64] = "";
    size_t count = json_array_size(json_object_get(r.json, "items"));
    for (size_t i = 0; i < count && i < 60; i++) {
        int k = leg_offer(&r, (int)i, 0, ids, n);
        got[strlen(got)] = k < 0 ? '?' : (char)('A' + k);
    }
    ck_assert_msg(strcmp(got, letters) == 0, "%s: expected %s, got %s (%s)", body, letters, got,
                  r.body);
    th_resp_free(&r);
}

static void free_ids(char **ids, int n) {
    for (int i = 0; i < n; i++)
        free(ids[i]);
}

START_TEST(plans_are_ranked_by_net_cost_with_their_costs_and_reasons) {
    char *ids[3] = {
        world_offer(&w, &w.prov, "{\"accelerator\":\"M-RANK\",\"price_fen_per_unit_hour\":3000}"),
        world_offer(&w, &w.prov, "{\"accelerator\":\"M-RANK\",\"price_fen_per_unit_hour\":1000}"),
        world_offer(&w, &w.prov2, "{\"accelerator\":\"M-RANK\",\"price_fen_per_unit_hour\":2000}"),
    };
    const char *demand = "{\"resource_class\":\"gpu\",\"accelerator\":\"M-RANK\",\"units\":4,"
                         "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T02:30:00Z\"}";
    struct th_resp r = match(demand);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
    ck_assert_int_eq(leg_offer(&r, 0, 0, ids, 3), 1);
    ck_assert_int_eq(leg_offer(&r, 1, 0, ids, 3), 2);
    ck_assert_int_eq(leg_offer(&r, 2, 0, ids, 3), 0);
    /* 4 units x 3 started hours x 1000 fen */
    ck_assert_int_eq(th_int(&r, "items.0.gross_fen"), 12000);
    ck_assert_int_eq(th_int(&r, "items.0.subsidy_fen"), 0);
    ck_assert_int_eq(th_int(&r, "items.0.net_fen"), 12000);
    ck_assert_int_eq(th_int(&r, "items.0.legs.0.units"), 4);
    ck_assert_int_eq(th_int(&r, "items.0.legs.0.free_units"), 10);
    ck_assert_int_eq(th_int(&r, "items.0.legs.0.gross_fen"), 12000);
    ck_assert_str_eq(th_str(&r, "items.0.legs.0.start"), "2030-01-01T00:00:00.000Z");
    ck_assert_str_eq(th_str(&r, "items.0.legs.0.end"), "2030-01-01T02:30:00.000Z");
    ck_assert_int_eq(th_int(&r, "items.0.rank"), 1);
    ck_assert_int_eq(th_int(&r, "items.2.rank"), 3);
    ck_assert(json_is_false(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "split")));
    ck_assert_ptr_nonnull(strstr(th_str(&r, "items.0.reasons.0"), "rank 1 of 3"));
    ck_assert_ptr_nonnull(strstr(th_str(&r, "items.0.reasons.1"), "12000"));
    th_resp_free(&r);
    /* limit */
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-RANK\",\"units\":4,\"limit\":2,"
              "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T02:30:00Z\"}");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    th_resp_free(&r);
    free_ids(ids, 3);
}
END_TEST

START_TEST(every_constraint_of_the_demand_is_honoured) {
    char *ids[5] = {
        /* A */ world_offer(&w, &w.prov,
                            "{\"accelerator\":\"M-CONS\",\"region\":\"guizhou\","
                            "\"price_fen_per_unit_hour\":1000,\"green_share\":0.9,"
                            "\"pue\":1.1,\"fp16_tflops_per_unit\":300}"),
        /* B */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-CONS\",\"region\":\"jing-jin-ji\","
                    "\"price_fen_per_unit_hour\":1100,\"green_share\":0.3,"
                    "\"pue\":1.5,\"fp16_tflops_per_unit\":900}"),
        /* C */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-CONS\",\"region\":\"gansu\","
                    "\"price_fen_per_unit_hour\":1200,\"green_share\":0.7,"
                    "\"pue\":1.3,\"fp16_tflops_per_unit\":600}"),
        /* D */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-CONS\",\"region\":\"greater-bay\","
                    "\"price_fen_per_unit_hour\":1300,\"green_share\":0.5,"
                    "\"pue\":1.2,\"units\":3}"),
        /* E */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-CONS\",\"resource_class\":\"npu\","
                    "\"price_fen_per_unit_hour\":500}"),
    };
    char body[512];
#define DEMAND(extra)                                                                              \
    (snprintf(body, sizeof body,                                                                   \
              "{\"resource_class\":\"gpu\",\"accelerator\":\"M-CONS\",\"units\":4,"                \
              "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T01:00:00Z\"%s}",            \
              extra),                                                                              \
     body)
    expect_plans(DEMAND(""), ids, 5, "ABC"); /* D has 3 units, E is an npu */
    expect_plans(DEMAND(",\"min_tflops\":600"), ids, 5, "BC");
    expect_plans(DEMAND(",\"regions\":[\"gansu\",\"jing-jin-ji\"]"), ids, 5, "BC");
    expect_plans(DEMAND(",\"zone\":\"west\""), ids, 5, "AC");
    expect_plans(DEMAND(",\"max_price_fen\":1100"), ids, 5, "AB");
    expect_plans(DEMAND(",\"min_green_share\":0.7"), ids, 5, "AC");
    expect_plans(DEMAND(",\"max_pue\":1.3"), ids, 5, "AC");
    expect_plans(DEMAND(",\"zone\":\"west\",\"min_tflops\":400,\"max_pue\":1.3"), ids, 5, "C");
    expect_plans("{\"resource_class\":\"gpu\",\"accelerator\":\"M-CONS\",\"units\":3,"
                 "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T01:00:00Z\"}",
                 ids, 5, "ABCD");
    expect_plans("{\"resource_class\":\"npu\",\"accelerator\":\"M-CONS\",\"units\":3,"
                 "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T01:00:00Z\"}",
                 ids, 5, "E");
#undef DEMAND
    free_ids(ids, 5);
}
END_TEST

START_TEST(free_units_are_counted_against_existing_orders) {
    char *ids[1] = {world_offer(&w, &w.prov, "{\"accelerator\":\"M-FREE\"}")};
    struct th_resp r = world_order_post(&w, NULL, &w.inst2, ids[0], 7, "2030-03-01T00:00:00Z",
                                        "2030-03-01T10:00:00Z", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    const char *four = "{\"resource_class\":\"gpu\",\"accelerator\":\"M-FREE\",\"units\":4,"
                       "\"start\":\"2030-03-01T05:00:00Z\",\"end\":\"2030-03-01T06:00:00Z\"}";
    r = match(four);
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    ck_assert_int_eq(th_int(&r, "excluded.capacity"), 1);
    th_resp_free(&r);
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-FREE\",\"units\":3,"
              "\"start\":\"2030-03-01T05:00:00Z\",\"end\":\"2030-03-01T06:00:00Z\"}");
    ck_assert_int_eq(th_int(&r, "items.0.legs.0.free_units"), 3);
    th_resp_free(&r);
    free_ids(ids, 1);
}
END_TEST

START_TEST(a_duration_gets_the_earliest_window_with_room) {
    char *ids[1] = {world_offer(&w, &w.prov, "{\"accelerator\":\"M-DUR\"}")};
    struct th_resp r = world_order_post(&w, NULL, &w.inst2, ids[0], 8, "2030-04-01T00:00:00Z",
                                        "2030-04-01T05:00:00Z", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    r = world_order_post(&w, NULL, &w.inst2, ids[0], 5, "2030-04-01T06:00:00Z",
                         "2030-04-01T07:00:00Z", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    /* 6 units for 2 hours: not before 05:00 (8 held), not 05:00-07:00 (5 held at 06:00) */
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-DUR\",\"units\":6,"
              "\"duration_hours\":2,\"earliest_start\":\"2030-04-01T00:00:00Z\","
              "\"latest_end\":\"2030-04-02T00:00:00Z\"}");
    th_assert_status(&r, 200);
    ck_assert_str_eq(th_str(&r, "items.0.start"), "2030-04-01T07:00:00.000Z");
    ck_assert_str_eq(th_str(&r, "items.0.end"), "2030-04-01T09:00:00.000Z");
    ck_assert_int_eq(th_int(&r, "items.0.gross_fen"), 6 * 2 * 2000);
    th_resp_free(&r);
    /* 2 units fit at once */
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-DUR\",\"units\":2,"
              "\"duration_hours\":2,\"earliest_start\":\"2030-04-01T00:00:00Z\","
              "\"latest_end\":\"2030-04-02T00:00:00Z\"}");
    ck_assert_str_eq(th_str(&r, "items.0.start"), "2030-04-01T00:00:00.000Z");
    th_resp_free(&r);
    /* a latest end that leaves no room: nothing, and capacity is the reason */
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-DUR\",\"units\":6,"
              "\"duration_hours\":2,\"earliest_start\":\"2030-04-01T00:00:00Z\","
              "\"latest_end\":\"2030-04-01T08:00:00Z\"}");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    ck_assert_int_eq(th_int(&r, "excluded.capacity"), 1);
    th_resp_free(&r);
    free_ids(ids, 1);
}
END_TEST

START_TEST(allow_split_covers_a_demand_with_several_offers) {
    char *ids[3] = {
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-SPLIT\",\"units\":4,\"price_fen_per_unit_hour\":1000}"),
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-SPLIT\",\"units\":4,\"price_fen_per_unit_hour\":1500}"),
        world_offer(&w, &w.prov2,
                    "{\"accelerator\":\"M-SPLIT\",\"units\":4,\"price_fen_per_unit_hour\":1200}"),
    };
    struct th_resp r =
        match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-SPLIT\",\"units\":10,"
              "\"start\":\"2030-05-01T00:00:00Z\",\"end\":\"2030-05-01T01:00:00Z\"}");
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    ck_assert_int_ge(th_int(&r, "excluded.units"), 3);
    th_resp_free(&r);
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-SPLIT\",\"units\":10,"
              "\"allow_split\":true,"
              "\"start\":\"2030-05-01T00:00:00Z\",\"end\":\"2030-05-01T01:00:00Z\"}");
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    ck_assert(json_is_true(
        json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "split")));
    /* cheapest first: 4 at 1000, 4 at 1200, 2 at 1500 */
    ck_assert_int_eq(leg_offer(&r, 0, 0, ids, 3), 0);
    ck_assert_int_eq(leg_offer(&r, 0, 1, ids, 3), 2);
    ck_assert_int_eq(leg_offer(&r, 0, 2, ids, 3), 1);
    ck_assert_int_eq(th_int(&r, "items.0.legs.2.units"), 2);
    ck_assert_int_eq(th_int(&r, "items.0.units"), 10);
    ck_assert_int_eq(th_int(&r, "items.0.gross_fen"), 4 * 1000 + 4 * 1200 + 2 * 1500);
    ck_assert_int_eq(th_int(&r, "items.0.net_fen"), 4 * 1000 + 4 * 1200 + 2 * 1500);
    ck_assert_ptr_nonnull(strstr(th_str(&r, "items.0.reasons.2"), "split over 3 offers"));
    th_resp_free(&r);
    /* an order on the cheapest shifts the split to the others */
    r = world_order_post(&w, NULL, &w.inst2, ids[0], 3, "2030-05-01T00:00:00Z",
                         "2030-05-01T01:00:00Z", NULL);
    th_assert_status(&r, 201);
    th_resp_free(&r);
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-SPLIT\",\"units\":9,"
              "\"allow_split\":true,"
              "\"start\":\"2030-05-01T00:00:00Z\",\"end\":\"2030-05-01T01:00:00Z\"}");
    ck_assert_int_eq(th_int(&r, "items.0.legs.0.units"), 1);
    ck_assert_int_eq(th_int(&r, "items.0.units"), 9);
    th_resp_free(&r);
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-SPLIT\",\"units\":10,"
              "\"allow_split\":true,"
              "\"start\":\"2030-05-01T00:00:00Z\",\"end\":\"2030-05-01T01:00:00Z\"}");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    th_resp_free(&r);
    free_ids(ids, 3);
}
END_TEST

START_TEST(alternative_rankings_reorder_the_plans) {
    char *ids[3] = {
        /* A: cheap, grey, slow, late */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-SORT\",\"price_fen_per_unit_hour\":1000,"
                    "\"green_share\":0.2,\"fp16_tflops_per_unit\":100,"
                    "\"available_from\":\"2030-06-03T00:00:00Z\"}"),
        /* B: dear, green, early */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-SORT\",\"price_fen_per_unit_hour\":3000,"
                    "\"green_share\":0.95,\"fp16_tflops_per_unit\":600}"),
        /* C: middle, fastest per fen */
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-SORT\",\"price_fen_per_unit_hour\":2000,"
                    "\"green_share\":0.6,\"fp16_tflops_per_unit\":900,"
                    "\"available_from\":\"2030-06-02T00:00:00Z\"}"),
    };
    char body[400];
    const char *sorts[] = {"net_cost", "green_share", "tflops_per_fen", "earliest_start"};
    const char *want[] = {"ACB", "BCA", "CBA", "BCA"};
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof body,
                 "{\"resource_class\":\"gpu\",\"accelerator\":\"M-SORT\",\"units\":2,"
                 "\"duration_hours\":3,\"earliest_start\":\"2030-06-01T00:00:00Z\","
                 "\"latest_end\":\"2030-06-10T00:00:00Z\",\"sort\":\"%s\"}",
                 sorts[i]);
        expect_plans(body, ids, 3, want[i]);
    }
    free_ids(ids, 3);
}
END_TEST

START_TEST(no_plan_is_200_with_what_each_constraint_excluded) {
    char *ids[2] = {
        world_offer(&w, &w.prov, "{\"accelerator\":\"M-NONE\",\"region\":\"guizhou\",\"pue\":1.4}"),
        world_offer(&w, &w.prov,
                    "{\"accelerator\":\"M-NONE\",\"region\":\"cheng-yu\",\"green_share\":0.2}"),
    };
    struct th_resp r =
        match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-NONE\",\"units\":1,"
              "\"zone\":\"west\",\"max_pue\":1.3,\"min_green_share\":0.5,"
              "\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T01:00:00Z\"}");
    th_assert_status(&r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    long long active = th_int(&r, "excluded.active_offers");
    ck_assert_int_ge(active, 2);
    /* every active offer not called M-NONE is excluded by the accelerator */
    ck_assert_int_eq(th_int(&r, "excluded.accelerator"), active - 2);
    ck_assert_int_ge(th_int(&r, "excluded.zone"), 1);
    ck_assert_int_ge(th_int(&r, "excluded.max_pue"), 1);
    ck_assert_int_ge(th_int(&r, "excluded.min_green_share"), 1);
    ck_assert_int_eq(th_int(&r, "excluded.capacity"), 0);
    th_resp_free(&r);
    r = match("{\"resource_class\":\"gpu\",\"accelerator\":\"M-NONE\",\"units\":1,"
              "\"start\":\"2035-01-01T00:00:00Z\",\"end\":\"2035-01-01T01:00:00Z\"}");
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    ck_assert_int_ge(th_int(&r, "excluded.window"), 2);
    th_resp_free(&r);
    free_ids(ids, 2);
}
END_TEST

START_TEST(every_bad_demand_field_is_a_400_naming_it) {
    const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":\"2030-01-01T01:00:00Z\"}",
         "resource_class"},
        {"{\"resource_class\":\"tpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\"}",
         "resource_class"},
        {"{\"resource_class\":\"gpu\",\"units\":0,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\"}",
         "units"},
        {"{\"resource_class\":\"gpu\",\"units\":1}", "duration_hours"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\"}", "end"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T01:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\"}",
         "end"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"duration_hours\":1}",
         "start"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"duration_hours\":1,\"earliest_start\":\"2030-"
         "01-01T00:00:00Z\"}",
         "latest_end"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"duration_hours\":5,\"earliest_start\":\"2030-"
         "01-01T00:00:00Z\",\"latest_end\":\"2030-01-01T04:00:00Z\"}",
         "latest_end"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"duration_hours\":0,\"earliest_start\":\"2030-"
         "01-01T00:00:00Z\",\"latest_end\":\"2030-01-02T00:00:00Z\"}",
         "duration_hours"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-02-30T00:00:00Z\",\"end\":"
         "\"2030-03-01T01:00:00Z\"}",
         "start"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"regions\":[\"mars\"]}",
         "regions[0]"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"regions\":[]}",
         "regions"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"zone\":\"north\"}",
         "zone"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"max_price_fen\":0}",
         "max_price_fen"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"min_green_share\":2}",
         "min_green_share"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"max_pue\":0.5}",
         "max_pue"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"min_tflops\":-1}",
         "min_tflops"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"accelerator\":\"<b>\"}",
         "accelerator"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"voucher_ids\":[\"x\"]}",
         "voucher_ids[0]"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"allow_split\":\"yes\"}",
         "allow_split"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"sort\":\"cheapest\"}",
         "sort"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"limit\":51}",
         "limit"},
        {"{\"resource_class\":\"gpu\",\"units\":1,\"start\":\"2030-01-01T00:00:00Z\",\"end\":"
         "\"2030-01-01T01:00:00Z\",\"budget\":5}",
         "budget"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct th_resp r = match(cases[i].body);
        th_assert_problem(&r, 400, "validation-failed");
        ck_assert_msg(th_str(&r, "errors.0.field") &&
                          strcmp(th_str(&r, "errors.0.field"), cases[i].field) == 0,
                      "%s: expected the error to name %s: %s", cases[i].body, cases[i].field,
                      r.body);
        th_resp_free(&r);
    }
    struct th_resp r = th_req(&w.srv, "POST", "/v1/match", NULL, "{}", NULL);
    th_assert_problem(&r, 401, "unauthenticated");
    th_resp_free(&r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("match");
    th_shared(up, down);
    th_case(s, plans_are_ranked_by_net_cost_with_their_costs_and_reasons, 120, NULL, NULL);
    th_case(s, every_constraint_of_the_demand_is_honoured, 120, NULL, NULL);
    th_case(s, free_units_are_counted_against_existing_orders, 120, NULL, NULL);
    th_case(s, a_duration_gets_the_earliest_window_with_room, 120, NULL, NULL);
    th_case(s, allow_split_covers_a_demand_with_several_offers, 120, NULL, NULL);
    th_case(s, alternative_rankings_reorder_the_plans, 120, NULL, NULL);
    th_case(s, no_plan_is_200_with_what_each_constraint_excluded, 120, NULL, NULL);
    th_case(s, every_bad_demand_field_is_a_400_naming_it, 120, NULL, NULL);
    return th_run(s);
}
