/* SPDX-License-Identifier: Apache-2.0
 *
 * api_util.c: shared helpers of the API handlers. See api_util.h.
 */
#include "api/api_util.h"

#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"

const struct api_principal *api_principal(const struct http_request *req)
{
    const struct api_caller *c = req->user;
    return c ? &c->p : NULL;
}

void api_error_rc(struct http_request *req, struct http_response *resp, enum ab_rc rc,
                  const char *field, const char *message)
{
    int status;
    const char *cls;
    switch (rc) {
    case AB_ENOTFOUND:
        status = 404;
        cls = "not_found";
        break;
    case AB_ECONFLICT:
        status = 409;
        cls = "conflict";
        break;
    case AB_EINVAL:
        status = 422;
        cls = "validation";
        break;
    case AB_EPARSE:
        status = 400;
        cls = "validation";
        break;
    case AB_EIDENTITY:
        status = 422;
        cls = "identity";
        break;
    case AB_ETOOLARGE:
        status = 413;
        cls = "too_large";
        break;
    case AB_EAUTH:
        status = 401;
        cls = "authentication";
        break;
    case AB_EFORBIDDEN:
        status = 403;
        cls = "authorization";
        break;
    case AB_ERATELIMIT:
        status = 429;
        cls = "rate_limited";
        break;
    case AB_EAGAIN:
    case AB_EUNAVAILABLE:
    case AB_ETIMEOUT:
        status = 503;
        cls = "provider_unavailable";
        break;
    default:
        status = 500;
        cls = "internal";
        break;
    }
    if (!message)
        message = status == 500 ? "internal error; see the service log for this correlation id"
                                : ab_rc_name(rc);
    http_resp_error(req, resp, status, cls, field, message);
    if (status == 503 && http_resp_header(req, resp, "Retry-After", "1"))
        resp->status = 500;
}

void api_error_model(struct http_request *req, struct http_response *resp,
                     const struct model_error *err)
{
    http_resp_error(req, resp, err->kind == MODEL_ERR_TYPE ? 400 : 422, "validation",
                    err->field[0] ? err->field : NULL, err->message);
}

json_t *api_body_object(struct http_request *req, struct http_response *resp)
{
    if (!str_utf8_valid(req->body, req->body_len)) {
        http_resp_error(req, resp, 400, "validation", NULL, "the body is not valid UTF-8");
        return NULL;
    }
    json_t *body;
    char err[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &body, err)) {
        http_resp_error(req, resp, 400, "validation", NULL, err);
        return NULL;
    }
    return body;
}

bool api_limit(struct http_request *req, struct http_response *resp, size_t *limit)
{
    const char *v = http_query(req, "limit");
    int64_t n = 100;
    if (v && (str_to_i64(v, &n) || n < 1 || n > 1000)) {
        http_resp_error(req, resp, 422, "validation", "limit",
                        "limit must be a whole number from 1 to 1000");
        return false;
    }
    *limit = (size_t)n;
    return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *api_cursor_encode(struct arena *a, const char *text)
{
    size_t n = strlen(text);
    char *out = arena_alloc(a, (n + 2) / 3 * 4 + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)text[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)text[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)text[i + 2];
        out[k++] = b64[(v >> 18) & 63];
        out[k++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[k++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[k++] = b64[v & 63];
    }
    out[k] = '\0';
    return out;
}

bool api_cursor_decode(struct http_request *req, struct http_response *resp, const char **text)
{
    const char *c = http_query(req, "cursor");
    if (!c || !*c) {
        *text = "";
        return true;
    }
    size_t n = strlen(c);
    if (n > 1024 || n % 4 == 1)
        goto bad;
    char *out = arena_alloc(req->arena, n + 1);
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64, c[i]);
        if (!p || !c[i])
            goto bad;
        acc = (acc << 6) | (unsigned)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[k] = '\0';
    if (strlen(out) != k || !str_utf8_valid(out, k))
        goto bad;
    *text = out;
    return true;
bad:
    http_resp_error(req, resp, 422, "validation", "cursor",
                    "malformed cursor: pass next_cursor back unchanged");
    return false;
}

json_t *api_page(json_t *items, const char *next_cursor)
{
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "next_cursor", next_cursor ? json_string(next_cursor) : json_null());
    return o;
}

json_t *api_time(int64_t ms)
{
    if (ms == INT64_MIN)
        return json_null();
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339(ms, t);
    return json_string(t);
}
