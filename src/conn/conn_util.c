/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_util.c: helpers shared by the connectors. See conn_util.h.
 */
#include "conn/conn_util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"

const char *conn_jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v && *v ? v : NULL;
}

bool conn_is_2xx(int status)
{
    return status >= 200 && status < 300;
}

void conn_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

uint64_t conn_jitter(void)
{
    static _Thread_local uint64_t s;
    if (!s)
        s = (uint64_t)clock_mono_us() | 1u;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

void conn_fail(struct conn_result *out, enum conn_outcome outcome, const char *error_class,
               const char *message)
{
    out->outcome = outcome;
    out->error_class = error_class;
    out->message = message;
}

const char *conn_keep_response(struct arena *a, const struct client_response *r, size_t max)
{
    if (!r->body || !*r->body)
        return NULL;
    char *s = log_scrub(r->body);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    const char *o = arena_strndup(a, s, n > max ? max : n);
    free(s);
    return o;
}
