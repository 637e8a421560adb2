/* market.h — helpers shared by the marketplace handlers (offers.c, orders.c, match.c,
 * plans.c). */
#ifndef SUANLI_MARKET_H
#define SUANLI_MARKET_H

#include "api.h"

#include <stdbool.h>
#include <stdint.h>

/* The eight hub regions (the same codes the marketplace schema seeds) and the resource
 * classes, NULL-terminated, for JF_ENUM fields and query checks. */
extern const char *const market_regions[];
extern const char *const market_classes[];

/* The JSON fields of an order but its vouchers (POST /v1/orders, each leg of a plan or a
 * quote), for a struct jf_field list. */
#define MARKET_ORDER_FIELDS(offer, units, start, end)                                              \
    JF_REQ_UUID("offer_id", offer), JF_REQ_INT("units", units, 1, 1000000),                        \
        JF_REQ_TIME("start", start), JF_REQ_TIME("end", end)

/* True when s is one of the NULL-terminated choices. */
bool market_one_of(const char *s, const char *const *choices);

/* Accelerator names: 1 to 64 of letters, digits and " ._+-", starting with a letter or digit. */
bool market_accelerator_ok(const char *s);

/* Decodes an offer-search ?cursor= for the sort key (NULL = by id) into the sort value and
 * the offer id; false when it is not one this server wrote (api/offers.c). */
bool market_cursor_decode(const char *cursor, const char *sort, char value[64], char id[37]);

#endif
