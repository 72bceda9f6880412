/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_timefmt.c: libFuzzer driver for the RFC 3339 and duration parsers
 * (they read API bodies, provider payloads and configuration). Checks that a
 * parsed time formats and parses back to the same instant.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t ms, back;
    if (time_parse_rfc3339(s, &ms) == AB_OK) {
        char out[TIME_RFC3339_MAX];
        time_format_rfc3339(ms, out);
        if (time_parse_rfc3339(out, &back) != AB_OK || back != ms)
            abort();
    }
    if (duration_parse(s, &ms) == AB_OK && ms < 0)
        abort();
    free(s);
    return 0;
}
