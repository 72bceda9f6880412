/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_generic.c: the `generic` provider simulator: a REST/JSON EAM whose
 * contract we define ourselves (docs/sim/generic.md): assets, meters with
 * readings, maintenance plans and work orders under /api/v1, Bearer token
 * auth, offset and cursor paging, updated_since incremental queries,
 * Idempotency-Key on POST/PATCH, 429 + Retry-After. Used by the sync
 * engine's tests and benchmarks and by users prototyping an integration.
 * Only the framework (sim.c) calls into this file, through sim_generic.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "sim/sim.h"

#define DAY_MS (24LL * 3600 * 1000)
#define LIMIT_DEFAULT 50
#define LIMIT_MAX 200
#define DUE_SOON_MS (30 * DAY_MS)

/* ---- error shape and auth ---------------------------------------------------- */

static void g_error(struct sim *s, struct http_request *req, struct http_response *resp, int status,
                    const char *code, const char *message)
{
    (void)s;
    (void)req;
    http_resp_json(resp, status, json_pack("{s:s,s:s}", "error", code, "message", message));
}

static void g_field_error(struct sim *s, struct http_request *req, struct http_response *resp,
                          const char *field, const char *message)
{
    (void)s;
    (void)req;
    http_resp_json(resp, 422,
                   json_pack("{s:s,s:s,s:s}", "error", "validation_failed", "message", message,
                             "field", field));
}

static void unauthorized(struct http_request *req, struct http_response *resp, const char *code,
                         const char *message)
{
    http_resp_json(resp, 401, json_pack("{s:s,s:s}", "error", code, "message", message));
    if (http_resp_header(req, resp, "WWW-Authenticate",
                         strcmp(code, "token_expired") == 0
                             ? "Bearer realm=\"generic\", error=\"invalid_token\""
                             : "Bearer realm=\"generic\""))
        resp->status = 500;
}

static bool g_auth(struct sim *s, struct http_request *req, struct http_response *resp)
{
    const char *h = http_header(req, "Authorization");
    if (!h || !*h) {
        unauthorized(req, resp, "unauthorized", "missing Authorization: Bearer <token>");
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        unauthorized(req, resp, "unauthorized", "only Bearer tokens are accepted");
        return false;
    }
    if (strcmp(h + 7, sim_options(s)->token) != 0) {
        unauthorized(req, resp, "unauthorized", "invalid token");
        return false;
    }
    return true;
}

static void g_expire(struct sim *s, struct http_request *req, struct http_response *resp)
{
    (void)s;
    unauthorized(req, resp, "token_expired", "the access token has expired");
}

static void g_rate_limited(struct sim *s, struct http_request *req, struct http_response *resp,
                           int64_t retry_after_s)
{
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)retry_after_s);
    g_error(s, req, resp, 429, "rate_limited",
            "too many requests; retry after Retry-After seconds");
    if (http_resp_header(req, resp, "Retry-After", v))
        resp->status = 500;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        g_error(__VA_ARGS__);                                                                      \
        return;                                                                                    \
    } while (0)
#define FAILF(...)                                                                                 \
    do {                                                                                           \
        g_field_error(__VA_ARGS__);                                                                \
        return;                                                                                    \
    } while (0)

/* ---- JSON helpers -------------------------------------------------------------- */

static json_t *time_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    char t[TIME_RFC3339_MAX];
    time_format_rfc3339(sqlite3_column_int64(st, col), t);
    return json_string(t);
}

static json_t *text_json(sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    return v ? json_string(v) : json_null();
}

static json_t *id_json(const char *prefix, int64_t n)
{
    char id[32];
    snprintf(id, sizeof(id), "%s-%06lld", prefix, (long long)n);
    return json_string(id);
}

/* "A-000042" -> 42; 0 when malformed. */
static int64_t parse_id(const char *prefix, const char *id)
{
    size_t pl = strlen(prefix);
    int64_t n;
    if (!id || strncmp(id, prefix, pl) != 0 || id[pl] != '-' || str_to_i64(id + pl + 1, &n) ||
        n <= 0)
        return 0;
    return n;
}

static const char *due_status(int64_t due, int64_t now)
{
    if (due < now)
        return "overdue";
    if (due < now + DUE_SOON_MS)
        return "due_soon";
    return "ok";
}

/* ---- collections ------------------------------------------------------------------- */

struct filter {
    const char *param;  /* query parameter */
    const char *column; /* SQL column */
    const char *prefix; /* id prefix when the value is an id ("A"), else NULL */
};

struct coll {
    const char *table;
    const char *prefix;
    const char *columns; /* SELECT list; column 0 is n, column 1 updated_at */
    json_t *(*row)(struct sim *s, sqlite3_stmt *st);
    struct filter filters[4];
};

static json_t *asset_row(struct sim *s, sqlite3_stmt *st)
{
    json_t *cal = json_null();
    if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
        int64_t due = sqlite3_column_int64(st, 12);
        cal = json_pack("{s:I,s:o,s:o,s:s}", "interval_days",
                        (json_int_t)sqlite3_column_int64(st, 10), "last_calibrated_at",
                        time_json(st, 11), "due_at", time_json(st, 12), "status",
                        due_status(due, sim_now_ms(s)));
    }
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "id",
                     id_json("A", sqlite3_column_int64(st, 0)), "tag", text_json(st, 2), "name",
                     text_json(st, 3), "type", text_json(st, 4), "status", text_json(st, 5),
                     "location", text_json(st, 6), "manufacturer", text_json(st, 7), "model",
                     text_json(st, 8), "serial_number", text_json(st, 9), "calibration", cal,
                     "created_at", time_json(st, 13), "updated_at", time_json(st, 1), "version",
                     (json_int_t)sqlite3_column_int64(st, 14));
}

static const struct coll assets_coll = {
    "assets",
    "A",
    "n, updated_at, tag, name, type, status, location, manufacturer, model, serial_number, "
    "cal_interval_days, cal_last_at, cal_due_at, created_at, version",
    asset_row,
    {{"status", "status", NULL}, {"type", "type", NULL}, {"tag", "tag", NULL}, {0}},
};

static json_t *meter_row(struct sim *s, sqlite3_stmt *st)
{
    (void)s;
    json_t *last = sqlite3_column_type(st, 6) == SQLITE_NULL
                       ? json_null()
                       : json_real(sqlite3_column_double(st, 6));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "id",
                     id_json("M", sqlite3_column_int64(st, 0)), "asset_id",
                     id_json("A", sqlite3_column_int64(st, 2)), "name", text_json(st, 3), "kind",
                     text_json(st, 4), "unit", text_json(st, 5), "last_value", last, "last_read_at",
                     time_json(st, 7), "created_at", time_json(st, 8), "updated_at",
                     time_json(st, 1), "version", (json_int_t)sqlite3_column_int64(st, 9));
}

static const struct coll meters_coll = {
    "meters",
    "M",
    "n, updated_at, asset_n, name, kind, unit, last_value, last_read_at, created_at, version",
    meter_row,
    {{"asset_id", "asset_n", "A"}, {0}},
};

static json_t *reading_row(struct sim *s, sqlite3_stmt *st)
{
    (void)s;
    return json_pack("{s:o,s:o,s:f,s:o,s:o}", "id", id_json("R", sqlite3_column_int64(st, 0)),
                     "meter_id", id_json("M", sqlite3_column_int64(st, 2)), "value",
                     sqlite3_column_double(st, 3), "read_at", time_json(st, 4), "created_at",
                     time_json(st, 1));
}

static const struct coll readings_coll = {
    "readings", "R", "n, created_at, meter_n, value, read_at", reading_row, {{0}},
};

static json_t *plan_row(struct sim *s, sqlite3_stmt *st)
{
    int64_t due = sqlite3_column_int64(st, 7);
    return json_pack("{s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:s,s:o,s:o}", "id",
                     id_json("P", sqlite3_column_int64(st, 0)), "asset_id",
                     id_json("A", sqlite3_column_int64(st, 2)), "name", text_json(st, 3), "kind",
                     text_json(st, 4), "interval_days", (json_int_t)sqlite3_column_int64(st, 5),
                     "last_done_at", time_json(st, 6), "next_due_at", time_json(st, 7), "status",
                     due_status(due, sim_now_ms(s)), "created_at", time_json(st, 8), "updated_at",
                     time_json(st, 1));
}

static const struct coll plans_coll = {
    "plans",
    "P",
    "n, updated_at, asset_n, name, kind, interval_days, last_done_at, next_due_at, created_at",
    plan_row,
    {{"asset_id", "asset_n", "A"}, {"kind", "kind", NULL}, {0}},
};

static json_t *wo_row(struct sim *s, sqlite3_stmt *st)
{
    const char *status = (const char *)sqlite3_column_text(st, 7);
    bool open = status && strcmp(status, "completed") != 0 && strcmp(status, "cancelled") != 0;
    bool overdue = open && sqlite3_column_type(st, 9) != SQLITE_NULL &&
                   sqlite3_column_int64(st, 9) < sim_now_ms(s);
    json_t *plan = sqlite3_column_type(st, 3) == SQLITE_NULL
                       ? json_null()
                       : id_json("P", sqlite3_column_int64(st, 3));
    return json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:b,s:o,s:o,s:o,s:I}", "id",
        id_json("WO", sqlite3_column_int64(st, 0)), "asset_id",
        id_json("A", sqlite3_column_int64(st, 2)), "plan_id", plan, "title", text_json(st, 4),
        "description", text_json(st, 5), "type", text_json(st, 6), "status", text_json(st, 7),
        "priority", (json_int_t)sqlite3_column_int64(st, 8), "due_at", time_json(st, 9), "overdue",
        overdue, "completed_at", time_json(st, 10), "created_at", time_json(st, 11), "updated_at",
        time_json(st, 1), "version", (json_int_t)sqlite3_column_int64(st, 12));
}

static const struct coll wo_coll = {
    "work_orders",
    "WO",
    "n, updated_at, asset_n, plan_n, title, description, type, status, priority, due_at, "
    "completed_at, created_at, version",
    wo_row,
    {{"asset_id", "asset_n", "A"}, {"status", "status", NULL}, {"type", "type", NULL}, {0}},
};

static const char *upd_col(const struct coll *c)
{
    return c == &readings_coll ? "created_at" : "updated_at";
}

/* One object by n, or NULL. */
/* Step a write statement to its end and finalize it; false when the write
 * failed (the request's transaction is then rolled back by answering 500). */
static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

static json_t *fetch_one(struct sim *s, const struct coll *c, int64_t n)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE n = ?", c->columns, c->table);
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, 1, n);
    if (sqlite3_step(st) == SQLITE_ROW)
        out = c->row(s, st);
    sqlite3_finalize(st);
    return out;
}

/* The row number of asset "A-000123", or 0 when there is no such asset. */
static int64_t asset_number(struct sim *s, const char *aid)
{
    int64_t an = parse_id("A", aid);
    json_t *a = an ? fetch_one(s, &assets_coll, an) : NULL;
    bool found = a != NULL;
    json_decref(a);
    return found ? an : 0;
}

/* Parse ?limit=. False with resp filled when invalid. */
static bool get_limit(struct sim *s, struct http_request *req, struct http_response *resp,
                      int64_t *limit)
{
    const char *l = http_query(req, "limit");
    *limit = LIMIT_DEFAULT;
    if (l && (str_to_i64(l, limit) || *limit < 1 || *limit > LIMIT_MAX)) {
        g_field_error(s, req, resp, "limit", "limit must be an integer 1..200");
        return false;
    }
    return true;
}

/*
 * The list engine shared by every collection.
 *   offset mode (?offset=N): ordered by id (creation order: ids only grow and
 *     are never reused, so pages stay disjoint and complete while records are
 *     created or updated between pages); answers total and next_offset.
 *   cursor mode (default): ordered by (updated_at, id); the first page pins
 *     a high-water mark (the newest change stamp) and every later page of
 *     the same cursor chain shows only rows changed at or before it, after
 *     the last row served. A row changed between pages is therefore neither
 *     served twice nor lost: it moves past the mark and the next incremental
 *     pull (?updated_since=<watermark>, exclusive) picks it up.
 * scope_col/scope_n restrict to a parent (a meter's readings).
 */
static void list(struct sim *s, struct http_request *req, struct http_response *resp,
                 const struct coll *c, const char *scope_col, int64_t scope_n)
{
    int64_t limit;
    if (!get_limit(s, req, resp, &limit))
        return;
    const char *cur = http_query(req, "cursor");
    const char *off = http_query(req, "offset");
    json_t *state = NULL;
    if (cur && off) {
        g_error(s, req, resp, 400, "bad_request", "use either offset or cursor, not both");
        return;
    }
    if (cur) {
        state = sim_cursor_decode(req->arena, cur);
        if (!state || !json_is_integer(json_object_get(state, "a")) ||
            !json_is_integer(json_object_get(state, "u")) ||
            !json_is_integer(json_object_get(state, "n")) ||
            !json_is_object(json_object_get(state, "f"))) {
            g_error(s, req, resp, 400, "invalid_cursor", "the cursor is not valid");
            return;
        }
    }
    /* filters: from the cursor (the chain keeps its query), else the query */
    json_t *filters =
        state ? json_object_get(state, "f") : json_arena_own(req->arena, json_object());
    int64_t since = INT64_MIN;
    if (!state) {
        const char *us = http_query(req, "updated_since");
        if (us && time_parse_rfc3339(us, &since)) {
            g_field_error(s, req, resp, "updated_since",
                          "updated_since must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z");
            return;
        }
        for (const struct filter *f = c->filters; f->param; f++) {
            const char *v = http_query(req, f->param);
            if (v)
                json_object_set_new(filters, f->param, json_string(v));
        }
    }
    struct buf where;
    buf_init(&where, 4096);
    enum ab_rc rc = buf_append_str(&where, " WHERE 1=1");
    if (!rc && scope_col)
        rc = buf_printf(&where, " AND %s = %lld", scope_col, (long long)scope_n);
    for (const struct filter *f = c->filters; !rc && f->param; f++)
        if (json_object_get(filters, f->param))
            rc = buf_printf(&where, " AND %s = :%s", f->column, f->param);
    bool offset_mode = off != NULL;
    int64_t offset = 0, as_of = 0, last_u = 0, last_n = 0;
    if (offset_mode) {
        if (str_to_i64(off, &offset) || offset < 0) {
            buf_cleanup(&where);
            g_field_error(s, req, resp, "offset", "offset must be an integer >= 0");
            return;
        }
        if (!rc && since != INT64_MIN)
            rc = buf_printf(&where, " AND %s > %lld", upd_col(c), (long long)since);
    } else if (state) {
        as_of = json_integer_value(json_object_get(state, "a"));
        last_u = json_integer_value(json_object_get(state, "u"));
        last_n = json_integer_value(json_object_get(state, "n"));
        if (!rc)
            rc = buf_printf(&where, " AND (%s > %lld OR (%s = %lld AND n > %lld)) AND %s <= %lld",
                            upd_col(c), (long long)last_u, upd_col(c), (long long)last_u,
                            (long long)last_n, upd_col(c), (long long)as_of);
    } else {
        as_of = sim_last_stamp(s);
        if (!rc && since != INT64_MIN)
            rc = buf_printf(&where, " AND %s > %lld", upd_col(c), (long long)since);
        if (!rc)
            rc = buf_printf(&where, " AND %s <= %lld", upd_col(c), (long long)as_of);
    }
    char *sql = NULL;
    if (!rc)
        sql = arena_printf(req->arena, "SELECT %s FROM %s%s ORDER BY %s LIMIT %lld OFFSET %lld",
                           c->columns, c->table, buf_str(&where),
                           offset_mode ? "n"
                                       : (c == &readings_coll ? "created_at, n" : "updated_at, n"),
                           (long long)limit + 1, (long long)offset);
    char *count_sql =
        rc ? NULL
           : arena_printf(req->arena, "SELECT COUNT(*) FROM %s%s", c->table, buf_str(&where));
    buf_cleanup(&where);
    if (rc) {
        g_error(s, req, resp, 400, "bad_request", "query too long");
        return;
    }
    json_t *items = json_array();
    int64_t total = -1;
    bool more = false;
    for (int pass = 0; pass < (offset_mode ? 2 : 1); pass++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(sim_db(s), pass ? count_sql : sql, -1, &st, NULL) != SQLITE_OK) {
            json_decref(items);
            FAIL(s, req, resp, 500, "internal_error", sqlite3_errmsg(sim_db(s)));
        }
        for (const struct filter *f = c->filters; f->param; f++) {
            json_t *v = json_object_get(filters, f->param);
            if (!v)
                continue;
            char name[64];
            snprintf(name, sizeof(name), ":%s", f->param);
            int idx = sqlite3_bind_parameter_index(st, name);
            if (f->prefix)
                sqlite3_bind_int64(st, idx, parse_id(f->prefix, json_string_value(v)));
            else
                sqlite3_bind_text(st, idx, json_string_value(v), -1, SQLITE_TRANSIENT);
        }
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (pass) {
                total = sqlite3_column_int64(st, 0);
                continue;
            }
            if ((int64_t)json_array_size(items) == limit) {
                more = true; /* one row past the page: there is a next page */
                break;
            }
            json_array_append_new(items, c->row(s, st));
            last_u = sqlite3_column_int64(st, 1);
            last_n = sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
    json_t *out;
    if (offset_mode) {
        out = json_pack("{s:o,s:I,s:I,s:I,s:o}", "items", items, "offset", (json_int_t)offset,
                        "limit", (json_int_t)limit, "total", (json_int_t)total, "next_offset",
                        more ? json_integer(offset + limit) : json_null());
    } else {
        char wm[TIME_RFC3339_MAX];
        time_format_rfc3339(as_of, wm);
        const char *next = NULL;
        if (more)
            next = sim_cursor_encode(
                req->arena, json_pack("{s:I,s:I,s:I,s:O}", "a", (json_int_t)as_of, "u",
                                      (json_int_t)last_u, "n", (json_int_t)last_n, "f", filters));
        out = json_pack("{s:o,s:o,s:s}", "items", items, "next_cursor",
                        next ? json_string(next) : json_null(), "watermark", wm);
    }
    http_resp_json(resp, 200, out);
}

static void get_one(struct sim *s, struct http_request *req, struct http_response *resp,
                    const struct coll *c)
{
    int64_t n = parse_id(c->prefix, http_param(req, "id"));
    json_t *o = n ? fetch_one(s, c, n) : NULL;
    if (!o) {
        g_error(s, req, resp, 404, "not_found", "no such record");
        return;
    }
    http_resp_json(resp, 200, o);
}

/* ---- writes ------------------------------------------------------------------------------ */

static json_t *body_object(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o;
    char err[JSON_ERR_MAX];
    if (json_parse_object(req->arena, req->body, req->body_len, &o, err)) {
        g_error(s, req, resp, 400, "bad_request", err);
        return NULL;
    }
    return o;
}

/* Optional string field; false (resp filled) on a wrong type or bad value. */
static bool opt_str(struct sim *s, struct http_request *req, struct http_response *resp, json_t *o,
                    const char *field, const char *const *allowed, const char **out)
{
    json_t *v = json_object_get(o, field);
    if (!v)
        return true;
    if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200) {
        g_field_error(s, req, resp, field, "must be a non-empty string of at most 200 characters");
        return false;
    }
    const char *sv = json_string_value(v);
    if (allowed) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || strcmp(allowed[i], sv) == 0;
        if (!ok) {
            g_field_error(s, req, resp, field, "not one of the allowed values");
            return false;
        }
    }
    *out = sv;
    return true;
}

static bool opt_time(struct sim *s, struct http_request *req, struct http_response *resp, json_t *o,
                     const char *field, int64_t *out, bool *present)
{
    json_t *v = json_object_get(o, field);
    *present = v != NULL;
    if (!v || json_is_null(v)) {
        *present = v != NULL;
        *out = INT64_MIN;
        return true;
    }
    if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), out)) {
        g_field_error(s, req, resp, field, "must be an RFC 3339 time");
        return false;
    }
    return true;
}

static bool known_fields(struct sim *s, struct http_request *req, struct http_response *resp,
                         json_t *o, const char *const *fields)
{
    const char *key;
    json_t *v;
    json_object_foreach (o, key, v) {
        bool ok = false;
        for (size_t i = 0; fields[i] && !ok; i++)
            ok = strcmp(fields[i], key) == 0;
        if (!ok) {
            g_field_error(s, req, resp, key, "unknown or read-only field");
            return false;
        }
    }
    return true;
}

/* If-Match: "<version>" against the stored version; false (412) when stale. */
static bool check_if_match(struct sim *s, struct http_request *req, struct http_response *resp,
                           json_t *current)
{
    const char *im = http_header(req, "If-Match");
    if (!im)
        return true;
    char want[32];
    snprintf(want, sizeof(want), "\"%lld\"",
             (long long)json_integer_value(json_object_get(current, "version")));
    if (strcmp(im, want) == 0 || strcmp(im, want + 1) == 0 || strcmp(im, "*") == 0)
        return true;
    g_error(s, req, resp, 412, "precondition_failed",
            "the record changed since you read it (If-Match does not match its version)");
    return false;
}

static void answer_created(struct sim *s, struct http_request *req, struct http_response *resp,
                           const struct coll *c, int64_t n, const char *base)
{
    json_t *o = fetch_one(s, c, n);
    if (!o) {
        g_error(s, req, resp, 500, "internal_error", "record vanished");
        return;
    }
    const char *loc =
        arena_printf(req->arena, "%s/%s", base, json_string_value(json_object_get(o, "id")));
    http_resp_json(resp, 201, o);
    if (http_resp_header(req, resp, "Location", loc))
        resp->status = 500;
}

static const char *const asset_statuses[] = {"active", "inactive", "in_repair", "retired", NULL};

static bool asset_calibration(struct sim *s, struct http_request *req, struct http_response *resp,
                              json_t *o, bool *present, int64_t *interval, int64_t *last)
{
    json_t *cal = json_object_get(o, "calibration");
    *present = cal != NULL;
    *interval = -1;
    *last = INT64_MIN;
    if (!cal || json_is_null(cal))
        return true;
    if (!json_is_object(cal)) {
        g_field_error(s, req, resp, "calibration", "must be an object or null");
        return false;
    }
    static const char *const fields[] = {"interval_days", "last_calibrated_at", NULL};
    if (!known_fields(s, req, resp, cal, fields))
        return false;
    json_t *iv = json_object_get(cal, "interval_days");
    if (!json_is_integer(iv) || json_integer_value(iv) < 1 || json_integer_value(iv) > 3650) {
        g_field_error(s, req, resp, "calibration.interval_days", "must be an integer 1..3650");
        return false;
    }
    *interval = json_integer_value(iv);
    bool lp;
    if (!opt_time(s, req, resp, cal, "last_calibrated_at", last, &lp))
        return false;
    if (*last == INT64_MIN) {
        g_field_error(s, req, resp, "calibration.last_calibrated_at", "required");
        return false;
    }
    return true;
}

static void asset_create(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o = body_object(s, req, resp);
    if (!o)
        return;
    static const char *const fields[] = {
        "tag",          "name",  "type",          "status",      "location",
        "manufacturer", "model", "serial_number", "calibration", NULL};
    const char *tag = NULL, *name = NULL, *type = NULL, *status = "active", *location = NULL,
               *mfr = NULL, *model = NULL, *serial = NULL;
    bool calp;
    int64_t interval, last;
    if (!known_fields(s, req, resp, o, fields) || !opt_str(s, req, resp, o, "tag", NULL, &tag) ||
        !opt_str(s, req, resp, o, "name", NULL, &name) ||
        !opt_str(s, req, resp, o, "type", NULL, &type) ||
        !opt_str(s, req, resp, o, "status", asset_statuses, &status) ||
        !opt_str(s, req, resp, o, "location", NULL, &location) ||
        !opt_str(s, req, resp, o, "manufacturer", NULL, &mfr) ||
        !opt_str(s, req, resp, o, "model", NULL, &model) ||
        !opt_str(s, req, resp, o, "serial_number", NULL, &serial) ||
        !asset_calibration(s, req, resp, o, &calp, &interval, &last))
        return;
    if (!tag || !name || !type) {
        g_field_error(s, req, resp, !tag ? "tag" : !name ? "name" : "type", "required");
        return;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT 1 FROM assets WHERE tag = ?", -1, &st, NULL) !=
        SQLITE_OK)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sqlite3_bind_text(st, 1, tag, -1, SQLITE_STATIC);
    bool dup = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (dup) {
        g_error(s, req, resp, 409, "duplicate_tag", "an asset with this tag exists");
        return;
    }
    int64_t now = sim_stamp(s);
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO assets(tag, name, type, status, location, manufacturer, "
                           "model, serial_number, cal_interval_days, cal_last_at, cal_due_at, "
                           "created_at, updated_at, version) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
                           -1, &st, NULL) != SQLITE_OK)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    const char *vals[] = {tag, name, type, status, location, mfr, model, serial};
    for (int i = 0; i < 8; i++)
        sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
    if (interval > 0) {
        sqlite3_bind_int64(st, 9, interval);
        sqlite3_bind_int64(st, 10, last);
        sqlite3_bind_int64(st, 11, last + interval * DAY_MS);
    }
    sqlite3_bind_int64(st, 12, now);
    sqlite3_bind_int64(st, 13, now);
    int ok = sqlite3_step(st);
    sqlite3_finalize(st);
    if (ok != SQLITE_DONE)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sim_effect(s, "assets_created", 1);
    answer_created(s, req, resp, &assets_coll, sqlite3_last_insert_rowid(sim_db(s)),
                   "/api/v1/assets");
}

/* UPDATE table SET <col = ?>... for the string fields present. */
struct setter {
    struct buf sql;
    const char *vals[16];
    int64_t ivals[16];
    bool is_int[16];
    bool is_null[16];
    int n;
};

static void set_str(struct setter *st, const char *col, const char *v)
{
    if (buf_printf(&st->sql, "%s = ?, ", col) == AB_OK) {
        st->vals[st->n] = v;
        st->is_int[st->n] = false;
        st->is_null[st->n] = v == NULL;
        st->n++;
    }
}

static void set_int(struct setter *st, const char *col, int64_t v, bool null)
{
    if (buf_printf(&st->sql, "%s = ?, ", col) == AB_OK) {
        st->ivals[st->n] = v;
        st->is_int[st->n] = true;
        st->is_null[st->n] = null;
        st->n++;
    }
}

static bool setter_run(struct sim *s, struct setter *su, const char *table, int64_t n)
{
    int64_t now = sim_stamp(s);
    if (buf_printf(&su->sql, "updated_at = %lld, version = version + 1 WHERE n = %lld",
                   (long long)now, (long long)n))
        return false;
    sqlite3_stmt *st;
    char head[64];
    snprintf(head, sizeof(head), "UPDATE %s SET ", table);
    struct buf full;
    buf_init(&full, 8192);
    bool ok = buf_append_str(&full, head) == AB_OK &&
              buf_append_str(&full, buf_str(&su->sql)) == AB_OK &&
              sqlite3_prepare_v2(sim_db(s), buf_str(&full), -1, &st, NULL) == SQLITE_OK;
    buf_cleanup(&full);
    if (!ok)
        return false;
    for (int i = 0; i < su->n; i++) {
        if (su->is_null[i])
            sqlite3_bind_null(st, i + 1);
        else if (su->is_int[i])
            sqlite3_bind_int64(st, i + 1, su->ivals[i]);
        else
            sqlite3_bind_text(st, i + 1, su->vals[i], -1, SQLITE_STATIC);
    }
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok;
}

static void asset_patch(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t n = parse_id("A", http_param(req, "id"));
    json_t *cur = n ? fetch_one(s, &assets_coll, n) : NULL;
    if (!cur)
        FAIL(s, req, resp, 404, "not_found", "no such record");
    json_arena_own(req->arena, cur);
    json_t *o = body_object(s, req, resp);
    if (!o || !check_if_match(s, req, resp, cur))
        return;
    static const char *const fields[] = {"name",          "type",         "status",
                                         "location",      "manufacturer", "model",
                                         "serial_number", "calibration",  NULL};
    if (!known_fields(s, req, resp, o, fields))
        return;
    struct setter su = {0};
    buf_init(&su.sql, 4096);
    static const char *const strs[] = {"name",         "type",  "status",       "location",
                                       "manufacturer", "model", "serial_number"};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        const char *v = NULL;
        if (!opt_str(s, req, resp, o, strs[i], strcmp(strs[i], "status") ? NULL : asset_statuses,
                     &v)) {
            buf_cleanup(&su.sql);
            return;
        }
        if (v)
            set_str(&su, strs[i], v);
    }
    bool calp;
    int64_t interval, last;
    if (!asset_calibration(s, req, resp, o, &calp, &interval, &last)) {
        buf_cleanup(&su.sql);
        return;
    }
    if (calp) {
        set_int(&su, "cal_interval_days", interval, interval < 0);
        set_int(&su, "cal_last_at", last, interval < 0);
        set_int(&su, "cal_due_at", last + interval * DAY_MS, interval < 0);
    }
    bool ok = setter_run(s, &su, "assets", n);
    buf_cleanup(&su.sql);
    if (!ok)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sim_effect(s, "assets_updated", 1);
    http_resp_json(resp, 200, fetch_one(s, &assets_coll, n));
}

static const char *const meter_kinds[] = {"counter", "gauge", NULL};

static void meter_create(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o = body_object(s, req, resp);
    if (!o)
        return;
    static const char *const fields[] = {"asset_id", "name", "kind", "unit", NULL};
    const char *aid = NULL, *name = NULL, *kind = NULL, *unit = "";
    if (!known_fields(s, req, resp, o, fields) ||
        !opt_str(s, req, resp, o, "asset_id", NULL, &aid) ||
        !opt_str(s, req, resp, o, "name", NULL, &name) ||
        !opt_str(s, req, resp, o, "kind", meter_kinds, &kind) ||
        !opt_str(s, req, resp, o, "unit", NULL, &unit))
        return;
    if (!aid || !name || !kind)
        FAILF(s, req, resp, !aid ? "asset_id" : !name ? "name" : "kind", "required");
    int64_t an = asset_number(s, aid);
    if (!an)
        FAILF(s, req, resp, "asset_id", "no such asset");
    int64_t now = sim_stamp(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO meters(asset_n, name, kind, unit, created_at, updated_at, "
                           "version) VALUES (?,?,?,?,?,?,1)",
                           -1, &st, NULL) != SQLITE_OK)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sqlite3_bind_int64(st, 1, an);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, unit, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, now);
    if (!step_done(st))
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sim_effect(s, "meters_created", 1);
    answer_created(s, req, resp, &meters_coll, sqlite3_last_insert_rowid(sim_db(s)),
                   "/api/v1/meters");
}

static void readings_list(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t mn = parse_id("M", http_param(req, "id"));
    json_t *m = mn ? fetch_one(s, &meters_coll, mn) : NULL;
    if (!m)
        FAIL(s, req, resp, 404, "not_found", "no such meter");
    json_decref(m);
    list(s, req, resp, &readings_coll, "meter_n", mn);
}

static void reading_post(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t mn = parse_id("M", http_param(req, "id"));
    json_t *m = mn ? fetch_one(s, &meters_coll, mn) : NULL;
    if (!m)
        FAIL(s, req, resp, 404, "not_found", "no such meter");
    json_arena_own(req->arena, m);
    json_t *o = body_object(s, req, resp);
    if (!o)
        return;
    static const char *const fields[] = {"value", "read_at", NULL};
    if (!known_fields(s, req, resp, o, fields))
        return;
    json_t *v = json_object_get(o, "value");
    if (!json_is_number(v))
        FAILF(s, req, resp, "value", "required: a number");
    double value = json_number_value(v);
    int64_t read_at;
    bool present;
    if (!opt_time(s, req, resp, o, "read_at", &read_at, &present))
        return;
    if (read_at == INT64_MIN)
        read_at = sim_now_ms(s);
    json_t *lastv = json_object_get(m, "last_value");
    bool counter = strcmp(json_string_value(json_object_get(m, "kind")), "counter") == 0;
    int64_t last_at = INT64_MIN;
    const char *lat = json_string_value(json_object_get(m, "last_read_at"));
    if (lat && time_parse_rfc3339(lat, &last_at))
        last_at = INT64_MIN;
    if (counter && json_is_number(lastv) && read_at >= last_at && value < json_number_value(lastv))
        FAILF(s, req, resp, "value",
              "a counter reading may not be lower than the meter's last value");
    int64_t now = sim_stamp(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO readings(meter_n, value, read_at, created_at) "
                           "VALUES (?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sqlite3_bind_int64(st, 1, mn);
    sqlite3_bind_double(st, 2, value);
    sqlite3_bind_int64(st, 3, read_at);
    sqlite3_bind_int64(st, 4, now);
    if (!step_done(st))
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    int64_t rn = sqlite3_last_insert_rowid(sim_db(s));
    if (read_at >= last_at) {
        if (sqlite3_prepare_v2(sim_db(s),
                               "UPDATE meters SET last_value = ?, last_read_at = ?, "
                               "updated_at = ?, version = version + 1 WHERE n = ?",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_double(st, 1, value);
            sqlite3_bind_int64(st, 2, read_at);
            sqlite3_bind_int64(st, 3, now);
            sqlite3_bind_int64(st, 4, mn);
            if (!step_done(st))
                FAIL(s, req, resp, 500, "internal_error", "state unavailable");
        } else {
            FAIL(s, req, resp, 500, "internal_error", "state unavailable");
        }
    }
    sim_effect(s, "readings_posted", 1);
    answer_created(s, req, resp, &readings_coll, rn,
                   arena_printf(req->arena, "/api/v1/meters/%s/readings", http_param(req, "id")));
}

static const char *const wo_types[] = {"corrective", "preventive", "calibration", "inspection",
                                       NULL};
static const char *const wo_statuses[] = {"open",      "in_progress", "on_hold",
                                          "completed", "cancelled",   NULL};

static bool opt_priority(struct sim *s, struct http_request *req, struct http_response *resp,
                         json_t *o, int64_t *out)
{
    json_t *v = json_object_get(o, "priority");
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5) {
        g_field_error(s, req, resp, "priority", "must be an integer 1 (highest)..5");
        return false;
    }
    *out = json_integer_value(v);
    return true;
}

static void wo_create(struct sim *s, struct http_request *req, struct http_response *resp)
{
    json_t *o = body_object(s, req, resp);
    if (!o)
        return;
    static const char *const fields[] = {"asset_id", "title",  "description", "type",
                                         "priority", "due_at", NULL};
    const char *aid = NULL, *title = NULL, *desc = NULL, *type = "corrective";
    int64_t prio = 3, due;
    bool duep;
    if (!known_fields(s, req, resp, o, fields) ||
        !opt_str(s, req, resp, o, "asset_id", NULL, &aid) ||
        !opt_str(s, req, resp, o, "title", NULL, &title) ||
        !opt_str(s, req, resp, o, "type", wo_types, &type) ||
        !opt_priority(s, req, resp, o, &prio) || !opt_time(s, req, resp, o, "due_at", &due, &duep))
        return;
    json_t *d = json_object_get(o, "description");
    if (d && !json_is_string(d))
        FAILF(s, req, resp, "description", "must be a string");
    desc = d ? json_string_value(d) : NULL;
    if (!aid || !title)
        FAILF(s, req, resp, !aid ? "asset_id" : "title", "required");
    int64_t an = asset_number(s, aid);
    if (!an)
        FAILF(s, req, resp, "asset_id", "no such asset");
    int64_t now = sim_stamp(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO work_orders(asset_n, title, description, type, status, "
                           "priority, due_at, created_at, updated_at, version) "
                           "VALUES (?,?,?,?,'open',?,?,?,?,1)",
                           -1, &st, NULL) != SQLITE_OK)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sqlite3_bind_int64(st, 1, an);
    sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, desc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, prio);
    if (due != INT64_MIN)
        sqlite3_bind_int64(st, 6, due);
    sqlite3_bind_int64(st, 7, now);
    sqlite3_bind_int64(st, 8, now);
    if (!step_done(st))
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sim_effect(s, "work_orders_created", 1);
    answer_created(s, req, resp, &wo_coll, sqlite3_last_insert_rowid(sim_db(s)),
                   "/api/v1/work-orders");
}

static bool transition_ok(const char *from, const char *to)
{
    if (strcmp(from, to) == 0)
        return true;
    if (strcmp(from, "completed") == 0 || strcmp(from, "cancelled") == 0)
        return false;
    if (strcmp(to, "open") == 0)
        return strcmp(from, "on_hold") == 0;
    return true;
}

/* Completing a calibration or preventive work order moves the asset's
 * calibration and the plan forward, as an EAM would. */
static bool wo_completed(struct sim *s, json_t *wo, int64_t at)
{
    bool ok = true;
    const char *type = json_string_value(json_object_get(wo, "type"));
    int64_t an = parse_id("A", json_string_value(json_object_get(wo, "asset_id")));
    int64_t pn = parse_id("P", json_string_value(json_object_get(wo, "plan_id")));
    sqlite3_stmt *st;
    int64_t stamp = sim_stamp(s);
    if (type && strcmp(type, "calibration") == 0 &&
        sqlite3_prepare_v2(sim_db(s),
                           "UPDATE assets SET cal_last_at = ?1, cal_due_at = ?1 + "
                           "cal_interval_days * 86400000, updated_at = ?2, version = version + 1 "
                           "WHERE n = ?3 AND cal_interval_days IS NOT NULL",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_int64(st, 2, stamp);
        sqlite3_bind_int64(st, 3, an);
        ok = step_done(st) && ok;
    }
    if (pn && sqlite3_prepare_v2(sim_db(s),
                                 "UPDATE plans SET last_done_at = ?1, next_due_at = ?1 + "
                                 "interval_days * 86400000, updated_at = ?2 WHERE n = ?3",
                                 -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, at);
        sqlite3_bind_int64(st, 2, stamp);
        sqlite3_bind_int64(st, 3, pn);
        ok = step_done(st) && ok;
    }
    return ok;
}

static void wo_patch(struct sim *s, struct http_request *req, struct http_response *resp)
{
    int64_t n = parse_id("WO", http_param(req, "id"));
    json_t *cur = n ? fetch_one(s, &wo_coll, n) : NULL;
    if (!cur)
        FAIL(s, req, resp, 404, "not_found", "no such record");
    json_arena_own(req->arena, cur);
    json_t *o = body_object(s, req, resp);
    if (!o || !check_if_match(s, req, resp, cur))
        return;
    static const char *const fields[] = {"title",  "description", "priority",
                                         "due_at", "status",      NULL};
    const char *title = NULL, *status = NULL;
    int64_t prio = -1, due;
    bool duep;
    if (!known_fields(s, req, resp, o, fields) ||
        !opt_str(s, req, resp, o, "title", NULL, &title) ||
        !opt_str(s, req, resp, o, "status", wo_statuses, &status) ||
        !opt_priority(s, req, resp, o, &prio) || !opt_time(s, req, resp, o, "due_at", &due, &duep))
        return;
    json_t *d = json_object_get(o, "description");
    if (d && !json_is_string(d) && !json_is_null(d))
        FAILF(s, req, resp, "description", "must be a string or null");
    const char *from = json_string_value(json_object_get(cur, "status"));
    if (status && !transition_ok(from, status)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "cannot change status from %s to %s", from, status);
        FAIL(s, req, resp, 409, "invalid_transition", msg);
    }
    struct setter su = {0};
    buf_init(&su.sql, 4096);
    if (title)
        set_str(&su, "title", title);
    if (d)
        set_str(&su, "description", json_string_value(d));
    if (prio > 0)
        set_int(&su, "priority", prio, false);
    if (duep)
        set_int(&su, "due_at", due, due == INT64_MIN);
    bool completing = status && strcmp(status, "completed") == 0 && strcmp(from, "completed") != 0;
    int64_t now = sim_now_ms(s);
    if (status)
        set_str(&su, "status", status);
    if (completing)
        set_int(&su, "completed_at", now, false);
    bool ok = setter_run(s, &su, "work_orders", n);
    buf_cleanup(&su.sql);
    if (!ok)
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    if (completing && !wo_completed(s, cur, now))
        FAIL(s, req, resp, 500, "internal_error", "state unavailable");
    sim_effect(s, "work_orders_updated", 1);
    http_resp_json(resp, 200, fetch_one(s, &wo_coll, n));
}

#define LIST_FN(name, coll)                                                                        \
    static void name##_list(struct sim *s, struct http_request *req, struct http_response *resp)   \
    {                                                                                              \
        list(s, req, resp, &(coll), NULL, 0);                                                      \
    }                                                                                              \
    static void name##_get(struct sim *s, struct http_request *req, struct http_response *resp)    \
    {                                                                                              \
        get_one(s, req, resp, &(coll));                                                            \
    }

LIST_FN(asset, assets_coll)
LIST_FN(meter, meters_coll)
LIST_FN(plan, plans_coll)
LIST_FN(wo, wo_coll)

/* ---- seeding ------------------------------------------------------------------------------- */

static const char g_ddl[] =
    "CREATE TABLE IF NOT EXISTS assets(n INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL, type TEXT NOT NULL, status TEXT NOT NULL, location TEXT,"
    " manufacturer TEXT, model TEXT, serial_number TEXT, cal_interval_days INTEGER,"
    " cal_last_at INTEGER, cal_due_at INTEGER, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL, version INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS assets_upd ON assets(updated_at, n);"
    "CREATE TABLE IF NOT EXISTS meters(n INTEGER PRIMARY KEY, asset_n INTEGER NOT NULL,"
    " name TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL, last_value REAL,"
    " last_read_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " version INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS meters_upd ON meters(updated_at, n);"
    "CREATE TABLE IF NOT EXISTS readings(n INTEGER PRIMARY KEY, meter_n INTEGER NOT NULL,"
    " value REAL NOT NULL, read_at INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS readings_meter ON readings(meter_n, created_at, n);"
    "CREATE TABLE IF NOT EXISTS plans(n INTEGER PRIMARY KEY, asset_n INTEGER NOT NULL,"
    " name TEXT NOT NULL, kind TEXT NOT NULL, interval_days INTEGER NOT NULL,"
    " last_done_at INTEGER, next_due_at INTEGER NOT NULL, created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS work_orders(n INTEGER PRIMARY KEY, asset_n INTEGER NOT NULL,"
    " plan_n INTEGER, title TEXT NOT NULL, description TEXT, type TEXT NOT NULL,"
    " status TEXT NOT NULL, priority INTEGER NOT NULL, due_at INTEGER, completed_at INTEGER,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, version INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS wo_upd ON work_orders(updated_at, n);";

struct kind {
    const char *type, *prefix, *name, *mfr, *model;
    int cal_days; /* 0: not calibrated */
    const char *meter, *unit, *mkind;
};

static const struct kind kinds[] = {
    {"ict_fixture", "FX", "ICT fixture", "Keysight", "i3070 fixture", 0, "cycles", "cycles",
     "counter"},
    {"test_station", "TS", "Functional test station", "National Instruments", "PXIe-1085", 0,
     "operating_hours", "h", "counter"},
    {"torque_tool", "TQ", "Torque screwdriver", "Atlas Copco", "STB34", 180, "cycles", "cycles",
     "counter"},
    {"multimeter", "DMM", "Digital multimeter", "Fluke", "8846A", 365, NULL, NULL, NULL},
    {"oscilloscope", "OSC", "Oscilloscope", "Tektronix", "MSO54", 365, NULL, NULL, NULL},
    {"power_supply", "PSU", "Programmable power supply", "Keysight", "E36313A", 365, "temperature",
     "degC", "gauge"},
};

static const char *const lines[] = {"Line 1", "Line 2", "Line 3", "SMT hall", "Repair bay"};

static enum ab_rc g_seed(struct sim *s, struct sim_prng *rng, unsigned n_assets)
{
    sqlite3 *db = sim_db(s);
    int64_t now = sim_now_ms(s);
    /* change stamps: strictly increasing over the past 90 days */
    int64_t per = n_assets ? (90 * DAY_MS) / ((int64_t)n_assets * 4 + 1) : DAY_MS;
    int64_t t = now - 90 * DAY_MS;
    sqlite3_stmt *ins_a, *ins_m, *ins_r, *ins_p, *ins_w;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO assets(tag, name, type, status, location, manufacturer,"
                           " model, serial_number, cal_interval_days, cal_last_at, cal_due_at,"
                           " created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
                           -1, &ins_a, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO meters(asset_n, name, kind, unit, last_value, last_read_at,"
                           " created_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,1)",
                           -1, &ins_m, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO readings(meter_n, value, read_at, created_at)"
                           " VALUES (?,?,?,?)",
                           -1, &ins_r, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO plans(asset_n, name, kind, interval_days, last_done_at,"
                           " next_due_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &ins_p, NULL) ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO work_orders(asset_n, plan_n, title, description, type,"
                           " status, priority, due_at, completed_at, created_at, updated_at,"
                           " version) VALUES (?,?,?,?,?,?,?,?,?,?,?,1)",
                           -1, &ins_w, NULL))
        return AB_EINTERNAL;
    enum ab_rc rc = AB_OK;
    for (unsigned i = 0; i < n_assets && !rc; i++) {
        const struct kind *k = &kinds[sim_prng_next(rng) % (sizeof(kinds) / sizeof(kinds[0]))];
        char tag[32], name[96], serial[32];
        snprintf(tag, sizeof(tag), "%s-%04u", k->prefix, 1001 + i);
        snprintf(name, sizeof(name), "%s %u", k->name, 1001 + i);
        snprintf(serial, sizeof(serial), "SN%08llu",
                 (unsigned long long)(sim_prng_next(rng) % 100000000ULL));
        int64_t roll = sim_prng_range(rng, 0, 99);
        const char *status = roll < 85   ? "active"
                             : roll < 92 ? "in_repair"
                             : roll < 97 ? "inactive"
                                         : "retired";
        t += sim_prng_range(rng, 1, per);
        int64_t an = (int64_t)i + 1;
        sqlite3_reset(ins_a);
        sqlite3_clear_bindings(ins_a);
        sqlite3_bind_text(ins_a, 1, tag, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins_a, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins_a, 3, k->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 4, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 5, lines[sim_prng_next(rng) % 5], -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 6, k->mfr, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 7, k->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_a, 8, serial, -1, SQLITE_TRANSIENT);
        int64_t cal_last = 0, cal_due = 0;
        if (k->cal_days) {
            /* due between 20 days ago and most of an interval ahead: some overdue */
            cal_due = now + sim_prng_range(rng, -20, k->cal_days - 10) * DAY_MS;
            cal_last = cal_due - (int64_t)k->cal_days * DAY_MS;
            sqlite3_bind_int(ins_a, 9, k->cal_days);
            sqlite3_bind_int64(ins_a, 10, cal_last);
            sqlite3_bind_int64(ins_a, 11, cal_due);
        }
        sqlite3_bind_int64(ins_a, 12, t - 365 * DAY_MS);
        sqlite3_bind_int64(ins_a, 13, t);
        if (sqlite3_step(ins_a) != SQLITE_DONE)
            rc = AB_EINTERNAL;
        sim_effect(s, "seeded_assets", 1);
        if (k->meter) {
            bool counter = strcmp(k->mkind, "counter") == 0;
            double v = counter ? (double)sim_prng_range(rng, 1000, 200000)
                               : (double)sim_prng_range(rng, 20, 45);
            int64_t mn = 0;
            t += sim_prng_range(rng, 1, per);
            sqlite3_reset(ins_m);
            sqlite3_bind_int64(ins_m, 1, an);
            sqlite3_bind_text(ins_m, 2, k->meter, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_m, 3, k->mkind, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_m, 4, k->unit, -1, SQLITE_STATIC);
            sqlite3_bind_double(ins_m, 5, v);
            sqlite3_bind_int64(ins_m, 6, t);
            sqlite3_bind_int64(ins_m, 7, t - 300 * DAY_MS);
            sqlite3_bind_int64(ins_m, 8, t);
            if (sqlite3_step(ins_m) != SQLITE_DONE)
                rc = AB_EINTERNAL;
            mn = sqlite3_last_insert_rowid(db);
            for (int r = 3; r >= 1 && !rc; r--) {
                sqlite3_reset(ins_r);
                sqlite3_bind_int64(ins_r, 1, mn);
                sqlite3_bind_double(ins_r, 2, counter ? v - r * 500 : v - r);
                sqlite3_bind_int64(ins_r, 3, t - r * DAY_MS);
                sqlite3_bind_int64(ins_r, 4, t - r * DAY_MS);
                if (sqlite3_step(ins_r) != SQLITE_DONE)
                    rc = AB_EINTERNAL;
            }
        }
        /* a plan: calibration for calibrated kinds, preventive maintenance else */
        int interval = k->cal_days ? k->cal_days : (int)sim_prng_range(rng, 1, 4) * 30;
        int64_t next = k->cal_days ? cal_due : now + sim_prng_range(rng, -5, interval) * DAY_MS;
        t += sim_prng_range(rng, 1, per);
        sqlite3_reset(ins_p);
        sqlite3_bind_int64(ins_p, 1, an);
        sqlite3_bind_text(ins_p, 2, k->cal_days ? "Calibration" : "Preventive maintenance", -1,
                          SQLITE_STATIC);
        sqlite3_bind_text(ins_p, 3, k->cal_days ? "calibration" : "pm", -1, SQLITE_STATIC);
        sqlite3_bind_int(ins_p, 4, interval);
        sqlite3_bind_int64(ins_p, 5, next - (int64_t)interval * DAY_MS);
        sqlite3_bind_int64(ins_p, 6, next);
        sqlite3_bind_int64(ins_p, 7, t - 365 * DAY_MS);
        sqlite3_bind_int64(ins_p, 8, t);
        if (sqlite3_step(ins_p) != SQLITE_DONE)
            rc = AB_EINTERNAL;
        int64_t pn = sqlite3_last_insert_rowid(db);
        /* about half the assets have a work order */
        if (sim_prng_range(rng, 0, 1)) {
            static const char *const wstat[] = {"open", "open", "in_progress", "completed"};
            const char *ws = wstat[sim_prng_next(rng) % 4];
            bool pm = sim_prng_range(rng, 0, 1);
            t += sim_prng_range(rng, 1, per);
            sqlite3_reset(ins_w);
            sqlite3_clear_bindings(ins_w);
            sqlite3_bind_int64(ins_w, 1, an);
            if (pm)
                sqlite3_bind_int64(ins_w, 2, pn);
            sqlite3_bind_text(ins_w, 3,
                              pm ? (k->cal_days ? "Scheduled calibration" : "Scheduled PM")
                                 : "Intermittent failures",
                              -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_w, 4, pm ? "Generated from plan" : "Reported by test operator",
                              -1, SQLITE_STATIC);
            sqlite3_bind_text(ins_w, 5,
                              pm ? (k->cal_days ? "calibration" : "preventive") : "corrective", -1,
                              SQLITE_STATIC);
            sqlite3_bind_text(ins_w, 6, ws, -1, SQLITE_STATIC);
            sqlite3_bind_int(ins_w, 7, (int)sim_prng_range(rng, 1, 5));
            sqlite3_bind_int64(ins_w, 8, pm ? next : now + sim_prng_range(rng, -3, 14) * DAY_MS);
            if (strcmp(ws, "completed") == 0)
                sqlite3_bind_int64(ins_w, 9, t);
            sqlite3_bind_int64(ins_w, 10, t - 2 * DAY_MS);
            sqlite3_bind_int64(ins_w, 11, t);
            if (sqlite3_step(ins_w) != SQLITE_DONE)
                rc = AB_EINTERNAL;
        }
    }
    sqlite3_finalize(ins_a);
    sqlite3_finalize(ins_m);
    sqlite3_finalize(ins_r);
    sqlite3_finalize(ins_p);
    sqlite3_finalize(ins_w);
    /* later writes stamp after every seeded row */
    while (!rc && sim_last_stamp(s) < t)
        (void)sim_stamp(s);
    return rc;
}

/* ---- dump ---------------------------------------------------------------------------------- */

static json_t *dump_coll(struct sim *s, const struct coll *c)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY n", c->columns, c->table);
    json_t *items = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s), sql, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(items, c->row(s, st));
        sqlite3_finalize(st);
    }
    return items;
}

static json_t *g_dump(struct sim *s)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o}", "assets", dump_coll(s, &assets_coll), "meters",
                     dump_coll(s, &meters_coll), "readings", dump_coll(s, &readings_coll), "plans",
                     dump_coll(s, &plans_coll), "work_orders", dump_coll(s, &wo_coll));
}

/* ---- the provider ---------------------------------------------------------------------------- */

static const struct sim_route g_routes[] = {
    {"GET", "/api/v1/assets", asset_list, SIM_ROUTE_LIST},
    {"POST", "/api/v1/assets", asset_create, SIM_ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/assets/{id}", asset_get, 0},
    {"PATCH", "/api/v1/assets/{id}", asset_patch, SIM_ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/meters", meter_list, SIM_ROUTE_LIST},
    {"POST", "/api/v1/meters", meter_create, SIM_ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/meters/{id}", meter_get, 0},
    {"GET", "/api/v1/meters/{id}/readings", readings_list, SIM_ROUTE_LIST},
    {"POST", "/api/v1/meters/{id}/readings", reading_post, SIM_ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/plans", plan_list, SIM_ROUTE_LIST},
    {"GET", "/api/v1/plans/{id}", plan_get, 0},
    {"GET", "/api/v1/work-orders", wo_list, SIM_ROUTE_LIST},
    {"POST", "/api/v1/work-orders", wo_create, SIM_ROUTE_IDEMPOTENT},
    {"GET", "/api/v1/work-orders/{id}", wo_get, 0},
    {"PATCH", "/api/v1/work-orders/{id}", wo_patch, SIM_ROUTE_IDEMPOTENT},
    {NULL, NULL, NULL, 0},
};

static const char *const g_effects[] = {
    "assets_created",      "assets_updated",      "meters_created", "readings_posted",
    "work_orders_created", "work_orders_updated", "seeded_assets",  NULL,
};

const struct sim_provider sim_generic = {
    SIM_ABI_V1, /* abi */
    "generic",  /* name */
    "REST/JSON EAM: assets, meters, readings, plans, work orders (docs/sim/generic.md)",
    g_ddl,          /* ddl: provider tables */
    g_effects,      /* effects: counter names */
    g_routes,       /* routes */
    "sim-token",    /* default_token (Bearer) */
    NULL,           /* default_user: not used */
    NULL,           /* default_password: not used */
    50.0,           /* default_rate_limit: requests per second */
    50,             /* default_assets */
    g_seed,         /* seed */
    g_auth,         /* authenticate: Bearer */
    g_expire,       /* expire_token: 401 token_expired once */
    g_error,        /* error: {"error":code,"message":...} */
    g_rate_limited, /* rate_limited: 429 + Retry-After */
    g_dump,         /* dump */
};
