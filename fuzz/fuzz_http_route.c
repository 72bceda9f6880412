/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_http_route.c: libFuzzer driver for request-path routing and URL
 * decoding (every request path and query string is untrusted).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const patterns[] = {
    "/healthz",
    "/v1/assets/{ref}",
    "/v1/assets/{ref}:retire",
    "/v1/assets:lookup",
    "/v1/assets/{ref}/meters/{meter}/readings",
    "/v1/work-orders/{id}:complete",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a = arena_new(0, 0);
    char *s = arena_alloc(a, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
    size_t n;
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
        if (http_route_match(a, patterns[i], s, names, params, &n)) {
            for (size_t k = 0; k < n; k++)
                if (!params[k][0])
                    abort(); /* parameters are never empty */
        }
    }
    char *out;
    if (http_url_decode(a, s, size, true, &out) == AB_OK && strlen(out) > size)
        abort();
    arena_free(a);
    return 0;
}
