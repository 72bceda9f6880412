/* SPDX-License-Identifier: Apache-2.0
 *
 * retry_after.h: parse a Retry-After header value into a delay, and an
 * HTTP-date into a time. Pure functions of their arguments; thread-safe.
 */
#ifndef AB_CORE_RETRY_AFTER_H
#define AB_CORE_RETRY_AFTER_H

#include <stdint.h>

#include "core/result.h"

/* Parse a Retry-After header value (RFC 9110 section 10.2.3):
 *   delta-seconds   "120"
 *   IMF-fixdate     "Sun, 06 Nov 1994 08:49:37 GMT"
 *   obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" (two-digit years more
 *                   than 50 years ahead of now are taken as the past century)
 *   asctime         "Sun Nov  6 08:49:37 1994"
 * Leading and trailing blanks are allowed. *delay_ms is the wait from now_ms:
 * 0 for a date in the past, at most ceiling_ms (ceiling_ms <= 0: no
 * ceiling). AB_EINVAL for anything else (impossible dates included). */
enum ab_rc retry_after_parse(const char *value, int64_t now_ms, int64_t ceiling_ms,
                             int64_t *delay_ms /* OUT */) AB_MUST_CHECK;

/* Parse only an HTTP-date (the three forms above) into ms since the epoch. */
enum ab_rc retry_http_date_parse(const char *value, int64_t now_ms,
                                 int64_t *ms /* OUT */) AB_MUST_CHECK;

#endif
