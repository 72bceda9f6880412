/* SPDX-License-Identifier: Apache-2.0
 *
 * log.c: structured JSON-lines logger with secret redaction. See log.h.
 *
 * A line is assembled in a bounded buffer (LOG_LINE_MAX); a string value
 * longer than LOG_VALUE_MAX is cut and marked with "...[truncated]" so the
 * cut is visible. Redaction happens on each raw string before escaping.
 */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"

#define LOG_LINE_MAX (16 * 1024)
#define LOG_VALUE_MAX 2048
#define LOG_SECRETS_MAX 256
#define REDACTED "[redacted]"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_JSON;
static int log_fd = 2;

static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static char *secrets[LOG_SECRETS_MAX];
static size_t n_secrets;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void log_configure(enum log_level min, enum log_format format, int fd)
{
    pthread_mutex_lock(&log_lock);
    log_min = min;
    log_fmt = format;
    log_fd = fd;
    pthread_mutex_unlock(&log_lock);
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (int i = 0; i <= LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_add_secret(const char *value)
{
    if (!value || strlen(value) < 4)
        return;
    pthread_rwlock_wrlock(&secrets_lock);
    bool known = false;
    for (size_t i = 0; i < n_secrets && !known; i++)
        known = strcmp(secrets[i], value) == 0;
    if (!known && n_secrets < LOG_SECRETS_MAX)
        secrets[n_secrets++] = xstrdup(value);
    pthread_rwlock_unlock(&secrets_lock);
}

void log_clear_secrets(void)
{
    pthread_rwlock_wrlock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    n_secrets = 0;
    pthread_rwlock_unlock(&secrets_lock);
}

/* Append s (length n) to out with registered secrets replaced. The caller
 * holds secrets_lock for reading. */
static enum ab_rc scrub_into(struct buf *out, const char *s, size_t n)
{
    size_t i = 0, start = 0;
    enum ab_rc rc = AB_OK;
    while (i < n && !rc) {
        size_t hit = 0;
        for (size_t k = 0; k < n_secrets; k++) {
            size_t len = strlen(secrets[k]);
            if (len <= n - i && memcmp(s + i, secrets[k], len) == 0 && len > hit)
                hit = len;
        }
        if (!hit) {
            i++;
            continue;
        }
        rc = buf_append(out, s + start, i - start);
        if (!rc)
            rc = buf_append_str(out, REDACTED);
        i += hit;
        start = i;
    }
    if (!rc)
        rc = buf_append(out, s + start, n - start);
    return rc;
}

char *log_scrub(const char *s)
{
    struct buf b;
    buf_init(&b, SIZE_MAX / 2);
    pthread_rwlock_rdlock(&secrets_lock);
    enum ab_rc rc = scrub_into(&b, s, strlen(s));
    pthread_rwlock_unlock(&secrets_lock);
    (void)rc; /* ceiling is effectively unbounded */
    return buf_take(&b, NULL);
}

/* Append a value: scrubbed, cut at LOG_VALUE_MAX, JSON-escaped when json. */
static enum ab_rc put_value(struct buf *line, const char *s, bool json)
{
    struct buf tmp;
    buf_init(&tmp, LOG_VALUE_MAX * 2 + 64);
    size_t n = strlen(s);
    bool cut = n > LOG_VALUE_MAX;
    enum ab_rc rc = scrub_into(&tmp, s, cut ? LOG_VALUE_MAX : n);
    if (!rc && cut)
        rc = buf_append_str(&tmp, "...[truncated]");
    if (!rc)
        rc = json ? str_json_escape(line, buf_str(&tmp), tmp.len)
                  : buf_append(line, tmp.data, tmp.len);
    buf_cleanup(&tmp);
    return rc;
}

static enum ab_rc put_kv(struct buf *line, const char *key, const char *val, bool quote, bool json)
{
    enum ab_rc rc;
    if (json) {
        rc = buf_append_str(line, ",\"");
        if (!rc)
            rc = str_json_escape(line, key, strlen(key));
        if (!rc)
            rc = buf_append_str(line, quote ? "\":\"" : "\":");
    } else {
        rc = buf_printf(line, " %s=", key);
    }
    if (!rc)
        rc = quote ? put_value(line, val, json) : buf_append_str(line, val);
    if (!rc && quote && json)
        rc = buf_append_char(line, '"');
    return rc;
}

void log_write(enum log_level level, const char *corr_id, const char *msg, ...)
{
    if (level < LOG_DEBUG || level >= LOG_OFF)
        return;
    pthread_mutex_lock(&log_lock);
    enum log_level min = log_min;
    enum log_format fmt = log_fmt;
    int fd = log_fd;
    pthread_mutex_unlock(&log_lock);
    if (level < min)
        return;

    bool json = fmt == LOG_FORMAT_JSON;
    char ts[TIME_RFC3339_MAX];
    time_format_rfc3339(clock_now_ms(), ts);

    struct buf line;
    buf_init(&line, LOG_LINE_MAX);
    pthread_rwlock_rdlock(&secrets_lock);
    enum ab_rc rc;
    if (json) {
        rc = buf_printf(&line, "{\"ts\":\"%s\",\"level\":\"%s\"", ts, level_names[level]);
        if (!rc)
            rc = put_kv(&line, "msg", msg, true, true);
    } else {
        rc = buf_printf(&line, "%s %-5s ", ts, level_names[level]);
        if (!rc)
            rc = put_value(&line, msg, false);
    }
    if (!rc && corr_id)
        rc = put_kv(&line, "correlation_id", corr_id, true, json);

    va_list ap;
    va_start(ap, msg);
    for (;;) {
        struct log_field f = va_arg(ap, struct log_field);
        if (f.kind == LOGF_END || rc)
            break;
        char num[32];
        switch (f.kind) {
        case LOGF_STR: rc = put_kv(&line, f.key, f.s ? f.s : "", true, json); break;
        case LOGF_INT: {
            int len = snprintf(num, sizeof(num), "%lld", (long long)f.i);
            (void)len;
            rc = put_kv(&line, f.key, num, false, json);
            break;
        }
        case LOGF_BOOL: rc = put_kv(&line, f.key, f.i ? "true" : "false", false, json); break;
        case LOGF_SECRET: rc = put_kv(&line, f.key, REDACTED, true, json); break;
        case LOGF_END: break;
        }
    }
    va_end(ap);
    pthread_rwlock_unlock(&secrets_lock);

    if (rc) {
        /* line too long: say so rather than cut it silently */
        buf_reset(&line);
        rc = buf_printf(
            &line,
            json ? "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"log line too long, dropped\""
                 : "%s %-5s log line too long, dropped",
            ts, level_names[level]);
    }
    if (!rc)
        rc = buf_append_str(&line, json ? "}\n" : "\n");
    if (!rc) {
        const char *p = line.data;
        size_t left = line.len;
        pthread_mutex_lock(&log_lock);
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            p += w;
            left -= (size_t)w;
        }
        pthread_mutex_unlock(&log_lock);
    }
    buf_cleanup(&line);
}
