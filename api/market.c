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

bool market_one_of(const char *s, const char *const *choices) {
    for (const char *const *c = choices; *c; c++)
        if (strcmp(*c, s) == 0)
            return true;
    return false;
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
