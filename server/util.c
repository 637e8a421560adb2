/* util.c — small helpers shared by every module. */
#include "util.h"

#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool util_is_uuid(const char *s) {
    if (s == NULL || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

void util_hex(const unsigned char *in, size_t len, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

void util_random_hex(char *out, size_t n) {
    unsigned char buf[64];
    if (n > sizeof buf)
        n = sizeof buf;
    randombytes_buf(buf, n);
    util_hex(buf, n, out);
}

static bool digits_at(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
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

static int num_at(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* The one RFC 3339 parser of the program. Strict enough to refuse anything Postgres would read
 * ambiguously or normalise: the date and time are mandatory, the date is a real one (no
 * 2026-02-30, no year 0), the hour is below 24, the offset is explicit and within ±15:59 (the
 * range PostgreSQL accepts; beyond it refuses the value), fractions have at most 6 digits. A
 * leap second (:60) is accepted, as PostgreSQL does. The instant, in UTC, lies in years
 * 1..9999. */
bool util_rfc3339_us(const char *s, int64_t *us) {
    if (s == NULL || strlen(s) < 20 || strlen(s) > 35)
        return false;
    if (!digits_at(s, 4) || s[4] != '-' || !digits_at(s + 5, 2) || s[7] != '-' ||
        !digits_at(s + 8, 2) || (s[10] != 'T' && s[10] != 't') || !digits_at(s + 11, 2) ||
        s[13] != ':' || !digits_at(s + 14, 2) || s[16] != ':' || !digits_at(s + 17, 2))
        return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = num_at(s, 4), mon = num_at(s + 5, 2), day = num_at(s + 8, 2);
    int hh = num_at(s + 11, 2), mm = num_at(s + 14, 2), ss = num_at(s + 17, 2);
    if (year < 1 || mon < 1 || mon > 12 || hh > 23 || mm > 59 || ss > 60)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > mdays[mon - 1] + (mon == 2 && leap))
        return false;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++)
            frac = frac * 10 + (*p - '0');
        if (n == 0 || n > 6)
            return false;
        for (; n < 6; n++)
            frac *= 10;
    }
    int64_t offset = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && digits_at(p + 1, 2) && p[3] == ':' &&
               digits_at(p + 4, 2) && p[6] == '\0' && num_at(p + 1, 2) <= 15 &&
               num_at(p + 4, 2) <= 59) {
        offset = (num_at(p + 1, 2) * 3600 + num_at(p + 4, 2) * 60) * (*p == '+' ? 1 : -1);
    } else {
        return false;
    }
    int64_t secs = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss - offset;
    /* the instant itself lies within years 1..9999 in UTC: 9999-12-31T23:59:59-15:59 would be
     * stored and shown as year 10000, which RFC 3339 cannot write */
    if (secs < -62135596800LL || secs > 253402300799LL)
        return false;
    if (us != NULL)
        *us = secs * 1000000 + frac;
    return true;
}

bool util_is_rfc3339(const char *s) {
    return util_rfc3339_us(s, NULL);
}

bool util_is_decimal(const char *s, double min, double max) {
    size_t n = strlen(s), dots = 0;
    if (n == 0 || n > 24)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.')
            dots++;
        else if (!isdigit((unsigned char)s[i]))
            return false;
    if (n == dots || dots > 1)
        return false;
    double v = strtod(s, NULL);
    return v >= min && v <= max;
}

int64_t util_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void util_now_rfc3339(char *out, size_t outlen) {
    int64_t ms = util_now_ms();
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", base, (int)(ms % 1000));
}

char *util_read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct buf b = {0};
    int rc = buf_read_stream(&b, f);
    int err = errno;
    fclose(f);
    if (rc != 0) {
        buf_free(&b);
        errno = err;
        return NULL;
    }
    if (len_out)
        *len_out = b.len;
    return b.p;
}

int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

bool util_path(char *out, size_t outlen, const char *dir, const char *suffix) {
    int n = snprintf(out, outlen, "%s%s", dir, suffix);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return false;
    }
    return true;
}

int util_mkdir_p(const char *path, unsigned mode) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

bool util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) {
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

size_t util_utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

bool util_is_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = util_utf8_len(p, left);
        if (n == 0)
            return false;
        p += n;
        left -= n;
    }
    return true;
}

void util_utf8_scrub(char *s) {
    unsigned char *p = (unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0) {
        size_t n = util_utf8_len(p, left);
        if (n == 0) {
            *p = '?';
            n = 1;
        }
        p += n;
        left -= n;
    }
}
