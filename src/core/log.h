/* SPDX-License-Identifier: Apache-2.0
 *
 * log.h: structured logger, one JSON object per line.
 *
 *   {"ts":"2026-11-21T11:07:59.123Z","level":"info","msg":"listening",
 *    "correlation_id":"01J...","addr":"127.0.0.1:8440"}
 *
 * Values are typed fields. A field made with LOG_SECRET() is always written as
 * "[redacted]", and any string registered with log_add_secret() (API keys,
 * passwords and tokens from the configuration) is replaced by "[redacted]"
 * wherever it would appear, in the message or any field, so a secret cannot
 * leak through a log line by accident. Each line is written with one write()
 * call. All functions are thread-safe.
 */
#ifndef AB_CORE_LOG_H
#define AB_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

enum log_field_kind { LOGF_END, LOGF_STR, LOGF_INT, LOGF_BOOL, LOGF_SECRET };

struct log_field {
    const char *key;
    enum log_field_kind kind;
    const char *s;
    int64_t i;
};

#define LOG_STR(k, v) ((struct log_field){(k), LOGF_STR, (v), 0})
#define LOG_INT(k, v) ((struct log_field){(k), LOGF_INT, 0, (int64_t)(v)})
#define LOG_BOOL(k, v) ((struct log_field){(k), LOGF_BOOL, 0, (v) ? 1 : 0})
#define LOG_SECRET(k) ((struct log_field){(k), LOGF_SECRET, 0, 0})
#define LOG_END ((struct log_field){0, LOGF_END, 0, 0})

enum log_format { LOG_FORMAT_JSON, LOG_FORMAT_TEXT };

/* Set the minimum level, the output format and the file descriptor lines go
 * to (default: info, json, stderr). The descriptor stays owned by the caller. */
void log_configure(enum log_level min, enum log_format format, int fd);

/* Parse "debug", "info", "warn", "error", "off"; false when unknown. */
bool log_level_parse(const char *s, enum log_level *out /* OUT */);

/* Register a secret value: from now on it is replaced by "[redacted]" in
 * every line. Values shorter than 4 bytes are ignored (they would redact
 * ordinary words). The logger keeps its own copy. */
void log_add_secret(const char *value);

/* Forget all registered secrets (tests). */
void log_clear_secrets(void);

/* Replace every registered secret in s by "[redacted]"; returns a malloc'd
 * string the caller frees. Used by anything that echoes untrusted or
 * configured text (error bodies, dead letters). */
char *log_scrub(const char *s);

/* Write one line. corr_id may be NULL. The variadic arguments are
 * struct log_field values terminated by LOG_END; use the macros below,
 * which add the terminator. */
void log_write(enum log_level level, const char *corr_id, const char *msg, ...);

#define log_debug(corr, ...) log_write(LOG_DEBUG, corr, __VA_ARGS__, LOG_END)
#define log_info(corr, ...) log_write(LOG_INFO, corr, __VA_ARGS__, LOG_END)
#define log_warn(corr, ...) log_write(LOG_WARN, corr, __VA_ARGS__, LOG_END)
#define log_error(corr, ...) log_write(LOG_ERROR, corr, __VA_ARGS__, LOG_END)

#endif
