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

const char *conn_odata_quote(struct arena *a, const char *s)
{
    size_t n = strlen(s), q = 0;
    for (size_t i = 0; i < n; i++)
        q += s[i] == '\'';
    char *o = arena_alloc(a, n + q + 3), *p = o;
    *p++ = '\'';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            *p++ = '\'';
        *p++ = s[i];
    }
    *p++ = '\'';
    *p = '\0';
    return o;
}

const char *conn_qenc(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = arena_alloc(a, strlen(s) * 3 + 1), *p = o;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return o;
}

enum ab_rc conn_health_transport(enum ab_rc rc, const char *error, bool https, const char *what,
                                 struct arena *a, struct conn_health *out)
{
    if (rc == AB_OK) {
        out->dns = CONN_CHECK_OK;
        out->tls = https ? CONN_CHECK_OK : CONN_CHECK_SKIPPED;
        return AB_OK;
    }
    if (rc == AB_EAUTH) { /* the client's code for a certificate that failed to verify */
        out->dns = CONN_CHECK_OK;
        out->tls = CONN_CHECK_FAILED;
    } else {
        out->dns = CONN_CHECK_FAILED;
    }
    out->message = arena_printf(a, "cannot reach %s: %s", what, error ? error : ab_rc_name(rc));
    return rc == AB_EUNKNOWN ? AB_ENETWORK : rc;
}
