/* SPDX-License-Identifier: Apache-2.0
 *
 * timefmt.h: RFC 3339 timestamps and durations.
 *
 * Times are int64 milliseconds since the Unix epoch, UTC. These parsers read
 * untrusted input (API bodies, provider payloads, configuration) and are
 * fuzzed; they accept only what is documented here. Thread-safe.
 */
#ifndef AB_CORE_TIMEFMT_H
#define AB_CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define TIME_RFC3339_MAX 32 /* buffer size for time_format_rfc3339() */

/* Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" (the T may be
 * 't' or a space; years 0001-9999). Fractions beyond milliseconds are
 * truncated. A missing offset, an impossible date (Feb 30) or a leap second
 * is AB_EINVAL. */
enum ab_rc time_parse_rfc3339(const char *s, int64_t *ms /* OUT */) AB_MUST_CHECK;

/* Format as "YYYY-MM-DDTHH:MM:SSZ", with ".mmm" before the Z when the
 * milliseconds are not zero. out must hold TIME_RFC3339_MAX bytes. Returns
 * the length written. */
size_t time_format_rfc3339(int64_t ms, char out[TIME_RFC3339_MAX]);

/* Parse an ISO 8601 duration: "P[nW]" or "P[nD][T[nH][nM][n[.fff]S]]"
 * (e.g. "P30D", "PT1H30M", "P1DT12H", "PT0.5S"). Years and months are
 * refused (AB_EINVAL): their length depends on the calendar. */
enum ab_rc duration_parse_iso8601(const char *s, int64_t *ms /* OUT */) AB_MUST_CHECK;

/* Parse a configuration duration: an integer followed by ms, s, m, h or d
 * ("500ms", "30s", "5m", "2h", "7d"), or an ISO 8601 duration as above. */
enum ab_rc duration_parse(const char *s, int64_t *ms /* OUT */) AB_MUST_CHECK;

/* Days since 1970-01-01 of a proleptic Gregorian date (no validation). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---- local days in IANA time zones ---------------------------------------- */

/* Call once at start, before any thread: makes sure TZ is set (to "UTC"
 * when the environment has none), so that later zone switches replace its
 * value in place and never reallocate the environment under other threads. */
void time_zone_init(void);

/* The instant (ms since the epoch) at which local day y-m-d ends in the IANA
 * zone (local midnight that starts the next day; DST respected), as a
 * plant's due "day" ends. AB_EINVAL for an impossible date or a zone name
 * that is not a plain IANA name ("Europe/Oslo", "UTC"). Thread-safe: zone
 * switches are serialised; no other code of this program reads local time. */
enum ab_rc time_local_day_end(const char *zone, int y, int m, int d,
                              int64_t *ms /* OUT */) AB_MUST_CHECK;

#endif
