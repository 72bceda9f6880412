/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap.c: the `sap_pm` provider simulator: SAP S/4HANA Plant Maintenance
 * as its OData services show it (shared/providers/sap-pm.md, docs/sim/
 * sap_pm.md): six V2 services under /sap/opu/odata/sap/ and two V4 services
 * under /sap/opu/odata4/sap/, Basic authentication with sap-client, the
 * Gateway's CSRF protection bound to a session cookie, SAP's error body and
 * the [inferred] behaviour behind --set switches. This file holds the
 * options, authentication, CSRF sessions, errors and the dispatch of a
 * resource path; the entity engine is in sim_sap_entity.c, PM behaviour and
 * seeding in sim_sap_pm.c, path parsing in sim_sap_url.c. Only the
 * framework (sim.c) calls in, through sim_sap_pm and sim_sap_configure.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "sim/sim_sap_int.h"

#define SID "SIM" /* the system id in cookie names and realms */

/* ---- options ------------------------------------------------------------------------------- */

static bool int_opt(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    return str_to_i64(v, out) == AB_OK && *out >= lo && *out <= hi;
}

static bool pick(const char *v, const char *a, const char *b, bool *out_b)
{
    if (strcmp(v, a) == 0)
        *out_b = false;
    else if (strcmp(v, b) == 0)
        *out_b = true;
    else
        return false;
    return true;
}

static bool digits(const char *v, size_t n)
{
    if (strlen(v) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)v[i]))
            return false;
    return true;
}

static enum ab_rc cfg_parse(const struct sim_opts *o, struct sap_cfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    str_lcpy(c->client, "100", sizeof(c->client));
    c->csrf_ttl_ms = 1800 * 1000;
    c->v2_page = 1000;
    c->v2_json_required = true;
    str_lcpy(c->final_phase, "08", sizeof(c->final_phase));
    if (o->server_version) {
        snprintf(err, errlen,
                 "the sap_pm simulator takes no --server-version (docs/sim/sap_pm.md)");
        return AB_EINVAL;
    }
    for (size_t i = 0; i < o->n_params; i++) {
        const char *eq = strchr(o->params[i], '=');
        char name[64];
        size_t nl = eq ? (size_t)(eq - o->params[i]) : 0;
        if (!eq || nl >= sizeof(name)) {
            snprintf(err, errlen, "--set '%s': expected NAME=VALUE", o->params[i]);
            return AB_EINVAL;
        }
        memcpy(name, o->params[i], nl);
        name[nl] = '\0';
        const char *v = eq + 1;
        int64_t n;
        bool ok = true, inv;
        if (strcmp(name, "sap-client") == 0) {
            ok = digits(v, 3);
            if (ok)
                str_lcpy(c->client, v, sizeof(c->client));
        } else if (strcmp(name, "csrf-token-ttl") == 0) {
            ok = int_opt(v, 1, 7 * 86400, &n);
            c->csrf_ttl_ms = n * 1000;
        } else if (strcmp(name, "csrf-fetch") == 0) {
            ok = pick(v, "any", "head", &c->csrf_head_only);
        } else if (strcmp(name, "v2-page-size") == 0) {
            ok = int_opt(v, 0, 100000, &c->v2_page);
        } else if (strcmp(name, "v4-page-size") == 0) {
            ok = int_opt(v, 0, 100000, &c->v4_page);
        } else if (strcmp(name, "v4-error-message") == 0) {
            ok = pick(v, "string", "object", &c->v4_message_object);
        } else if (strcmp(name, "v2-default-format") == 0) {
            ok = pick(v, "json", "reject", &c->v2_json_required);
        } else if (strcmp(name, "counter-precedence") == 0) {
            ok = pick(v, "total", "difference", &c->counter_diff_wins);
        } else if (strcmp(name, "counter-decrease") == 0) {
            ok = pick(v, "reject", "accept", &c->counter_decrease_ok);
        } else if (strcmp(name, "measurement-document-key") == 0) {
            ok = pick(v, "assign", "require", &c->mdoc_key_required);
        } else if (strcmp(name, "final-confirmation-phase") == 0) {
            ok = digits(v, 2);
            if (ok)
                str_lcpy(c->final_phase, v, sizeof(c->final_phase));
        } else {
            snprintf(err, errlen,
                     "--set %s: unknown sap_pm option (sap-client, csrf-token-ttl, csrf-fetch, "
                     "v2-page-size, v4-page-size, v4-error-message, v2-default-format, "
                     "counter-precedence, counter-decrease, measurement-document-key, "
                     "final-confirmation-phase; docs/sim/sap_pm.md)",
                     name);
            return AB_EINVAL;
        }
        (void)inv;
        if (!ok) {
            snprintf(err, errlen, "--set %s: invalid value '%s' (docs/sim/sap_pm.md)", name, v);
            return AB_EINVAL;
        }
    }
    return AB_OK;
}

enum ab_rc sim_sap_configure(const struct sim_opts *opts, char *err, size_t errlen);

enum ab_rc sim_sap_configure(const struct sim_opts *opts, char *err, size_t errlen)
{
    struct sap_cfg c;
    return cfg_parse(opts, &c, err, errlen);
}

void sap_cfg_get(const struct sim *s, struct sap_cfg *out)
{
    char err[256];
    if (cfg_parse(sim_options(s), out, err, sizeof(err)))
        memset(out, 0, sizeof(*out)); /* checked at start: cannot happen */
}

/* ---- errors ---------------------------------------------------------------------------------- */

void sap_header(struct sap_ctx *c, const char *name, const char *value)
{
    if (http_resp_header(c->req, c->resp, name, value))
        c->resp->status = 500;
}

static void fail_body(struct sim *s, struct http_request *req, struct http_response *resp,
                      const struct sap_service *svc, bool v4, int status, const char *code,
                      const char *msg)
{
    struct sap_cfg cfg;
    sap_cfg_get(s, &cfg);
    char ts[TIME_RFC3339_MAX], stamp[32];
    time_format_rfc3339(sim_now_ms(s), ts);
    /* SAP's innererror timestamp: YYYYMMDDhhmmss.fffffff */
    snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2s%.2s%.2s%.2s.0000000", ts, ts + 5, ts + 8, ts + 11,
             ts + 14, ts + 17);
    char tid[40];
    snprintf(tid, sizeof(tid), "%032llX", (unsigned long long)sim_last_stamp(s));
    json_t *inner =
        json_pack("{s:s,s:s,s:[]}", "transactionid", tid, "timestamp", stamp, "errordetails");
    if (svc)
        json_object_set_new(inner, "application",
                            json_pack("{s:s,s:s,s:s,s:s}", "component_id", svc->component,
                                      "service_namespace", "/SAP/", "service_id", svc->name,
                                      "service_version", "0001"));
    json_t *message = v4 && !cfg.v4_message_object
                          ? json_string(msg)
                          : json_pack("{s:s,s:s}", "lang", "en", "value", msg);
    http_resp_json(resp, status,
                   json_pack("{s:{s:s,s:o,s:o}}", "error", "code", code, "message", message,
                             "innererror", inner));
    (void)req;
}

void sap_fail(struct sap_ctx *c, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fail_body(c->s, c->req, c->resp, c->svc, c->path.v4, status, code, msg);
}

static bool v4_path(const struct http_request *req)
{
    return str_has_prefix(req->path, "/sap/opu/odata4/");
}

static void s_error(struct sim *s, struct http_request *req, struct http_response *resp, int status,
                    const char *code, const char *message)
{
    char c[64];
    snprintf(c, sizeof(c), "SIM/%s", code);
    for (char *p = c; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    fail_body(s, req, resp, NULL, v4_path(req), status, c, message);
}

static void s_rate_limited(struct sim *s, struct http_request *req, struct http_response *resp,
                           int64_t retry_after_s)
{
    s_error(s, req, resp, 429, "too_many_requests", "Too many requests; retry later");
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)retry_after_s);
    if (http_resp_header(req, resp, "Retry-After", v))
        resp->status = 500;
}

/* ---- Basic auth, sap-client, sessions, CSRF ----------------------------------------------------
 */

static void base64(const char *in, char *out, size_t outlen)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static void unauthorized(struct sim *s, struct http_request *req, struct http_response *resp,
                         const char *msg)
{
    struct sap_cfg cfg;
    sap_cfg_get(s, &cfg);
    s_error(s, req, resp, 401, "unauthorized", msg);
    char realm[96];
    snprintf(realm, sizeof(realm), "Basic realm=\"SAP NetWeaver Application Server [%s/%s]\"", SID,
             cfg.client);
    if (http_resp_header(req, resp, "WWW-Authenticate", realm))
        resp->status = 500;
}

static const char *cookie_name(struct arena *a, const struct sap_cfg *cfg)
{
    return arena_printf(a, "SAP_SESSIONID_%s_%s", SID, cfg->client);
}

/* The value of cookie name in the Cookie header, or NULL. */
static const char *cookie(struct http_request *req, const char *name)
{
    const char *h = http_header(req, "Cookie");
    size_t n = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        size_t len = strcspn(h, ";");
        if (len > n && strncmp(h, name, n) == 0 && h[n] == '=')
            return arena_strndup(req->arena, h + n + 1, len - n - 1);
        h += len;
    }
    return NULL;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A fresh opaque value (sessions, tokens): deterministic for a seed. */
static const char *fresh(struct sim *s, struct arena *a, const char *what)
{
    int64_t n = sap_next_number(s, what, 1);
    uint64_t seed = sim_options(s)->seed;
    uint64_t x = mix(seed ^ (uint64_t)n ^ (what[0] == 't' ? 0x7777ULL : 0x5555ULL));
    return arena_printf(a, "%016llx%016llx", (unsigned long long)x,
                        (unsigned long long)mix(x ^ (uint64_t)n));
}

struct session {
    const char *sid;
    const char *token; /* NULL: none issued */
    int64_t issued;
};

static bool session_load(struct sim *s, struct arena *a, const char *sid, struct session *out)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(sim_db(s), "SELECT token, issued FROM sap_sessions WHERE sid = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        out->sid = sid;
        out->token = t ? arena_strdup(a, t) : NULL;
        out->issued = sqlite3_column_int64(st, 1);
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

static void session_save(struct sim *s, const struct session *ss)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT OR REPLACE INTO sap_sessions(sid, token, issued) VALUES (?,?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, ss->sid, -1, SQLITE_STATIC);
    if (ss->token)
        sqlite3_bind_text(st, 2, ss->token, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, ss->issued);
    (void)sqlite3_step(st);
    sqlite3_finalize(st);
}

static bool modifying(const char *m)
{
    return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* The service root "…/API_X/" (for csrf-fetch=head). */
static bool service_root_path(struct http_request *req)
{
    char *path;
    struct sap_path p;
    char err[SAP_ERR_MAX];
    if (http_url_decode(req->arena, req->path, strlen(req->path), false, &path))
        return false;
    return sap_path_parse(req->arena, path, &p, err) == AB_OK && !*p.resource;
}

static void csrf_refused(struct http_request *req, struct http_response *resp)
{
    http_resp_text(resp, 403, "text/plain", "CSRF token validation failed");
    if (http_resp_header(req, resp, "x-csrf-token", "Required"))
        resp->status = 500;
}

static bool s_auth(struct sim *s, struct http_request *req, struct http_response *resp)
{
    const struct sim_opts *o = sim_options(s);
    struct sap_cfg cfg;
    sap_cfg_get(s, &cfg);
    const char *h = http_header(req, "Authorization");
    char up[512], enc[700];
    snprintf(up, sizeof(up), "%s:%s", o->user ? o->user : "", o->password ? o->password : "");
    base64(up, enc, sizeof(enc));
    if (!h || strncasecmp(h, "Basic ", 6) != 0 || strcmp(h + 6, enc) != 0) {
        unauthorized(s, req, resp, "Logon failed: wrong user name or password");
        return false;
    }
    const char *client = http_query(req, "sap-client");
    if (!client)
        client = http_header(req, "sap-client");
    if (client && strcmp(client, cfg.client) != 0) {
        unauthorized(s, req, resp, "Logon failed: client does not exist");
        return false;
    }
    /* the session: from the cookie, or a new one */
    const char *cname = cookie_name(req->arena, &cfg);
    const char *sid = cookie(req, cname);
    struct session ss = {0};
    if (!sid || !session_load(s, req->arena, sid, &ss)) {
        ss.sid = fresh(s, req->arena, "session");
        ss.token = NULL;
        ss.issued = 0;
        session_save(s, &ss);
        const char *set = arena_printf(req->arena, "%s=%s; path=/; HttpOnly", cname, ss.sid);
        if (http_resp_header(req, resp, "Set-Cookie", set)) {
            resp->status = 500;
            return false;
        }
    }
    int64_t now = sim_now_ms(s);
    bool valid = ss.token && now - ss.issued < cfg.csrf_ttl_ms;
    const char *xt = http_header(req, "X-CSRF-Token");
    if (!modifying(req->method)) {
        if (xt && strcasecmp(xt, "Fetch") == 0 &&
            (!cfg.csrf_head_only || (strcmp(req->method, "HEAD") == 0 && service_root_path(req)))) {
            if (!valid) {
                ss.token = fresh(s, req->arena, "token");
                ss.issued = now;
                session_save(s, &ss);
            }
            if (http_resp_header(req, resp, "x-csrf-token", ss.token)) {
                resp->status = 500;
                return false;
            }
        }
        return true;
    }
    if (!xt || !valid || strcmp(xt, ss.token) != 0) {
        if (ss.token && !valid) { /* expired: gone */
            ss.token = NULL;
            session_save(s, &ss);
        }
        csrf_refused(req, resp);
        return false;
    }
    return true;
}

static void s_expire(struct sim *s, struct http_request *req, struct http_response *resp)
{
    struct sap_cfg cfg;
    sap_cfg_get(s, &cfg);
    const char *sid = cookie(req, cookie_name(req->arena, &cfg));
    if (sid) {
        struct session ss = {.sid = sid};
        session_save(s, &ss); /* the session's token is gone */
    }
    if (modifying(req->method))
        csrf_refused(req, resp);
    else
        unauthorized(s, req, resp, "Session expired; log on again");
}

/* ---- dispatch
 * ------------------------------------------------------------------------------------ */

static const struct sap_service *service_find(const struct sap_path *p)
{
    for (size_t i = 0; sap_services[i]; i++) {
        const struct sap_service *v = sap_services[i];
        if (v->v4 != p->v4 || strcmp(v->name, p->service) != 0)
            continue;
        if (v->v4 ? strcmp(v->v4_name, p->v4_name) == 0 && strcmp(p->version, "0001") == 0
                  : !p->version || strcmp(p->version, "0001") == 0)
            return v;
    }
    return NULL;
}

static void service_document(struct sap_ctx *c)
{
    json_t *sets = json_array();
    for (size_t i = 0; c->svc->sets[i]; i++) {
        const char *n = c->svc->sets[i]->name;
        json_array_append_new(
            sets, c->path.v4 ? json_pack("{s:s,s:s,s:s}", "name", n, "kind", "EntitySet", "url", n)
                             : json_string(n));
    }
    if (c->path.v4)
        http_resp_json(c->resp, 200,
                       json_pack("{s:s,s:o}", "@odata.context", "$metadata", "value", sets));
    else
        http_resp_json(c->resp, 200, json_pack("{s:{s:o}}", "d", "EntitySets", sets));
}

/* Function imports and actions the specs list but the simulator does not run. */
static const char *const unsupported_actions[] = {
    "DismantleEquipment",
    "DismantleEquipWithDataTransfer",
    "InstallEquipment",
    "InstallEquipWithDataTransfer",
    "StartMaintPlnSchedule",
    "RestartMaintPlnSchedule",
    "AssignMaintItemToMaintPlan",
    "CancelMaintOrderConfirmation",
    "LongText",
    NULL,
};

static bool wants_json(struct sap_ctx *c)
{
    if (c->path.v4 || !c->cfg.v2_json_required)
        return true;
    const char *f = http_query(c->req, "$format");
    const char *acc = http_header(c->req, "Accept");
    if ((f && strcmp(f, "json") == 0) || (acc && strstr(acc, "application/json")))
        return true;
    sap_fail(c, 406, "SIM/FORMAT",
             "The simulator answers JSON only: send $format=json or Accept: application/json "
             "(SAP answers Atom XML by default)");
    return false;
}

static void s_odata(struct sim *s, struct http_request *req, struct http_response *resp)
{
    struct sap_ctx c = {.s = s, .req = req, .resp = resp};
    sap_cfg_get(s, &c.cfg);
    c.path.v4 = v4_path(req);
    char *path;
    char err[SAP_ERR_MAX];
    if (http_url_decode(req->arena, req->path, strlen(req->path), false, &path)) {
        sap_fail(&c, 400, "SIM/URI", "The request URI is not correctly encoded");
        return;
    }
    enum ab_rc rc = sap_path_parse(req->arena, path, &c.path, err);
    if (rc == AB_ENOTFOUND) {
        sap_fail(&c, 404, "SIM/NOT_FOUND", "No service at this path");
        return;
    }
    if (rc) {
        sap_fail(&c, 400, "SIM/URI", "Invalid resource path: %s", err);
        return;
    }
    c.svc = service_find(&c.path);
    if (!c.svc) {
        sap_fail(&c, 404, "/IWFND/MED/170",
                 "No service found for namespace '/SAP/', name '%s', "
                 "version '%s'",
                 c.path.service, c.path.version ? c.path.version : "0001");
        return;
    }
    const char *m = req->method;
    if (strcmp(m, "POST") == 0) {
        const char *xm = http_header(req, "X-HTTP-Method");
        if (xm && (strcasecmp(xm, "MERGE") == 0 || strcasecmp(xm, "PATCH") == 0))
            m = "PATCH";
    }
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    if (strcmp(m, "GET") == 0 && !wants_json(&c))
        return;
    const char *r = c.path.resource;
    if (!*r) {
        if (get)
            service_document(&c);
        else
            sap_fail(&c, 405, "SIM/METHOD", "Method %s is not allowed on the service root", m);
        return;
    }
    if (strcmp(r, "$metadata") == 0 || strcmp(r, "$batch") == 0) {
        sap_fail(&c, 501, "SIM/NOT_IMPLEMENTED", "%s is not supported by the simulator", r);
        return;
    }
    c.set = sap_set_find(c.svc, r);
    if (!c.set) {
        if (c.svc == sap_services[2] && !c.path.has_key &&
            (strcmp(r, "SetMaintNotifToInProcess") == 0 ||
             strcmp(r, "CompleteMaintNotification") == 0)) {
            if (strcmp(m, "POST") != 0)
                sap_fail(&c, 405, "SIM/METHOD", "Function import %s requires POST", r);
            else
                sap_notif_action(&c, strcmp(r, "CompleteMaintNotification") == 0);
            return;
        }
        for (size_t i = 0; unsupported_actions[i]; i++)
            if (strcmp(unsupported_actions[i], r) == 0) {
                sap_fail(&c, 501, "SIM/NOT_IMPLEMENTED", "%s is not supported by the simulator", r);
                return;
            }
        sap_fail(&c, 404, "SIM/NOT_FOUND", "Resource not found for segment '%s'", r);
        return;
    }
    if (c.path.nav) {
        const struct sap_nav *nv = NULL;
        for (size_t i = 0; sap_navs[i].from; i++)
            if (strcmp(sap_navs[i].from, c.set->name) == 0 &&
                strcmp(sap_navs[i].nav, c.path.nav) == 0)
                nv = &sap_navs[i];
        if (!nv || !c.path.has_key) {
            sap_fail(&c, 501, "SIM/NOT_IMPLEMENTED", "'%s' on %s is not supported by the simulator",
                     c.path.nav, c.set->name);
            return;
        }
        if (!get) {
            sap_fail(&c, 405, "SIM/METHOD", "Method %s is not allowed on %s", m, c.path.nav);
            return;
        }
        const char *key = sap_key_from_path(&c);
        if (!key)
            return;
        json_t *parent = sap_load(s, c.set->table, key);
        if (!parent) {
            sap_fail(&c, 404, "SIM/NOT_FOUND", "Resource not found for segment '%s'", c.set->name);
            return;
        }
        json_decref(parent);
        c.set = sap_set_find(c.svc, nv->to);
        sap_get(&c, nv->to_field, key);
        return;
    }
    unsigned ops = c.set->ops;
    if (get && (ops & SAP_OP_READ))
        sap_get(&c, NULL, NULL);
    else if (strcmp(m, "POST") == 0 && !c.path.has_key && (ops & SAP_OP_CREATE))
        sap_create(&c);
    else if (strcmp(m, "PATCH") == 0 && c.path.has_key && (ops & SAP_OP_UPDATE))
        sap_update(&c);
    else
        sap_fail(&c, 405, "SIM/METHOD", "Method %s is not allowed on %s%s", m, c.set->name,
                 c.path.has_key ? "(...)" : "");
}

/* ---- state
 * --------------------------------------------------------------------------------------- */

int64_t sap_next_number(struct sim *s, const char *name, int64_t first)
{
    sqlite3_stmt *st;
    int64_t v = first;
    if (sqlite3_prepare_v2(sim_db(s),
                           "INSERT INTO sap_counters(name, value) VALUES (?1, ?2) "
                           "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
                           -1, &st, NULL) != SQLITE_OK)
        return v;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, first);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static json_t *s_dump(struct sim *s)
{
    json_t *sets = json_object();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sim_db(s),
                           "SELECT set_name, data FROM sap_entities ORDER BY set_name, key", -1,
                           &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *set = (const char *)sqlite3_column_text(st, 0);
            json_t *arr = json_object_get(sets, set);
            if (!arr) {
                arr = json_array();
                json_object_set_new(sets, set, arr);
            }
            json_t *e = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
            if (e)
                json_array_append_new(arr, e);
        }
        sqlite3_finalize(st);
    }
    return json_pack("{s:s,s:o}", "note",
                     "entities in the simulator's internal form: dates and date-times in ms "
                     "since the epoch, times in ms of the day",
                     "sets", sets);
}

static const char ddl[] =
    "CREATE TABLE IF NOT EXISTS sap_entities(set_name TEXT NOT NULL, key TEXT NOT NULL,"
    " data TEXT NOT NULL, PRIMARY KEY(set_name, key));"
    "CREATE TABLE IF NOT EXISTS sap_sessions(sid TEXT PRIMARY KEY, token TEXT,"
    " issued INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS sap_counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

static const char *const effects[] = {
    "equipment_created",
    "equipment_updated",
    "notifications_created",
    "notifications_updated",
    "notifications_in_process",
    "notifications_completed",
    "measurement_documents_created",
    "counter_readings_posted",
    "confirmations_posted",
    "final_confirmations_posted",
    "seeded_equipment",
    NULL,
};

#define V2 "/sap/opu/odata/sap/*"
#define V4 "/sap/opu/odata4/sap/*"

static const struct sim_route routes[] = {
    {"GET", V2, s_odata, SIM_ROUTE_LIST},
    {"POST", V2, s_odata, 0},
    {"PATCH", V2, s_odata, 0},
    {"PUT", V2, s_odata, 0},
    {"DELETE", V2, s_odata, 0},
    {"GET", V4, s_odata, SIM_ROUTE_LIST},
    {"POST", V4, s_odata, 0},
    {"PATCH", V4, s_odata, 0},
    {"PUT", V4, s_odata, 0},
    {"DELETE", V4, s_odata, 0},
    {NULL, NULL, NULL, 0},
};

const struct sim_provider sim_sap_pm = {
    SIM_ABI_V1,
    "sap_pm",                                          /* name */
    "SAP S/4HANA PM OData V2/V4 (docs/sim/sap_pm.md)", /* summary */
    ddl,                                               /* ddl */
    effects,                                           /* effect counters */
    routes,                                            /* route table */
    NULL,                                              /* default_token: Basic only */
    "SIMUSER",                                         /* default_user */
    "sim-password",                                    /* default_password */
    0,                                                 /* default_rate_limit: none documented */
    50,                                                /* default_assets */
    sap_seed,                                          /* seed */
    s_auth,                                            /* authenticate (+ sap-client, CSRF) */
    s_expire,                                          /* expire_token */
    s_error,                                           /* error */
    s_rate_limited,                                    /* rate_limited */
    s_dump,                                            /* dump */
};
