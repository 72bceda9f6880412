/* SPDX-License-Identifier: Apache-2.0
 *
 * batch.c: splitting reading batches into items and parsing one item in the
 * API's field names. See batch.h. The array tokenizer only finds element
 * boundaries; jansson judges each element's content.
 */
#include "api/batch.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"

static void set_err(char err[BATCH_ERR_MAX], const char *fmt, ...) AB_PRINTF(2, 3);

static void set_err(char err[BATCH_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, BATCH_ERR_MAX, fmt, ap);
    va_end(ap);
}

/* A growable span list in an arena. */
struct spans {
    struct arena *a;
    struct batch_span *v;
    size_t n, cap, max;
};

static enum ab_rc spans_push(struct spans *s, size_t off, size_t len, char err[BATCH_ERR_MAX])
{
    if (s->n == s->max) {
        set_err(err, "a batch holds at most %zu readings", s->max);
        return AB_ETOOLARGE;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct batch_span *v = arena_alloc(s->a, cap * sizeof(*v));
        if (s->n)
            memcpy(v, s->v, s->n * sizeof(*v));
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n].off = off;
    s->v[s->n].len = len;
    s->n++;
    return AB_OK;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
    while (i < len && is_ws(s[i]))
        i++;
    return i;
}

static enum ab_rc split_ndjson(struct spans *sp, const char *body, size_t len,
                               char err[BATCH_ERR_MAX])
{
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(body + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - body) : len;
        size_t stop = end;
        if (stop > start && body[stop - 1] == '\r')
            stop--;
        if (skip_ws(body, start, stop) < stop) {
            enum ab_rc rc = spans_push(sp, start, stop - start, err);
            if (rc)
                return rc;
        }
        start = end + 1;
    }
    return AB_OK;
}

/* s[*i] is '"': move *i past the closing quote; false when unterminated. */
static bool scan_string(const char *s, size_t len, size_t *i)
{
    for (size_t k = *i + 1; k < len; k++) {
        if (s[k] == '\\') {
            k++;
        } else if (s[k] == '"') {
            *i = k + 1;
            return true;
        }
    }
    return false;
}

/* Move *i past the value starting there (item is its number, for errors). */
static enum ab_rc scan_value(const char *s, size_t len, size_t *i, size_t item,
                             char err[BATCH_ERR_MAX])
{
    size_t k = *i;
    char c = s[k];
    if (c == '"') {
        if (!scan_string(s, len, &k)) {
            set_err(err, "unterminated string in item %zu of the array", item);
            return AB_EPARSE;
        }
        *i = k;
        return AB_OK;
    }
    if (c == '{' || c == '[') {
        char closers[BATCH_MAX_DEPTH];
        size_t depth = 0;
        while (k < len) {
            c = s[k];
            if (c == '"') {
                if (!scan_string(s, len, &k)) {
                    set_err(err, "unterminated string in item %zu of the array", item);
                    return AB_EPARSE;
                }
                continue;
            }
            if (c == '{' || c == '[') {
                if (depth == BATCH_MAX_DEPTH) {
                    set_err(err, "item %zu of the array is nested more than %d levels deep", item,
                            BATCH_MAX_DEPTH);
                    return AB_EPARSE;
                }
                closers[depth++] = c == '{' ? '}' : ']';
            } else if (c == '}' || c == ']') {
                if (closers[depth - 1] != c) {
                    set_err(err, "mismatched '%c' in item %zu of the array", c, item);
                    return AB_EPARSE;
                }
                if (--depth == 0) {
                    *i = k + 1;
                    return AB_OK;
                }
            }
            k++;
        }
        set_err(err, "item %zu of the array is not closed", item);
        return AB_EPARSE;
    }
    /* a number or literal: up to the next delimiter */
    while (k < len && !is_ws(s[k]) && !strchr(",[]{}\":", s[k]))
        k++;
    if (k == *i) {
        set_err(err, "expected an item at byte %zu of the array (missing or extra ',')", k);
        return AB_EPARSE;
    }
    *i = k;
    return AB_OK;
}

static enum ab_rc split_array(struct spans *sp, const char *body, size_t len,
                              char err[BATCH_ERR_MAX])
{
    size_t i = skip_ws(body, 0, len);
    if (i == len || body[i] != '[') {
        set_err(err, "the body must be a JSON array of readings");
        return AB_EPARSE;
    }
    i = skip_ws(body, i + 1, len);
    if (i < len && body[i] == ']') {
        i++;
    } else {
        for (;;) {
            if (i == len) {
                set_err(err, "the array is not closed");
                return AB_EPARSE;
            }
            size_t start = i;
            enum ab_rc rc = scan_value(body, len, &i, sp->n, err);
            if (!rc)
                rc = spans_push(sp, start, i - start, err);
            if (rc)
                return rc;
            i = skip_ws(body, i, len);
            if (i < len && body[i] == ',') {
                i = skip_ws(body, i + 1, len);
                continue;
            }
            if (i < len && body[i] == ']') {
                i++;
                break;
            }
            if (i == len) {
                set_err(err, "the array is not closed");
            } else {
                set_err(err, "expected ',' or ']' after item %zu of the array (byte %zu)",
                        sp->n - 1, i);
            }
            return AB_EPARSE;
        }
    }
    if (skip_ws(body, i, len) != len) {
        set_err(err, "unexpected data after the closing ']' of the array");
        return AB_EPARSE;
    }
    return AB_OK;
}

enum ab_rc batch_split(struct arena *a, enum batch_format fmt, const char *body, size_t len,
                       size_t max_items, struct batch_span **spans, size_t *n,
                       char err[BATCH_ERR_MAX])
{
    struct spans sp = {.a = a, .max = max_items};
    err[0] = '\0';
    enum ab_rc rc =
        fmt == BATCH_NDJSON ? split_ndjson(&sp, body, len, err) : split_array(&sp, body, len, err);
    if (rc)
        return rc;
    *spans = sp.v;
    *n = sp.n;
    return AB_OK;
}

/* ---- one item --------------------------------------------------------- */

static enum ab_rc item_err(struct model_error *err, enum model_err_kind kind, const char *field,
                           const char *fmt, ...) AB_PRINTF(4, 5);

static enum ab_rc item_err(struct model_error *err, enum model_err_kind kind, const char *field,
                           const char *fmt, ...)
{
    va_list ap;
    err->kind = kind;
    str_lcpy(err->field, field, sizeof(err->field));
    for (char *c = err->field; *c; c++)
        if (*c < 0x20 || *c > 0x7e) /* keys are untrusted: keep the field printable */
            *c = '?';
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    for (char *c = err->message; *c; c++)
        if (*c < 0x20 || *c > 0x7e) /* jansson quotes the input near an error */
            *c = '?';
    return kind == MODEL_ERR_TYPE ? AB_EPARSE : AB_EINVAL;
}

/* API name -> model name; NULL for a name the API does not take. */
static const char *model_name(const char *api)
{
    if (strcmp(api, "meter") == 0)
        return "meter_type";
    if (strcmp(api, "key") == 0)
        return "idempotency_key";
    if (strcmp(api, "meter_type") == 0 || strcmp(api, "idempotency_key") == 0)
        return NULL;
    return api;
}

/* Model field name -> API name, in place. */
static void api_field(struct model_error *err)
{
    if (strcmp(err->field, "meter_type") == 0)
        str_lcpy(err->field, "meter", sizeof(err->field));
    else if (strcmp(err->field, "idempotency_key") == 0)
        str_lcpy(err->field, "key", sizeof(err->field));
}

enum ab_rc batch_reading_from_json(struct arena *a, const json_t *in, const char *header_key,
                                   int64_t now_ms, int64_t max_future_ms, struct model_reading *out,
                                   struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    if (!json_is_object(in))
        return item_err(err, MODEL_ERR_TYPE, "", "a reading must be a JSON object");
    json_t *m = json_object();
    const char *key;
    json_t *v;
    enum ab_rc rc = AB_OK;
    json_object_foreach ((json_t *)in, key, v) {
        const char *name = model_name(key);
        if (!name) {
            rc = item_err(err, MODEL_ERR_TYPE, key, "unknown field");
            break;
        }
        json_object_set(m, name, v);
    }
    if (!rc && header_key) {
        const json_t *body_key = json_object_get(m, "idempotency_key");
        if (!body_key)
            json_object_set_new(m, "idempotency_key", json_string_nocheck(header_key));
        else if (json_is_string(body_key) && strcmp(json_string_value(body_key), header_key) != 0)
            rc = item_err(err, MODEL_ERR_VALUE, "key",
                          "the key field and the Idempotency-Key header differ");
    }
    if (!rc && (rc = model_reading_from_json_at(a, m, now_ms, max_future_ms, out, err)))
        api_field(err);
    json_decref(m);
    return rc;
}

enum ab_rc batch_item_parse(struct arena *a, const char *text, size_t len, int64_t now_ms,
                            int64_t max_future_ms, struct model_reading *out,
                            struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *in = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!in)
        return item_err(err, MODEL_ERR_TYPE, "", "malformed JSON: %s", jerr.text);
    enum ab_rc rc = batch_reading_from_json(a, in, NULL, now_ms, max_future_ms, out, err);
    json_decref(in);
    return rc;
}
