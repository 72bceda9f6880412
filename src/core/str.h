/* SPDX-License-Identifier: Apache-2.0
 *
 * str.h: small string helpers used across layers: strict number parsing
 * (instead of atoi and friends), bounded copies, JSON escaping and edit
 * distance for "did you mean" hints. All functions are thread-safe.
 */
#ifndef AB_CORE_STR_H
#define AB_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/result.h"

/* Parse a whole string as a base-10 signed integer. Leading/trailing spaces,
 * empty strings, trailing garbage and overflow are AB_EINVAL. */
enum ab_rc str_to_i64(const char *s, int64_t *out /* OUT */) AB_MUST_CHECK;

/* Same for the first n bytes of s (s need not be terminated). */
enum ab_rc str_to_i64n(const char *s, size_t n, int64_t *out /* OUT */) AB_MUST_CHECK;

/* Copy src into dst of size dstsize (> 0), always terminating. Returns
 * strlen(src); a result >= dstsize means the copy was truncated. */
size_t str_lcpy(char *dst, const char *src, size_t dstsize);

bool str_eq(const char *a, const char *b);
bool str_has_prefix(const char *s, const char *prefix);

/* Append s to b as the contents of a JSON string (without quotes): escapes
 * quote, backslash and control characters; valid UTF-8 is copied as it is,
 * and each byte that is not part of a valid sequence (an error message
 * quoting a client's bytes, a sequence cut by a length limit) becomes
 * \ufffd, so the result is always valid JSON. */
enum ab_rc str_json_escape(struct buf *b, const char *s, size_t n) AB_MUST_CHECK;

/* Levenshtein distance between a and b, capped at cap+1 (work stops once the
 * distance is known to exceed cap). */
size_t str_edit_distance(const char *a, const char *b, size_t cap);

/* True when s is valid UTF-8 (no overlong forms, no surrogates). */
bool str_utf8_valid(const char *s, size_t n);

struct arena;

/* A copy of s (n bytes) in a as valid UTF-8, NUL-terminated: each byte
 * that is not part of a valid sequence (a NUL included) becomes U+FFFD. For
 * logging and echoing what a client sent. NULL s gives NULL. */
const char *str_utf8_clean(struct arena *a, const char *s, size_t n);

#endif
