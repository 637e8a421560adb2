/* market.c — helpers shared by the marketplace handlers. */
#include "market.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const market_regions[] = {"jing-jin-ji", "yangtze-delta",  "greater-bay",
                                      "cheng-yu",    "inner-mongolia", "guizhou",
                                      "gansu",       "ningxia",        NULL};
const char *const market_classes[] = {"gpu", "npu", "cpu", NULL};

static int num(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool market_time_parse(const char *s, int64_t *us) {
    if (!util_is_rfc3339(s))
        return false;
    int year = num(s, 4), mon = num(s + 5, 2), day = num(s + 8, 2);
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1 || day > mdays[mon - 1] + (mon == 2 && leap))
        return false;
    int64_t secs = days_from_civil(year, mon, day) * 86400 + num(s + 11, 2) * 3600 +
                   num(s + 14, 2) * 60 + num(s + 17, 2);
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            frac = frac * 10 + (*p - '0');
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (*p == '+' || *p == '-') {
        int64_t off = num(p + 1, 2) * 3600 + num(p + 4, 2) * 60;
        secs -= *p == '+' ? off : -off;
    }
    *us = secs * 1000000 + frac;
    return true;
}

bool market_one_of(const char *s, const char *const *choices) {
    for (const char *const *c = choices; *c; c++)
        if (strcmp(*c, s) == 0)
            return true;
    return false;
}

bool market_decimal(const char *s, double min, double max) {
    size_t n = strlen(s), digits = 0, dots = 0;
    if (n == 0 || n > 24)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] == '.')
            dots++;
        else
            return false;
    }
    if (digits == 0 || dots > 1)
        return false;
    double v = strtod(s, NULL);
    return v >= min && v <= max;
}

bool market_accelerator_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && strchr(" ._+-", s[i]) == NULL)
            return false;
    return true;
}

void market_error(json_t *errors, const char *field, const char *message) {
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

bool market_errors_ok(struct http_req *r, enum problem p, json_t *errors) {
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    json_t *first = json_array_get(errors, 0);
    http_problem_errors(r, p, errors, "%s %s", json_string_value(json_object_get(first, "field")),
                        json_string_value(json_object_get(first, "message")));
    return false;
}

bool market_time_field(json_t *errors, const char *field, const char *value, int64_t *us) {
    if (market_time_parse(value, us))
        return true;
    market_error(errors, field, "must be a real date and time, e.g. 2026-01-31T08:00:00Z");
    return false;
}
