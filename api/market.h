/* market.h — helpers shared by the marketplace handlers (offers.c, orders.c, match.c). */
#ifndef SUANLI_MARKET_H
#define SUANLI_MARKET_H

#include "api.h"

#include <stdbool.h>
#include <stdint.h>

/* The eight hub regions (the same codes sql/002_marketplace.sql seeds) and the resource
 * classes, NULL-terminated, for JF_ENUM fields and query checks. */
extern const char *const market_regions[];
extern const char *const market_classes[];

/* Parses an RFC 3339 date-time into microseconds since the epoch; false when it is not one,
 * or names an impossible date such as 2026-02-30. */
bool market_time_parse(const char *s, int64_t *us);

/* True when s is one of the NULL-terminated choices. */
bool market_one_of(const char *s, const char *const *choices);

/* True when s is a plain decimal ("12", "0.85") whose value lies in [min, max]. Exponents,
 * signs, hex, inf and nan are refused, so that PostgreSQL's numeric reads exactly the same. */
bool market_decimal(const char *s, double min, double max);

/* Accelerator names: 1 to 64 of letters, digits and " ._+-", starting with a letter or digit. */
bool market_accelerator_ok(const char *s);

/* Appends {field, message} to errors. */
void market_error(json_t *errors, const char *field, const char *message);

/* Replies 400 with problem p listing errors (stolen) when it is not empty and returns false;
 * frees it and returns true when it is empty. */
bool market_errors_ok(struct http_req *r, enum problem p, json_t *errors);

/* Checks a time field that JF_TIME already accepted as RFC 3339 (so it is a real date); adds
 * an error and returns false if not. */
/* Decodes an offer-search ?cursor= for the sort key (NULL = by id) into the sort value and
 * the offer id; false when it is not one this server wrote (api/offers.c). */
bool market_cursor_decode(const char *cursor, const char *sort, char value[64], char id[37]);

bool market_time_field(json_t *errors, const char *field, const char *value, int64_t *us);

#endif
