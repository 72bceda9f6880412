/* SPDX-License-Identifier: Apache-2.0
 *
 * retry_after.c: the Retry-After header (RFC 9110 section 10.2.3):
 * delta-seconds and the three HTTP-date forms. A core facility because the
 * HTTP client, the connectors and the sync engine all read it. See
 * retry_after.h.
 */
#include "core/retry_after.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/timefmt.h"

#define SEC INT64_C(1000)
#define DAY (24 * 60 * 60 * SEC)

/* ---- HTTP-date ------------------------------------------------------------- */

static const char *const wkday[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const weekday[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Match one of names (case-sensitive, as RFC 9110 says) at *s; advances. */
static int match_name(const char **s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(*s, names[i], len) == 0) {
            *s += len;
            return (int)i;
        }
    }
    return -1;
}

/* Exactly n digits at *s; advances. */
static bool digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *s += n;
    *out = v;
    return true;
}

static bool lit(const char **s, const char *l)
{
    size_t n = strlen(l);
    if (strncmp(*s, l, n) != 0)
        return false;
    *s += n;
    return true;
}

/* "HH:MM:SS" */
static bool time_of_day(const char **s, int *h, int *m, int *sec)
{
    return digits(s, 2, h) && lit(s, ":") && digits(s, 2, m) && lit(s, ":") && digits(s, 2, sec) &&
           *h <= 23 && *m <= 59 && *sec <= 60;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool valid_date(int y, int mon /* 1-12 */, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mon < 1 || mon > 12 || d < 1)
        return false;
    int max = mdays[mon - 1] + (mon == 2 && leap(y));
    return d <= max;
}

static int64_t to_ms(int y, int mon, int d, int h, int m, int sec)
{
    if (sec == 60) /* a leap second reads as the next second */
        sec = 59;
    int64_t days = time_days_from_civil(y, (unsigned)mon, (unsigned)d);
    return ((days * 24 + h) * 60 + m) * 60 * SEC + (int64_t)sec * SEC;
}

enum ab_rc retry_http_date_parse(const char *value, int64_t now_ms, int64_t *ms)
{
    const char *s = value;
    int y = 0, mon = 0, d = 0, h = 0, m = 0, sec = 0;
    /* try the long weekday first: "Sunday" also starts with "Sun" */
    int wd = match_name(&s, weekday, 7);
    if (wd >= 0) {
        /* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
        int yy;
        if (!lit(&s, ", ") || !digits(&s, 2, &d) || !lit(&s, "-"))
            return AB_EINVAL;
        if ((mon = match_name(&s, months, 12) + 1) == 0)
            return AB_EINVAL;
        if (!lit(&s, "-") || !digits(&s, 2, &yy) || !lit(&s, " ") ||
            !time_of_day(&s, &h, &m, &sec) || !lit(&s, " GMT") || *s)
            return AB_EINVAL;
        /* RFC 9110: a two-digit year more than 50 years in the future is the
         * most recent past year with those digits */
        int64_t now_days = now_ms / DAY;
        if (now_days < 0)
            now_days = 0;
        if (now_days > time_days_from_civil(9999, 1, 1))
            now_days = time_days_from_civil(9999, 1, 1);
        int now_year = 1970 + (int)(now_days / 366);
        while (time_days_from_civil(now_year + 1, 1, 1) <= now_days)
            now_year++;
        int century = now_year / 100 * 100;
        y = century + yy;
        if (y > now_year + 50)
            y -= 100;
    } else {
        wd = match_name(&s, wkday, 7);
        if (wd < 0)
            return AB_EINVAL;
        if (*s == ',') {
            /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
            if (!lit(&s, ", ") || !digits(&s, 2, &d) || !lit(&s, " "))
                return AB_EINVAL;
            if ((mon = match_name(&s, months, 12) + 1) == 0)
                return AB_EINVAL;
            if (!lit(&s, " ") || !digits(&s, 4, &y) || !lit(&s, " ") ||
                !time_of_day(&s, &h, &m, &sec) || !lit(&s, " GMT") || *s)
                return AB_EINVAL;
        } else {
            /* asctime-date: "Sun Nov  6 08:49:37 1994" */
            if (!lit(&s, " "))
                return AB_EINVAL;
            if ((mon = match_name(&s, months, 12) + 1) == 0)
                return AB_EINVAL;
            if (!lit(&s, " "))
                return AB_EINVAL;
            if (*s == ' ') {
                s++;
                if (!digits(&s, 1, &d))
                    return AB_EINVAL;
            } else if (!digits(&s, 2, &d)) {
                return AB_EINVAL;
            }
            if (!lit(&s, " ") || !time_of_day(&s, &h, &m, &sec) || !lit(&s, " ") ||
                !digits(&s, 4, &y) || *s)
                return AB_EINVAL;
        }
    }
    if (!valid_date(y, mon, d))
        return AB_EINVAL;
    *ms = to_ms(y, mon, d, h, m, sec);
    return AB_OK;
}

enum ab_rc retry_after_parse(const char *value, int64_t now_ms, int64_t ceiling_ms,
                             int64_t *delay_ms)
{
    if (!value)
        return AB_EINVAL;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0 || n > 64)
        return AB_EINVAL;
    char v[65];
    memcpy(v, value, n);
    v[n] = '\0';

    int64_t delay;
    if (v[0] >= '0' && v[0] <= '9') {
        /* delta-seconds = 1*DIGIT; saturate instead of overflowing */
        int64_t secs = 0;
        for (size_t i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9')
                return AB_EINVAL;
            if (secs < INT64_MAX / SEC / 10)
                secs = secs * 10 + (v[i] - '0');
            else
                secs = INT64_MAX / SEC;
        }
        delay = secs > INT64_MAX / SEC ? INT64_MAX : secs * SEC;
    } else {
        int64_t at;
        enum ab_rc rc = retry_http_date_parse(v, now_ms, &at);
        if (rc)
            return rc;
        delay = at > now_ms ? at - now_ms : 0;
    }
    if (ceiling_ms > 0 && delay > ceiling_ms)
        delay = ceiling_ms;
    *delay_ms = delay;
    return AB_OK;
}
