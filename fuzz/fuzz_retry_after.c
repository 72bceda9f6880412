/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_retry_after.c: libFuzzer driver for the Retry-After and HTTP-date
 * parsers of src/sync/retry.c (they read provider answers). Checks that an
 * accepted value gives a delay within [0, ceiling] and that a parsed date
 * is never after year 9999.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now = INT64_C(1795262400000); /* 2026-11-21T12:00:00Z */
    const int64_t ceiling = INT64_C(3600000);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t d = -1;
    if (retry_after_parse(s, now, ceiling, &d) == AB_OK && (d < 0 || d > ceiling))
        abort();
    if (retry_after_parse(s, now, 0, &d) == AB_OK && d < 0)
        abort();
    int64_t t;
    if (retry_http_date_parse(s, now, &t) == AB_OK && t > INT64_C(253402300800000))
        abort();
    free(s);
    return 0;
}
