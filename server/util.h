/* util.h — small helpers shared by every module: ids, hex, time, strings. */
#ifndef SUANLI_UTIL_H
#define SUANLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* True when s is a canonical lower- or upper-case 8-4-4-4-12 UUID. */
bool util_is_uuid(const char *s);

/* Writes 2*len lowercase hex characters and a NUL into out. */
void util_hex(const unsigned char *in, size_t len, char *out);

/* Fills out with n random bytes rendered as 2n hex characters plus NUL. */
void util_random_hex(char *out, size_t n);

/* Parses an RFC 3339 date-time with an explicit offset ("Z" or +hh:mm) into microseconds
 * since the epoch (us may be NULL); false when it is not one or names an impossible date or
 * time such as 2026-02-30 or 24:00. The program's only date-time parser. */
bool util_rfc3339_us(const char *s, int64_t *us);

/* util_rfc3339_us without the value. */
bool util_is_rfc3339(const char *s);

/* True when s is a plain decimal ("12", "0.85") whose value lies in [min, max]. Exponents,
 * signs, hex, inf and nan are refused, so that PostgreSQL's numeric reads exactly the same. */
bool util_is_decimal(const char *s, double min, double max);

/* Current time in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t util_now_ms(void);

/* Monotonic clock in microseconds, for durations. */
int64_t util_mono_us(void);

/* Formats the current UTC time as RFC 3339 with milliseconds into out (>= 32 bytes). */
void util_now_rfc3339(char *out, size_t outlen);

/* malloc'd copy of the file at path, NUL-terminated; NULL on error (errno set). */
char *util_read_file(const char *path, size_t *len_out);

/* Writes data to path atomically (temporary file + rename) with the given mode. */
int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* out = dir + suffix; false (and out empty) when it does not fit. */
bool util_path(char *out, size_t outlen, const char *dir, const char *suffix);

/* mkdir -p with mode for created directories. */
int util_mkdir_p(const char *path, unsigned mode);

/* strtoll over the whole string with range check; false if not an integer in [min, max]. */
bool util_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Length of the well-formed UTF-8 sequence at s (n bytes available; RFC 3629: no overlong
 * forms, surrogates or code points past U+10FFFF), or 0 when there is none. */
size_t util_utf8_len(const unsigned char *s, size_t n);

/* True when all of s is well-formed UTF-8 (util_utf8_len). */
bool util_is_utf8(const char *s);

/* Replaces, in place, every byte of s that is not part of well-formed UTF-8 by '?': text taken
 * from a request, or cut short by snprintf, can then go into a JSON string (jansson refuses
 * invalid UTF-8, and json_pack then returns NULL). */
void util_utf8_scrub(char *s);

#endif
