/* SPDX-License-Identifier: Apache-2.0
 *
 * timefmt.c: RFC 3339 and duration parsing and formatting. See timefmt.h.
 *
 * Calendar arithmetic uses the well-known days-from-civil algorithm on the
 * proleptic Gregorian calendar, so no libc time zone state is involved.
 */
#include "core/timefmt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Read exactly n digits. */
static bool digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

enum ab_rc time_parse_rfc3339(const char *s, int64_t *ms)
{
    const char *p = s;
    unsigned y, mo, d, h, mi, sec, frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return AB_EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return AB_EINVAL;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return AB_EINVAL;
    if (*p == '.') {
        p++;
        int n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n < 3)
                frac = frac * 10 + (unsigned)(*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return AB_EINVAL;
        for (; n < 3; n++)
            frac *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        unsigned oh, om;
        p++;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return AB_EINVAL;
        offset_min = sign * (int)(oh * 60 + om);
    } else {
        return AB_EINVAL;
    }
    if (*p != '\0')
        return AB_EINVAL;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 59)
        return AB_EINVAL;
    int64_t days = time_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *ms = secs * 1000 + frac;
    return AB_OK;
}

size_t time_format_rfc3339(int64_t ms, char out[TIME_RFC3339_MAX])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t rem = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int n;
    if (rem)
        n = snprintf(out, TIME_RFC3339_MAX, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y,
                     m, d, (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                     (unsigned)rem);
    else
        n = snprintf(out, TIME_RFC3339_MAX, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
                     (unsigned)(sod / 3600), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    return n < 0 ? 0 : (size_t)n;
}

/* Read an unsigned integer of at most 9 digits, and an optional fraction when
 * allow_frac; returns value in thousandths. */
static bool number(const char **p, bool allow_frac, int64_t *milli)
{
    int64_t v = 0;
    int n = 0;
    while (**p >= '0' && **p <= '9') {
        if (++n > 9)
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    if (n == 0)
        return false;
    v *= 1000;
    if (allow_frac && (**p == '.' || **p == ',')) {
        (*p)++;
        int f = 0;
        int64_t scale = 100;
        while (**p >= '0' && **p <= '9') {
            if (++f > 9)
                return false;
            v += (**p - '0') * scale;
            scale /= 10;
            (*p)++;
        }
        if (f == 0)
            return false;
    }
    *milli = v;
    return true;
}

enum ab_rc duration_parse_iso8601(const char *s, int64_t *ms)
{
    const char *p = s;
    if (*p++ != 'P')
        return AB_EINVAL;
    int64_t total = 0;
    bool any = false, in_time = false;
    int last = 0; /* order of designators: W=1 D=2 H=3 M=4 S=5 */
    while (*p) {
        if (*p == 'T') {
            if (in_time)
                return AB_EINVAL;
            in_time = true;
            p++;
            if (!*p)
                return AB_EINVAL;
            continue;
        }
        int64_t v;
        if (!number(&p, true, &v))
            return AB_EINVAL;
        int64_t unit;
        int order;
        char c = *p++;
        if (!in_time && c == 'W') {
            unit = 7 * 86400;
            order = 1;
        } else if (!in_time && c == 'D') {
            unit = 86400;
            order = 2;
        } else if (in_time && c == 'H') {
            unit = 3600;
            order = 3;
        } else if (in_time && c == 'M') {
            unit = 60;
            order = 4;
        } else if (in_time && c == 'S') {
            unit = 1;
            order = 5;
        } else {
            return AB_EINVAL;
        }
        if (order <= last || (v % 1000 && order != 5))
            return AB_EINVAL;
        last = order;
        total += v * unit; /* v < 1e12 and unit <= 604800: no overflow */
        any = true;
    }
    if (!any)
        return AB_EINVAL;
    *ms = total;
    return AB_OK;
}

enum ab_rc duration_parse(const char *s, int64_t *ms)
{
    if (s[0] == 'P')
        return duration_parse_iso8601(s, ms);
    const char *p = s;
    int64_t v;
    if (!number(&p, false, &v))
        return AB_EINVAL;
    v /= 1000;
    int64_t unit;
    if (strcmp(p, "ms") == 0)
        unit = 1;
    else if (strcmp(p, "s") == 0)
        unit = 1000;
    else if (strcmp(p, "m") == 0)
        unit = 60000;
    else if (strcmp(p, "h") == 0)
        unit = 3600000;
    else if (strcmp(p, "d") == 0)
        unit = 86400000;
    else
        return AB_EINVAL;
    *ms = v * unit;
    return AB_OK;
}

/* ---- local days in IANA time zones ---------------------------------------- */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

void time_zone_init(void)
{
    if (!getenv("TZ"))
        (void)setenv("TZ", "UTC", 1);
    tzset();
}

/* A plain IANA zone name: letters, digits, '_', '-', '+' and '/', no "..". */
static bool zone_name_ok(const char *z)
{
    if (!z || !*z || strlen(z) > 64 || z[0] == '/' || strstr(z, ".."))
        return false;
    for (const char *p = z; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '+' || *p == '/'))
            return false;
    return true;
}

enum ab_rc time_local_day_end(const char *zone, int y, int m, int d, int64_t *ms)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    *ms = 0;
    if (!zone_name_ok(zone) || y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
        return AB_EINVAL;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return AB_EINVAL;
    char want[80];
    snprintf(want, sizeof(want), ":%s", zone);
    pthread_mutex_lock(&tz_lock);
    const char *old = getenv("TZ");
    char saved[128];
    snprintf(saved, sizeof(saved), "%s", old ? old : "UTC");
    (void)setenv("TZ", want, 1);
    tzset();
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d + 1; /* midnight that starts the next day; mktime normalises */
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    (void)setenv("TZ", saved, 1);
    tzset();
    pthread_mutex_unlock(&tz_lock);
    if (t == (time_t)-1)
        return AB_EINVAL;
    *ms = (int64_t)t * 1000;
    return AB_OK;
}
