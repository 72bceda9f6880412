/* SPDX-License-Identifier: Apache-2.0
 *
 * config.c: the assetbridge configuration schema and loader. See config.h.
 *
 * The schema is the set of static conf_entry tables below, one per YAML
 * mapping, leaves first; the generic engine in conf.c parses, decodes,
 * collects errors and prints. This file adds what is specific to
 * assetbridge: the name lists, the checks across keys (system_of_record
 * against providers, auth scheme against credentials, TLS files, listen
 * address, time zones) and the provider `mode` that may be a scalar or a
 * map. To add a key: add the field to config.h, one entry to the table of
 * its mapping, and document it in examples/assetbridge.yaml and
 * docs/configuration.md (see docs/internals/config.md).
 */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/str.h"

#define CONFIG_MAX_BYTES (4u << 20)   /* largest configuration file */
#define CONFIG_ARENA_MAX (256u << 20) /* ceiling of one configuration's arena */
#define CONFIG_ZONEINFO "/usr/share/zoneinfo"

const char *const config_domain_names[DOMAIN_COUNT + 1] = {
    "asset_master", "calibration", "maintenance", "work_orders", "usage", NULL};

const char *const config_mode_names[4] = {"read_only", "draft", "write_back", NULL};

const char *const config_provider_types[] = {"wats",
                                             "sap_pm",
                                             "generic",
                                             "maximo",
                                             "hxgn_eam",
                                             "servicenow",
                                             "fiix",
                                             "limble",
                                             "upkeep",
                                             "ultimo",
                                             "maintenance_connection",
                                             "met_team",
                                             "gagetrak",
                                             "indysoft",
                                             NULL};

const char *const config_entity_names[] = {
    "asset",      "asset_type",   "meter",  "reading", "calibration", "maintenance_plan",
    "work_order", "notification", "report", NULL};

static const char *const auth_schemes[] = {
    "none", "basic", "bearer", "token", "oauth2_client_credentials", "api_key", NULL};
static const char *const severities[] = {"plant_critical", "reporting", NULL};
static const char *const synchronous_modes[] = {"normal", "full", "extra", NULL};
static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const log_formats[] = {"json", "text", NULL};

/* A loaded configuration: the public struct first, so config_free() can get
 * back to the arena that owns everything. */
struct config_impl {
    struct config cfg;
    struct arena *arena;
    struct conf_ctx *ctx;
};

/* ---- checks ------------------------------------------------------------ */

static void pos(const struct conf_node *n, bool key, unsigned *line, unsigned *col)
{
    *line = n ? (key && n->key_line ? n->key_line : n->line) : 0;
    *col = n ? (key && n->key_line ? n->key_column : n->column) : 0;
}

static void check_positive(struct conf_ctx *c, const struct conf_entry *e,
                           const struct conf_node *node, const char *path, void *base)
{
    bool bad;
    if (e->type == CONF_NUMBER) {
        double d;
        memcpy(&d, (char *)base + e->offset, sizeof(d));
        bad = !(d > 0);
    } else {
        int64_t v;
        memcpy(&v, (char *)base + e->offset, sizeof(v));
        bad = v <= 0;
    }
    if (node && !node->is_null && bad)
        conf_error(c, node->line, node->column, e->doc, "'%s' must be greater than 0", path);
}

static void check_nonnegative(struct conf_ctx *c, const struct conf_entry *e,
                              const struct conf_node *node, const char *path, void *base)
{
    bool neg;
    if (e->type == CONF_NUMBER) {
        double d;
        memcpy(&d, (char *)base + e->offset, sizeof(d));
        neg = d < 0;
    } else {
        int64_t v;
        memcpy(&v, (char *)base + e->offset, sizeof(v));
        neg = v < 0;
    }
    if (node && !node->is_null && neg)
        conf_error(c, node->line, node->column, e->doc, "'%s' must not be negative", path);
}

static void check_min_7d(struct conf_ctx *c, const struct conf_entry *e,
                         const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && v < INT64_C(7) * 86400000)
        conf_error(c, node->line, node->column,
                   "clients may retry for up to 7 days; keep their keys at least that long",
                   "'%s' must be at least 7d", path);
}

static void check_max_header(struct conf_ctx *c, const struct conf_entry *e,
                             const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 4096 || v > 1048576))
        conf_error(c, node->line, node->column,
                   "the request line and headers must fit; each connection holds this much",
                   "'%s' must be between 4KiB and 1MiB", path);
}

static void check_listen(struct conf_ctx *c, const struct conf_entry *e,
                         const struct conf_node *node, const char *path, void *base)
{
    const struct config_server *s = base;
    (void)e;
    if (!node || node->is_null || !s->listen)
        return;
    const char *colon = strrchr(s->listen, ':');
    int64_t port = -1;
    bool ok = colon && colon != s->listen && str_to_i64(colon + 1, &port) == AB_OK &&
              colon[1] >= '0' && colon[1] <= '9' && port >= 0 && port <= 65535;
    if (ok && s->listen[0] == '[')
        ok = colon[-1] == ']';
    if (!ok)
        conf_error(c, node->line, node->column,
                   "write HOST:PORT, e.g. 127.0.0.1:8440 or [::1]:8440",
                   "'%s' must be HOST:PORT with a port from 0 to 65535, found %s", path,
                   conf_shown(c, node, false));
}

static void check_server_tls(struct conf_ctx *c, const struct conf_entry *e,
                             const struct conf_node *node, const char *path, void *base)
{
    const struct config_server *s = base;
    unsigned line, col;
    (void)e;
    pos(node, true, &line, &col);
    if (s->tls.cert_file && !s->tls.key_file)
        conf_error(c, line, col, "add key_file: the private key for cert_file",
                   "'%s' has cert_file but no key_file", path);
    else if (s->tls.key_file && !s->tls.cert_file)
        conf_error(c, line, col, "add cert_file: the certificate for key_file",
                   "'%s' has key_file but no cert_file", path);
}

static void check_backend(struct conf_ctx *c, const struct conf_entry *e,
                          const struct conf_node *node, const char *path, void *base)
{
    const struct config_store *s = base;
    (void)e;
    if (!node || node->is_null || !s->backend || str_eq(s->backend, "sqlite"))
        return;
    if (str_eq(s->backend, "postgres"))
        conf_error(c, node->line, node->column, "use 'sqlite' for now",
                   "'%s': the postgres backend arrives with a later release", path);
    else
        conf_error(c, node->line, node->column, "the only backend in this release is 'sqlite'",
                   "'%s' names an unknown backend %s", path, conf_shown(c, node, false));
}

static bool zone_name_ok(const char *s)
{
    if (!*s || *s == '/' || strstr(s, ".."))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '+' || *s == '/'))
            return false;
    return true;
}

static void check_time_zone(struct conf_ctx *c, const struct conf_entry *e,
                            const struct conf_node *node, const char *path, void *base)
{
    const struct config_site *s = base;
    (void)e;
    if (!node || node->is_null || !s->time_zone || str_eq(s->time_zone, "UTC"))
        return;
    struct stat st;
    bool ok = zone_name_ok(s->time_zone);
    if (ok) {
        const char *file = arena_printf(conf_arena(c), CONFIG_ZONEINFO "/%s", s->time_zone);
        ok = stat(file, &st) == 0 && S_ISREG(st.st_mode);
    }
    if (!ok)
        conf_error(c, node->line, node->column,
                   "use an IANA time zone name such as Europe/Oslo or America/Chicago, or UTC "
                   "(the names are the files under " CONFIG_ZONEINFO ")",
                   "'%s': unknown time zone %s", path, conf_shown(c, node, false));
}

static void check_name(struct conf_ctx *c, const struct conf_node *node, const char *what,
                       const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-' ||
             name[i] == '.';
    unsigned line, col;
    pos(node, true, &line, &col);
    if (!ok)
        conf_error(
            c, line, col,
            "use 1 to 64 letters, digits, '_', '-' or '.'; the name appears in URLs and metrics",
            "invalid %s name '%s'", what, name);
}

/* The names of the providers of t, for hints. */
static const char *provider_list(struct conf_ctx *c, const struct config_tenant *t)
{
    struct buf b;
    buf_init(&b, 4096);
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < t->n_providers && !rc; i++)
        rc = buf_printf(&b, "%s%s", i ? ", " : "", t->providers[i].name);
    const char *s = arena_strdup(conf_arena(c), buf_str(&b));
    buf_cleanup(&b);
    return s;
}

static void check_provider(struct conf_ctx *c, const struct conf_entry *e,
                           const struct conf_node *node, const char *path, void *base)
{
    const struct config_provider *p = base;
    (void)e;
    (void)path;
    check_name(c, node, "provider", p->name);
}

static void check_site(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                       const char *path, void *base)
{
    const struct config_site *s = base;
    (void)e;
    (void)path;
    check_name(c, node, "site", s->name);
}

static void check_tenant(struct conf_ctx *c, const struct conf_entry *e,
                         const struct conf_node *node, const char *path, void *base)
{
    const struct config_tenant *t = base;
    (void)e;
    check_name(c, node, "tenant", t->name);
    const struct conf_node *sor = conf_map_get(node, "system_of_record");
    for (size_t i = 0; i < t->n_system_of_record; i++) {
        const struct config_system_of_record *r = &t->system_of_record[i];
        const struct conf_node *site = conf_map_get(sor, r->site);
        for (int d = 0; d < DOMAIN_COUNT; d++) {
            if (!r->provider[d] || config_provider(t, r->provider[d]))
                continue;
            const struct conf_node *v = conf_map_get(site, config_domain_names[d]);
            unsigned line, col;
            pos(v, false, &line, &col);
            const char *hint =
                t->n_providers
                    ? arena_printf(conf_arena(c), "configured providers in tenant '%s': %s",
                                   t->name, provider_list(c, t))
                    : arena_printf(conf_arena(c),
                                   "tenant '%s' has no providers; add one under "
                                   "'%s.providers'",
                                   t->name, path);
            conf_error(c, line, col, hint,
                       "'%s.system_of_record.%s.%s' names provider '%s', which is not configured "
                       "in tenant '%s'",
                       path, r->site, config_domain_names[d], r->provider[d], t->name);
        }
    }
}

static void check_tenants(struct conf_ctx *c, const struct conf_entry *e,
                          const struct conf_node *node, const char *path, void *base)
{
    struct config *cfg = base;
    (void)e;
    if (!node) {
        /* No tenants key: one tenant "default" with nothing configured. */
        cfg->tenants = arena_zalloc(conf_arena(c), sizeof(*cfg->tenants));
        cfg->tenants[0].name = "default";
        cfg->n_tenants = 1;
        return;
    }
    if (cfg->n_tenants == 0 && (node->kind != CONF_NODE_MAP || node->n_pairs == 0)) {
        unsigned line, col;
        pos(node, true, &line, &col);
        conf_error(c, line, col,
                   "name at least one tenant (e.g. 'default: {}'), or remove 'tenants' to get "
                   "a tenant 'default' without providers",
                   "'%s' has no tenants", path);
    }
    /* usage meters name meter types the hub knows (meters are decoded first) */
    static const char *const builtin_meters[] = {"cycles", "run_hours", "shots", "units_tested"};
    for (size_t t = 0; t < cfg->n_tenants; t++) {
        const struct config_tenant *ten = &cfg->tenants[t];
        const struct conf_node *provs = conf_map_get(conf_map_get(node, ten->name), "providers");
        for (size_t i = 0; i < ten->n_providers; i++) {
            const struct config_provider *p = &ten->providers[i];
            const struct conf_node *meters =
                conf_map_get(conf_map_get(conf_map_get(provs, p->name), "usage"), "meters");
            for (size_t m = 0; m < p->usage.n_meters; m++) {
                const char *name = p->usage.meters[m].name;
                bool known = false;
                for (size_t b = 0; b < sizeof(builtin_meters) / sizeof(builtin_meters[0]); b++)
                    known = known || str_eq(name, builtin_meters[b]);
                for (size_t k = 0; k < cfg->meters.n_types; k++)
                    known = known || str_eq(name, cfg->meters.types[k].name);
                if (known)
                    continue;
                unsigned line, col;
                pos(conf_map_get(meters, name), true, &line, &col);
                conf_error(c, line, col,
                           "use a built-in meter type (cycles, run_hours, shots, units_tested) "
                           "or declare it under 'meters.types'",
                           "'%s.%s.providers.%s.usage.meters.%s' is not a known meter type", path,
                           ten->name, p->name, name);
            }
        }
    }
}

/* Credentials each auth scheme needs. */
static const struct {
    const char *scheme;
    const char *keys[3];
} auth_needs[] = {
    {"basic", {"user", "password", NULL}},
    {"bearer", {"token", NULL, NULL}},
    {"token", {"token", NULL, NULL}},
    {"oauth2_client_credentials", {"client_id", "client_secret", "token_url"}},
    {"api_key", {"api_key", NULL, NULL}},
};

static const char *auth_field(const struct config_auth *a, const char *key)
{
    if (str_eq(key, "user"))
        return a->user;
    if (str_eq(key, "password"))
        return a->password;
    if (str_eq(key, "token"))
        return a->token;
    if (str_eq(key, "client_id"))
        return a->client_id;
    if (str_eq(key, "client_secret"))
        return a->client_secret;
    if (str_eq(key, "token_url"))
        return a->token_url;
    return a->api_key;
}

static void check_auth(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                       const char *path, void *base)
{
    const struct config_auth *a = &((const struct config_provider *)base)->auth;
    unsigned line, col;
    (void)e;
    pos(node, true, &line, &col);
    for (size_t i = 0; a->scheme && i < sizeof(auth_needs) / sizeof(auth_needs[0]); i++) {
        if (!str_eq(a->scheme, auth_needs[i].scheme))
            continue;
        for (size_t k = 0; k < 3 && auth_needs[i].keys[k]; k++) {
            const char *key = auth_needs[i].keys[k];
            const struct conf_node *v = conf_map_get(node, key);
            if (auth_field(a, key) || (v && !v->is_null))
                continue; /* set, or present but already reported as broken */
            conf_error(c, line, col,
                       arena_printf(conf_arena(c), "add '%s:' under '%s'%s", key, path,
                                    str_eq(key, "user") || str_eq(key, "client_id") ||
                                            str_eq(key, "token_url")
                                        ? ""
                                        : ", e.g. as ${env:NAME} or ${file:/path}"),
                       "'%s' uses scheme %s but '%s.%s' is not set", path, a->scheme, path, key);
        }
    }
}

/* ---- provider mode: `mode: X` or `mode: {domain: X}` ----------------- */

static bool mode_lookup(const char *s, enum provider_mode *m)
{
    for (int i = 0; config_mode_names[i]; i++) {
        if (strcmp(s, config_mode_names[i]) == 0) {
            *m = (enum provider_mode)i;
            return true;
        }
    }
    return false;
}

static void decode_mode_scalar(struct conf_ctx *c, const struct conf_node *node, const char *path,
                               enum provider_mode *m)
{
    const char *s = conf_scalar(c, node, path, "a mode", NULL);
    if (s && !mode_lookup(s, m))
        conf_error(c, node->line, node->column,
                   conf_suggest(c, s, config_mode_names, "allowed values: "),
                   "'%s' has an invalid value %s", path, conf_shown(c, node, false));
}

static void decode_mode(struct conf_ctx *c, const struct conf_entry *e,
                        const struct conf_node *node, const char *path, void *base)
{
    struct config_provider *p = base;
    (void)e;
    for (int d = 0; d < DOMAIN_COUNT; d++)
        p->mode[d] = MODE_READ_ONLY;
    if (!node)
        return;
    if (node->kind == CONF_NODE_SCALAR) {
        enum provider_mode m = MODE_READ_ONLY;
        decode_mode_scalar(c, node, path, &m);
        for (int d = 0; d < DOMAIN_COUNT; d++)
            p->mode[d] = m;
        return;
    }
    if (node->kind != CONF_NODE_MAP) {
        conf_error(c, node->line, node->column,
                   "write one mode (read_only, draft, write_back) or a map of domain to mode",
                   "'%s' must be a mode or a mapping, found a list", path);
        return;
    }
    for (size_t i = 0; i < node->n_pairs; i++) {
        const struct conf_pair *pr = &node->pairs[i];
        const char *dpath = conf_path(c, path, pr->key);
        int d = 0;
        while (d < DOMAIN_COUNT && strcmp(config_domain_names[d], pr->key) != 0)
            d++;
        if (d == DOMAIN_COUNT) {
            conf_error(c, pr->line, pr->column,
                       conf_suggest(c, pr->key, config_domain_names, "allowed keys here: "),
                       "unknown key '%s'", dpath);
            continue;
        }
        if (pr->value->kind == CONF_NODE_SCALAR && pr->value->is_null)
            continue;
        decode_mode_scalar(c, pr->value, dpath, &p->mode[d]);
    }
}

static void print_mode(const struct conf_ctx *c, const struct conf_entry *e, const void *base,
                       FILE *out, int indent)
{
    const struct config_provider *p = base;
    bool same = true;
    (void)c;
    (void)e;
    for (int d = 1; d < DOMAIN_COUNT; d++)
        same = same && p->mode[d] == p->mode[0];
    if (same) {
        (void)fprintf(out, " %s\n", config_mode_names[p->mode[0]]);
        return;
    }
    (void)fputc('\n', out);
    for (int d = 0; d < DOMAIN_COUNT; d++)
        (void)fprintf(out, "%*s%s: %s\n", indent + 2, "", config_domain_names[d],
                      config_mode_names[p->mode[d]]);
}

/* ---- providers.NAME.wats ------------------------------------------------ */

static const char *const wats_paging[] = {"skip", "keyset", NULL};
static const char *const wats_send_dates[] = {"utc_z", "naive", NULL};
static const char *const wats_usage_endpoints[] = {"count", "set_total_count", "auto", NULL};

/* Inclusive ranges of the numeric wats keys, by key name. */
static const struct {
    const char *name;
    double min, max;
} wats_ranges[] = {
    {"page_size", 1, 1000},
    {"log_page_size", 1, 1000},
    {"report_page_size", 1, 10000},
    {"lookup_batch", 1, 100},
    {"default_warning_pct", 0, 100},
    {"default_alarm_pct", 0, 100},
    {"max_retries", 0, 10},
    {"requests_per_minute", 0, 1e6},
    {"due_tolerance", 0, 366.0 * 86400000},
    {"retry_base", 1, 3600000},
    {"retry_cap", 1, 3600000},
};

static void check_wats_range(struct conf_ctx *c, const struct conf_entry *e,
                             const struct conf_node *node, const char *path, void *base)
{
    if (!node || node->is_null)
        return;
    double v;
    if (e->type == CONF_NUMBER) {
        memcpy(&v, (char *)base + e->offset, sizeof(v));
    } else {
        int64_t i;
        memcpy(&i, (char *)base + e->offset, sizeof(i));
        v = (double)i;
    }
    for (size_t i = 0; i < sizeof(wats_ranges) / sizeof(wats_ranges[0]); i++) {
        if (!str_eq(e->name, wats_ranges[i].name))
            continue;
        if (v < wats_ranges[i].min || v > wats_ranges[i].max) {
            bool ms = e->type == CONF_DURATION;
            conf_error(c, node->line, node->column, e->doc, "'%s' must be from %g%s to %g%s", path,
                       ms ? wats_ranges[i].min / 1000 : wats_ranges[i].min, ms ? "s" : "",
                       ms ? wats_ranges[i].max / 1000 : wats_ranges[i].max, ms ? "s" : "");
        }
        return;
    }
}

/* "Z", "UTC", "+HH:MM", "-HH:MM", "+HHMM", "+HH" -> minutes east of UTC. */
static bool parse_utc_offset(const char *s, int64_t *min)
{
    if (str_eq(s, "Z") || str_eq(s, "UTC") || str_eq(s, "0")) {
        *min = 0;
        return true;
    }
    if (s[0] != '+' && s[0] != '-')
        return false;
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + 1;
    int d[4], n = 0;
    for (; *p && n < 4; p++) {
        if (*p == ':' && n == 2)
            continue;
        if (*p < '0' || *p > '9')
            return false;
        d[n++] = *p - '0';
    }
    if (*p || (n != 2 && n != 4))
        return false;
    int hh = d[0] * 10 + d[1], mm = n == 4 ? d[2] * 10 + d[3] : 0;
    if (hh > 14 || mm > 59)
        return false;
    *min = sign * (hh * 60 + mm);
    return true;
}

static void check_wats_offset(struct conf_ctx *c, const struct conf_entry *e,
                              const struct conf_node *node, const char *path, void *base)
{
    struct config_wats *w = base;
    (void)e;
    w->naive_offset_min = 0;
    if (w->naive_offset && !parse_utc_offset(w->naive_offset, &w->naive_offset_min)) {
        unsigned line, col;
        pos(node, false, &line, &col);
        conf_error(c, line, col, "write an offset east of UTC such as +02:00, -05:00 or Z",
                   "'%s' is not a UTC offset: %s", path,
                   node ? conf_shown(c, node, false) : w->naive_offset);
    }
}

static void check_wats(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                       const char *path, void *base)
{
    const struct config_provider *p = base;
    (void)e;
    bool set = node && (node->kind != CONF_NODE_MAP || node->n_pairs > 0);
    if (set && p->type && !str_eq(p->type, "wats")) {
        unsigned line, col;
        pos(node, true, &line, &col);
        conf_error(c, line, col,
                   "remove the section, or set 'type: wats' if this provider is a WATS server",
                   "'%s' is only for providers of type wats; provider '%s' has type %s", path,
                   p->name, p->type);
    }
    if (p->wats.retry_cap_ms < p->wats.retry_base_ms) {
        const struct conf_node *v = conf_map_get(node, "retry_cap");
        unsigned line, col;
        pos(v ? v : node, v == NULL, &line, &col);
        conf_error(c, line, col, "raise retry_cap or lower retry_base",
                   "'%s.retry_cap' must not be below '%s.retry_base'", path, path);
    }
}

/* A string list: a sequence of scalars, or one comma-separated scalar. */
static void decode_string_list(struct conf_ctx *c, const struct conf_entry *e,
                               const struct conf_node *node, const char *path, void *base)
{
    struct config_string_list *l = (void *)((char *)base + e->offset);
    memset(l, 0, sizeof(*l));
    if (!node)
        return;
    struct arena *a = conf_arena(c);
    const char **v = NULL;
    size_t n = 0, cap = 0;
    if (node->kind == CONF_NODE_MAP) {
        conf_error(c, node->line, node->column,
                   "write a list such as [ICT fixture, Torque tool] or one comma-separated string",
                   "'%s' must be a list of strings, found a mapping", path);
        return;
    }
    size_t items = node->kind == CONF_NODE_SEQ ? node->n_items : 1;
    for (size_t i = 0; i < items; i++) {
        const struct conf_node *it = node->kind == CONF_NODE_SEQ ? node->items[i] : node;
        const char *ipath =
            node->kind == CONF_NODE_SEQ ? arena_printf(a, "%s[%zu]", path, i) : path;
        if (it->kind != CONF_NODE_SCALAR) {
            conf_error(c, it->line, it->column, "each item is one type name or id",
                       "'%s' must be a string", ipath);
            continue;
        }
        const char *text = conf_scalar(c, it, ipath, "a string", NULL);
        if (!text)
            continue;
        /* split on commas, trim blanks */
        const char *p = text;
        for (;;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *b = p;
            while (len && (*b == ' ' || *b == '\t')) {
                b++;
                len--;
            }
            while (len && (b[len - 1] == ' ' || b[len - 1] == '\t'))
                len--;
            if (len) {
                v = arena_grow(a, v, n, &cap, sizeof(*v));
                char *s = arena_alloc(a, len + 1);
                memcpy(s, b, len);
                s[len] = '\0';
                v[n++] = s;
            }
            if (!end)
                break;
            p = end + 1;
        }
    }
    l->v = v;
    l->n = n;
}

static void print_string_list(const struct conf_ctx *c, const struct conf_entry *e,
                              const void *base, FILE *out, int indent)
{
    const struct config_string_list *l = (const void *)((const char *)base + e->offset);
    (void)c;
    (void)indent;
    (void)fputs(" [", out);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            (void)fputs(", ", out);
        conf_print_quoted(out, l->v[i]);
    }
    (void)fputs("]\n", out);
}

/* ---- the schema --------------------------------------------------------- */

#define OFF(type, field) offsetof(struct type, field)

static const struct conf_entry limits_entries[] = {
    {.name = "max_body",
     .type = CONF_SIZE,
     .def = "1MiB",
     .check = check_positive,
     .offset = OFF(config_server_limits, max_body),
     .doc = "largest request body accepted, in bytes or KiB/MiB/GiB"},
    {.name = "max_batch_body",
     .type = CONF_SIZE,
     .def = "16MiB",
     .check = check_positive,
     .offset = OFF(config_server_limits, max_batch_body),
     .doc = "largest body of a batch request"},
    {.name = "max_connections",
     .type = CONF_INT,
     .def = "256",
     .check = check_positive,
     .offset = OFF(config_server_limits, max_connections),
     .doc = "concurrent client connections"},
    {.name = "max_header",
     .type = CONF_SIZE,
     .def = "16KiB",
     .check = check_max_header,
     .offset = OFF(config_server_limits, max_header),
     .doc = "memory per connection for the request line and headers (a longer head: 431)"},
    {.name = "header_timeout",
     .type = CONF_DURATION,
     .def = "10s",
     .check = check_positive,
     .offset = OFF(config_server_limits, header_timeout_ms),
     .doc = "time a client has to send the request headers"},
    {.name = "idle_timeout",
     .type = CONF_DURATION,
     .def = "60s",
     .check = check_positive,
     .offset = OFF(config_server_limits, idle_timeout_ms),
     .doc = "an idle keep-alive connection is closed after this"},
    {.name = "batch_bodies_in_flight",
     .type = CONF_INT,
     .def = "2",
     .check = check_positive,
     .offset = OFF(config_server_limits, batch_bodies_in_flight),
     .doc = "batch bodies buffered at the same time"},
    {.name = "requests_per_second_per_key",
     .type = CONF_NUMBER,
     .def = "1000",
     .check = check_positive,
     .offset = OFF(config_server_limits, requests_per_second_per_key),
     .doc = "sustained request rate allowed per API key (429 beyond)"},
    {.name = "burst_per_key",
     .type = CONF_INT,
     .def = "2000",
     .check = check_positive,
     .offset = OFF(config_server_limits, burst_per_key),
     .doc = "requests an API key may send at once above its rate"},
    CONF_END};

static const struct conf_entry server_tls_entries[] = {
    {.name = "cert_file",
     .type = CONF_STRING,
     .offset = OFF(config_server_tls, cert_file),
     .doc = "PEM certificate chain; unset: plain HTTP"},
    {.name = "key_file",
     .type = CONF_STRING,
     .offset = OFF(config_server_tls, key_file),
     .doc = "PEM private key for cert_file"},
    CONF_END};

static const struct conf_entry server_entries[] = {{.name = "listen",
                                                    .type = CONF_STRING,
                                                    .def = "127.0.0.1:8440",
                                                    .check = check_listen,
                                                    .offset = OFF(config_server, listen),
                                                    .doc = "HOST:PORT the API listens on"},
                                                   {.name = "threads",
                                                    .type = CONF_INT,
                                                    .def = "4",
                                                    .check = check_positive,
                                                    .offset = OFF(config_server, threads),
                                                    .doc = "event-loop threads serving HTTP"},
                                                   {.name = "limits",
                                                    .type = CONF_MAP,
                                                    .entries = limits_entries,
                                                    .offset = OFF(config_server, limits),
                                                    .doc = "request size and time limits"},
                                                   {.name = "tls",
                                                    .type = CONF_MAP,
                                                    .entries = server_tls_entries,
                                                    .check = check_server_tls,
                                                    .offset = OFF(config_server, tls),
                                                    .doc = "serve HTTPS"},
                                                   CONF_END};

static const struct conf_entry retention_entries[] = {
    {.name = "readings",
     .type = CONF_DURATION,
     .def = "400d",
     .check = check_positive,
     .offset = OFF(config_retention, readings_ms),
     .doc = "meter readings are kept this long"},
    {.name = "events",
     .type = CONF_DURATION,
     .def = "90d",
     .check = check_positive,
     .offset = OFF(config_retention, events_ms),
     .doc = "change events are kept this long"},
    {.name = "outbox_done",
     .type = CONF_DURATION,
     .def = "7d",
     .check = check_positive,
     .offset = OFF(config_retention, outbox_done_ms),
     .doc = "delivered outbox entries are kept this long"},
    {.name = "idempotency_keys",
     .type = CONF_DURATION,
     .def = "7d",
     .check = check_min_7d,
     .offset = OFF(config_retention, idempotency_keys_ms),
     .doc = "Idempotency-Key records are kept this long (at least 7d)"},
    {.name = "logs",
     .type = CONF_DURATION,
     .def = "30d",
     .check = check_positive,
     .offset = OFF(config_retention, logs_ms),
     .doc = "stored sync logs are kept this long"},
    CONF_END};

static const struct conf_entry store_entries[] = {{.name = "backend",
                                                   .type = CONF_STRING,
                                                   .def = "sqlite",
                                                   .check = check_backend,
                                                   .offset = OFF(config_store, backend),
                                                   .doc = "storage backend: sqlite"},
                                                  {.name = "data_dir",
                                                   .type = CONF_STRING,
                                                   .def = "./assetbridge-data",
                                                   .offset = OFF(config_store, data_dir),
                                                   .doc = "directory for the database and state"},
                                                  {.name = "path",
                                                   .type = CONF_STRING,
                                                   .def = "assetbridge.db",
                                                   .offset = OFF(config_store, path),
                                                   .doc = "database file, relative to data_dir"},
                                                  {.name = "synchronous",
                                                   .type = CONF_ENUM,
                                                   .def = "full",
                                                   .values = synchronous_modes,
                                                   .offset = OFF(config_store, synchronous),
                                                   .doc = "SQLite synchronous mode"},
                                                  {.name = "retention",
                                                   .type = CONF_MAP,
                                                   .entries = retention_entries,
                                                   .offset = OFF(config_store, retention),
                                                   .doc = "how long data is kept"},
                                                  CONF_END};

static const struct conf_entry log_entries[] = {{.name = "level",
                                                 .type = CONF_ENUM,
                                                 .def = "info",
                                                 .values = log_levels,
                                                 .offset = OFF(config_log, level),
                                                 .doc = "minimum level written"},
                                                {.name = "format",
                                                 .type = CONF_ENUM,
                                                 .def = "json",
                                                 .values = log_formats,
                                                 .offset = OFF(config_log, format),
                                                 .doc = "json (one object per line) or text"},
                                                {.name = "file",
                                                 .type = CONF_STRING,
                                                 .offset = OFF(config_log, file),
                                                 .doc = "append to this file; unset: stderr"},
                                                CONF_END};

static const struct conf_entry auth_entries[] = {
    {.name = "scheme",
     .type = CONF_ENUM,
     .def = "none",
     .values = auth_schemes,
     .offset = OFF(config_auth, scheme),
     .doc = "how assetbridge authenticates to the provider"},
    {.name = "user",
     .type = CONF_STRING,
     .offset = OFF(config_auth, user),
     .doc = "user name (basic)"},
    {.name = "password",
     .type = CONF_STRING,
     .flags = CONF_SECRET,
     .offset = OFF(config_auth, password),
     .doc = "password (basic); secret"},
    {.name = "token",
     .type = CONF_STRING,
     .flags = CONF_SECRET,
     .offset = OFF(config_auth, token),
     .doc = "token (bearer, token); secret"},
    {.name = "client_id",
     .type = CONF_STRING,
     .offset = OFF(config_auth, client_id),
     .doc = "OAuth2 client id"},
    {.name = "client_secret",
     .type = CONF_STRING,
     .flags = CONF_SECRET,
     .offset = OFF(config_auth, client_secret),
     .doc = "OAuth2 client secret; secret"},
    {.name = "token_url",
     .type = CONF_STRING,
     .offset = OFF(config_auth, token_url),
     .doc = "OAuth2 token endpoint"},
    {.name = "api_key",
     .type = CONF_STRING,
     .flags = CONF_SECRET,
     .offset = OFF(config_auth, api_key),
     .doc = "API key (api_key); secret"},
    {.name = "header",
     .type = CONF_STRING,
     .def = "Authorization",
     .offset = OFF(config_auth, header),
     .doc = "header carrying the API key"},
    CONF_END};

static const struct conf_entry provider_tls_entries[] = {
    {.name = "verify",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_provider_tls, verify),
     .doc = "verify the provider's certificate; false is logged loudly"},
    {.name = "ca_file",
     .type = CONF_STRING,
     .offset = OFF(config_provider_tls, ca_file),
     .doc = "PEM CA bundle; unset: the system store"},
    {.name = "client_cert",
     .type = CONF_STRING,
     .offset = OFF(config_provider_tls, client_cert),
     .doc = "PEM client certificate for mutual TLS"},
    {.name = "client_key",
     .type = CONF_STRING,
     .offset = OFF(config_provider_tls, client_key),
     .doc = "PEM private key for client_cert"},
    CONF_END};

static const struct conf_entry proxy_entries[] = {{.name = "url",
                                                   .type = CONF_STRING,
                                                   .offset = OFF(config_proxy, url),
                                                   .doc = "HTTP(S) proxy URL"},
                                                  {.name = "no_proxy",
                                                   .type = CONF_STRING,
                                                   .offset = OFF(config_proxy, no_proxy),
                                                   .doc = "comma-separated hosts reached directly"},
                                                  CONF_END};

static const struct conf_entry rate_limit_entries[] = {
    {.name = "requests_per_second",
     .type = CONF_NUMBER,
     .def = "0",
     .check = check_nonnegative,
     .offset = OFF(config_rate_limit, requests_per_second),
     .doc = "request rate; 0: the provider's documented default"},
    {.name = "burst",
     .type = CONF_INT,
     .def = "0",
     .check = check_nonnegative,
     .offset = OFF(config_rate_limit, burst),
     .doc = "requests allowed at once; 0: derived"},
    CONF_END};

static const struct conf_entry entity_entries[] = {
    {.name = "interval",
     .type = CONF_DURATION,
     .def = "5m",
     .check = check_positive,
     .offset = OFF(config_entity, interval_ms),
     .doc = "pull interval"},
    {.name = "severity",
     .type = CONF_ENUM,
     .def = "plant_critical",
     .values = severities,
     .offset = OFF(config_entity, severity),
     .doc = "plant_critical or reporting"},
    {.name = "reconcile_interval",
     .type = CONF_DURATION,
     .def = "0s",
     .check = check_nonnegative,
     .offset = OFF(config_entity, reconcile_interval_ms),
     .doc = "scheduled reconciliation; 0: none"},
    {.name = "reconcile_repair",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_entity, reconcile_repair),
     .doc = "scheduled reconciliations repair what they find"},
    CONF_END};

static const struct conf_entry entity_item = {
    .name = "entity", .type = CONF_MAP, .entries = entity_entries, .doc = "one entity"};

static void check_concurrency(struct conf_ctx *c, const struct conf_entry *e,
                              const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 1 || v > 16))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 1 and 16", path);
}

static void check_batch(struct conf_ctx *c, const struct conf_entry *e,
                        const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 1 || v > 1000))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 1 and 1000", path);
}

static const struct conf_entry timeouts_entries[] = {
    {.name = "connect",
     .type = CONF_DURATION,
     .def = "10s",
     .check = check_positive,
     .offset = OFF(config_provider, connect_timeout_ms),
     .doc = "connection set-up (DNS, TCP, TLS)"},
    {.name = "request",
     .type = CONF_DURATION,
     .def = "60s",
     .check = check_positive,
     .offset = OFF(config_provider, request_timeout_ms),
     .doc = "a whole call; a write that times out has an unknown outcome and is resolved"},
    CONF_END};

static const struct conf_entry usage_meter_entries[] = {
    {.name = "target",
     .type = CONF_STRING,
     .offset = OFF(config_usage_meter, target),
     .doc = "the provider's name for the meter; default: the hub's"},
    CONF_END};

static const struct conf_entry usage_meter_item = {
    .name = "meter", .type = CONF_MAP, .entries = usage_meter_entries, .doc = "one pushed meter"};

static const struct conf_entry usage_entries[] = {
    {.name = "flush_window",
     .type = CONF_DURATION,
     .def = "1m",
     .check = check_nonnegative,
     .offset = OFF(config_usage, flush_window_ms),
     .doc = "hold a meter's newest total this long before pushing it"},
    {.name = "delta_threshold",
     .type = CONF_NUMBER,
     .def = "0",
     .check = check_nonnegative,
     .offset = OFF(config_usage, delta_threshold),
     .doc = "push at once when the total moved this much; 0: never early"},
    {.name = "meters",
     .type = CONF_DICT,
     .item = &usage_meter_item,
     .elem_size = sizeof(struct config_usage_meter),
     .name_offset = OFF(config_usage_meter, name),
     .offset = OFF(config_usage, meters),
     .count_offset = OFF(config_usage, n_meters),
     .doc = "hub meter types pushed to this provider"},
    CONF_END};

#define WATS_OFF(field) OFF(config_wats, field)

static const struct conf_entry wats_entries[] = {
    {.name = "paging",
     .type = CONF_ENUM,
     .def = "skip",
     .values = wats_paging,
     .offset = WATS_OFF(paging),
     .doc = "asset pages by $skip, or keyset ($filter=assetId gt LAST) for servers that ignore "
            "$skip"},
    {.name = "page_size",
     .type = CONF_INT,
     .def = "1000",
     .check = check_wats_range,
     .offset = WATS_OFF(page_size),
     .doc = "$top of asset pages (1 to 1000)"},
    {.name = "log_page_size",
     .type = CONF_INT,
     .def = "200",
     .check = check_wats_range,
     .offset = WATS_OFF(log_page_size),
     .doc = "$top of asset log pages (1 to 1000)"},
    {.name = "report_page_size",
     .type = CONF_INT,
     .def = "500",
     .check = check_wats_range,
     .offset = WATS_OFF(report_page_size),
     .doc = "$top of report header pages (1 to 10000)"},
    {.name = "lookup_batch",
     .type = CONF_INT,
     .def = "20",
     .check = check_wats_range,
     .offset = WATS_OFF(lookup_batch),
     .doc = "serial numbers looked up per `or` filter (1 to 100; 1: one request per asset)"},
    {.name = "incremental_via_log",
     .type = CONF_BOOL,
     .def = "true",
     .offset = WATS_OFF(incremental_via_log),
     .doc = "incremental pulls read the asset log; false: every pull is a full pass"},
    {.name = "log_tiebreak",
     .type = CONF_BOOL,
     .def = "true",
     .offset = WATS_OFF(log_tiebreak),
     .doc = "log filter with a logId tie-break; false: `date ge` and skip seen entries"},
    {.name = "status_for_changed",
     .type = CONF_BOOL,
     .def = "true",
     .offset = WATS_OFF(status_for_changed),
     .doc = "read /api/Asset/Status for the assets the log names"},
    {.name = "derive_status",
     .type = CONF_BOOL,
     .def = "true",
     .offset = WATS_OFF(derive_status),
     .doc = "derive warning/alarm from counts, dates and the type's limits"},
    {.name = "default_warning_pct",
     .type = CONF_NUMBER,
     .def = "80",
     .check = check_wats_range,
     .offset = WATS_OFF(default_warning_pct),
     .doc = "warning threshold (percent) of types that have none"},
    {.name = "default_alarm_pct",
     .type = CONF_NUMBER,
     .def = "100",
     .check = check_wats_range,
     .offset = WATS_OFF(default_alarm_pct),
     .doc = "alarm threshold (percent) of types that have none"},
    {.name = "send_dates",
     .type = CONF_ENUM,
     .def = "utc_z",
     .values = wats_send_dates,
     .offset = WATS_OFF(send_dates),
     .doc = "dateTime parameters as UTC with Z, or naive (no zone) at naive_offset"},
    {.name = "naive_offset",
     .type = CONF_STRING,
     .def = "Z",
     .check = check_wats_offset,
     .offset = WATS_OFF(naive_offset),
     .doc = "UTC offset of dates without a zone (+HH:MM, -HH:MM or Z)"},
    {.name = "usage_endpoint",
     .type = CONF_ENUM,
     .def = "count",
     .values = wats_usage_endpoints,
     .offset = WATS_OFF(usage_endpoint),
     .doc = "usage totals by Count?totalCount=, 25.3 SetTotalCount, or auto (SetTotalCount on "
            "25.3+)"},
    {.name = "set_total_param",
     .type = CONF_STRING,
     .def = "totalCount",
     .offset = WATS_OFF(set_total_param),
     .doc = "value parameter of SetTotalCount"},
    {.name = "set_running_param",
     .type = CONF_STRING,
     .def = "runningCount",
     .offset = WATS_OFF(set_running_param),
     .doc = "value parameter of SetRunningCount"},
    {.name = "external_from_param",
     .type = CONF_STRING,
     .def = "fromDate",
     .offset = WATS_OFF(external_from_param),
     .doc = "performed-date parameter of Calibration|Maintenance/External"},
    {.name = "external_to_param",
     .type = CONF_STRING,
     .def = "toDate",
     .offset = WATS_OFF(external_to_param),
     .doc = "next-date parameter of Calibration|Maintenance/External"},
    {.name = "report_cursor_field",
     .type = CONF_STRING,
     .def = "timeStamp",
     .offset = WATS_OFF(report_cursor_field),
     .doc = "report header field used as the cursor ($filter/$orderby)"},
    {.name = "reports_count_usage_types",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = WATS_OFF(reports_count_usage_types),
     .doc = "asset types (names or ids) whose usage WATS reports count: no usage is pushed"},
    {.name = "calibration_external_types",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = WATS_OFF(calibration_external_types),
     .doc = "asset types whose calibration interval is External (25.3)"},
    {.name = "maintenance_external_types",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = WATS_OFF(maintenance_external_types),
     .doc = "asset types whose maintenance interval is External (25.3)"},
    {.name = "external_sentinel",
     .type = CONF_BOOL,
     .def = "false",
     .offset = WATS_OFF(external_sentinel),
     .doc = "also treat an interval equal to external_sentinel_value as External"},
    {.name = "external_sentinel_value",
     .type = CONF_NUMBER,
     .def = "-2",
     .offset = WATS_OFF(external_sentinel_value),
     .doc = "the interval value that means External"},
    {.name = "due_tolerance",
     .type = CONF_DURATION,
     .def = "24h",
     .check = check_wats_range,
     .offset = WATS_OFF(due_tolerance_ms),
     .doc = "WATS's next due date may differ this much from the system of record's"},
    {.name = "requests_per_minute",
     .type = CONF_NUMBER,
     .def = "0",
     .check = check_wats_range,
     .offset = WATS_OFF(requests_per_minute),
     .doc = "connector-wide request ceiling; 0: rate_limit x 60 when set, else 500"},
    {.name = "max_retries",
     .type = CONF_INT,
     .def = "2",
     .check = check_wats_range,
     .offset = WATS_OFF(max_retries),
     .doc = "retries of a read on 429, 408, 5xx or a request not sent (0 to 10)"},
    {.name = "retry_base",
     .type = CONF_DURATION,
     .def = "500ms",
     .check = check_wats_range,
     .offset = WATS_OFF(retry_base_ms),
     .doc = "first retry delay of a read (full jitter)"},
    {.name = "retry_cap",
     .type = CONF_DURATION,
     .def = "10s",
     .check = check_wats_range,
     .offset = WATS_OFF(retry_cap_ms),
     .doc = "longest wait before a read's retry, Retry-After included"},
    {.name = "server_version",
     .type = CONF_STRING,
     .offset = WATS_OFF(server_version),
     .doc = "assume this server version instead of asking /api/App/Version"},
    {.name = "default_type",
     .type = CONF_STRING,
     .offset = WATS_OFF(default_type),
     .doc = "WATS asset type name for assets pushed without one"},
    {.name = "register_types",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = WATS_OFF(register_types),
     .doc = "\"asset_type=WATS type name\" pairs for assets registered by the lifecycle rules"},
    CONF_END};

static const struct conf_entry wats_map = {.name = "wats",
                                           .type = CONF_MAP,
                                           .entries = wats_entries,
                                           .offset = OFF(config_provider, wats),
                                           .doc = "WATS connector options"};

/* `wats:` decodes as a mapping; it is printed only for providers of type
 * wats (so a printed configuration loads again). */
static void decode_wats(struct conf_ctx *c, const struct conf_entry *e,
                        const struct conf_node *node, const char *path, void *base)
{
    (void)e;
    conf_decode_entry(c, &wats_map, node, path, base);
}

static void print_wats(const struct conf_ctx *c, const struct conf_entry *e, const void *base,
                       FILE *out, int indent)
{
    const struct config_provider *p = base;
    (void)e;
    if (!p->type || !str_eq(p->type, "wats")) {
        (void)fputs(" {}\n", out);
        return;
    }
    (void)fputc('\n', out);
    conf_print(c, wats_entries, &p->wats, out, indent + 2);
}

/* ---- providers.NAME.sap_pm ---------------------------------------------- */

static const char *const sap_filter_literals[] = {"datetimeoffset", "datetime", NULL};
static const char *const sap_csrf_fetch[] = {"get", "head", NULL};
static const char *const sap_match_keys[] = {"serial_number", "manufacturer_serial",
                                             "characteristic", NULL};
static const char *const sap_wo_types[] = {"preventive", "corrective", "calibration", "inspection",
                                           NULL};
static const char *const sap_counter_fields[] = {"MeasurementCounterReading",
                                                 "MeasurementReadingInEntryUoM", NULL};

/* Inclusive ranges of the numeric sap_pm keys, by key name. */
static const struct {
    const char *name;
    double min, max;
} sap_ranges[] = {
    {"page_size", 1, 5000},     {"lookup_batch", 1, 100},  {"max_retries", 0, 10},
    {"retry_base", 1, 3600000}, {"retry_cap", 1, 3600000},
};

static void check_sap_range(struct conf_ctx *c, const struct conf_entry *e,
                            const struct conf_node *node, const char *path, void *base)
{
    if (!node || node->is_null)
        return;
    int64_t i;
    memcpy(&i, (char *)base + e->offset, sizeof(i));
    double v = (double)i;
    for (size_t k = 0; k < sizeof(sap_ranges) / sizeof(sap_ranges[0]); k++) {
        if (!str_eq(e->name, sap_ranges[k].name))
            continue;
        if (v < sap_ranges[k].min || v > sap_ranges[k].max) {
            bool ms = e->type == CONF_DURATION;
            conf_error(c, node->line, node->column, e->doc, "'%s' must be from %g%s to %g%s", path,
                       ms ? sap_ranges[k].min / 1000 : sap_ranges[k].min, ms ? "s" : "",
                       ms ? sap_ranges[k].max / 1000 : sap_ranges[k].max, ms ? "s" : "");
        }
        return;
    }
}

/* Every item of a value-map list must be NATIVE=common. */
static void check_sap_pairs(struct conf_ctx *c, const struct conf_entry *e,
                            const struct conf_node *node, const char *path, void *base)
{
    const struct config_string_list *l = (const void *)((const char *)base + e->offset);
    for (size_t i = 0; node && i < l->n; i++) {
        const char *eq = strchr(l->v[i], '=');
        if (!eq || eq == l->v[i] || !eq[1]) {
            unsigned line, col;
            pos(node, false, &line, &col);
            conf_error(c, line, col, "write pairs such as \"03=open, 05=assigned\"",
                       "'%s' item '%s' is not NATIVE=common", path, l->v[i]);
            return;
        }
    }
}

static void check_sap_pm(struct conf_ctx *c, const struct conf_entry *e,
                         const struct conf_node *node, const char *path, void *base)
{
    const struct config_provider *p = base;
    (void)e;
    bool set = node && (node->kind != CONF_NODE_MAP || node->n_pairs > 0);
    if (set && p->type && !str_eq(p->type, "sap_pm")) {
        unsigned line, col;
        pos(node, true, &line, &col);
        conf_error(c, line, col,
                   "remove the section, or set 'type: sap_pm' if this provider is an SAP system",
                   "'%s' is only for providers of type sap_pm; provider '%s' has type %s", path,
                   p->name, p->type);
    }
    if (p->sap_pm.retry_cap_ms < p->sap_pm.retry_base_ms) {
        const struct conf_node *v = conf_map_get(node, "retry_cap");
        unsigned line, col;
        pos(v ? v : node, v == NULL, &line, &col);
        conf_error(c, line, col, "raise retry_cap or lower retry_base",
                   "'%s.retry_cap' must not be below '%s.retry_base'", path, path);
    }
    if (p->sap_pm.match_key && str_eq(p->sap_pm.match_key, "characteristic") &&
        !(p->sap_pm.match_characteristic && *p->sap_pm.match_characteristic)) {
        const struct conf_node *v = conf_map_get(node, "match_key");
        unsigned line, col;
        pos(v ? v : node, v == NULL, &line, &col);
        conf_error(c, line, col, "name the characteristic in match_characteristic",
                   "'%s.match_key' characteristic needs '%s.match_characteristic'", path, path);
    }
}

#define SAP_OFF(field) OFF(config_sap_pm, field)
#define SAP_PAIRS(key, what)                                                                       \
    {                                                                                              \
        .name = #key, .type = CONF_CUSTOM, .decode = decode_string_list,                           \
        .print = print_string_list, .check = check_sap_pairs, .offset = SAP_OFF(key),              \
        .doc = (what)                                                                              \
    }

static const struct conf_entry sap_entries[] = {
    {.name = "sap_client",
     .type = CONF_STRING,
     .offset = SAP_OFF(sap_client),
     .doc = "the sap-client (tenant) sent with every request; none: the system's default"},
    {.name = "service_version",
     .type = CONF_STRING,
     .offset = SAP_OFF(service_version),
     .doc = "V2 service path suffix, e.g. 0002 for ;v=0002; none: the unversioned path"},
    {.name = "page_size",
     .type = CONF_INT,
     .def = "500",
     .check = check_sap_range,
     .offset = SAP_OFF(page_size),
     .doc = "$top of list pages (1 to 5000)"},
    {.name = "lookup_batch",
     .type = CONF_INT,
     .def = "40",
     .check = check_sap_range,
     .offset = SAP_OFF(lookup_batch),
     .doc = "keys per `or` filter of batched lookups (1 to 100)"},
    {.name = "filter_literal",
     .type = CONF_ENUM,
     .def = "datetimeoffset",
     .values = sap_filter_literals,
     .offset = SAP_OFF(filter_literal),
     .doc = "literal of LastChangeDateTime filters: datetimeoffset'...Z' or datetime'...'"},
    {.name = "csrf_fetch",
     .type = CONF_ENUM,
     .def = "get",
     .values = sap_csrf_fetch,
     .offset = SAP_OFF(csrf_fetch),
     .doc = "fetch the CSRF token with GET <service>/ or HEAD <service>/"},
    {.name = "notification_type",
     .type = CONF_STRING,
     .def = "M1",
     .offset = SAP_OFF(notification_type),
     .doc = "NotificationType of maintenance requests the hub opens"},
    SAP_PAIRS(priority_map, "MaintPriority=priority pairs; default 1=urgent, 2=high, 3=medium, "
                            "4=low"),
    SAP_PAIRS(order_phase_map, "MaintOrdProcessPhaseCode=common status pairs (see "
                               "docs/connectors/sap-pm.md for the default)"),
    SAP_PAIRS(notification_phase_map, "NotifProcessingPhase=common status pairs; default "
                                      "1=open, 2=on_hold, 3=in_progress, 4=completed"),
    SAP_PAIRS(order_type_map, "MaintenanceOrderType=work order type; default PM01=corrective, "
                              "PM02=preventive"),
    SAP_PAIRS(notification_type_map, "NotificationType=work order type; default M1=corrective, "
                                     "M2=corrective"),
    {.name = "default_type",
     .type = CONF_ENUM,
     .def = "corrective",
     .values = sap_wo_types,
     .offset = SAP_OFF(default_type),
     .doc = "work order type of order and notification types no map names"},
    {.name = "match_key",
     .type = CONF_ENUM,
     .def = "serial_number",
     .values = sap_match_keys,
     .offset = SAP_OFF(match_key),
     .doc = "what identifies equipment in the hub: SerialNumber, ManufacturerSerialNumber or a "
            "classification characteristic"},
    {.name = "match_characteristic",
     .type = CONF_STRING,
     .offset = SAP_OFF(match_characteristic),
     .doc = "the characteristic (name) whose value is the match key (match_key characteristic)"},
    {.name = "deleted_status",
     .type = CONF_STRING,
     .def = "retired",
     .offset = SAP_OFF(deleted_status),
     .doc = "asset status of equipment marked for deletion"},
    {.name = "inactive_status",
     .type = CONF_STRING,
     .def = "in_storage",
     .offset = SAP_OFF(inactive_status),
     .doc = "asset status of inactive equipment"},
    {.name = "meter_key",
     .type = CONF_STRING,
     .def = "MeasuringPointPositionNumber",
     .offset = SAP_OFF(meter_key),
     .doc = "measuring point field that names the meter (usage.meters targets)"},
    {.name = "counter_field",
     .type = CONF_ENUM,
     .def = "MeasurementCounterReading",
     .values = sap_counter_fields,
     .offset = SAP_OFF(counter_field),
     .doc = "measurement document field that carries a counter total"},
    {.name = "meter_totals",
     .type = CONF_BOOL,
     .def = "true",
     .offset = SAP_OFF(meter_totals),
     .doc = "asset pulls read the pushed meters' SAP totals (usage baselines)"},
    {.name = "final_confirmation",
     .type = CONF_BOOL,
     .def = "true",
     .offset = SAP_OFF(final_confirmation),
     .doc = "a completed order gets final confirmations for its open operations"},
    {.name = "max_retries",
     .type = CONF_INT,
     .def = "2",
     .check = check_sap_range,
     .offset = SAP_OFF(max_retries),
     .doc = "retries of a read on 429, 408, 5xx or a request not sent (0 to 10)"},
    {.name = "retry_base",
     .type = CONF_DURATION,
     .def = "500ms",
     .check = check_sap_range,
     .offset = SAP_OFF(retry_base_ms),
     .doc = "first retry delay of a read (full jitter)"},
    {.name = "retry_cap",
     .type = CONF_DURATION,
     .def = "10s",
     .check = check_sap_range,
     .offset = SAP_OFF(retry_cap_ms),
     .doc = "longest wait before a read's retry, Retry-After included"},
    CONF_END};

static const struct conf_entry sap_map = {.name = "sap_pm",
                                          .type = CONF_MAP,
                                          .entries = sap_entries,
                                          .offset = OFF(config_provider, sap_pm),
                                          .doc = "SAP PM connector options"};

/* `sap_pm:` decodes as a mapping; it is printed only for providers of type
 * sap_pm (so a printed configuration loads again). */
static void decode_sap_pm(struct conf_ctx *c, const struct conf_entry *e,
                          const struct conf_node *node, const char *path, void *base)
{
    (void)e;
    conf_decode_entry(c, &sap_map, node, path, base);
}

static void print_sap_pm(const struct conf_ctx *c, const struct conf_entry *e, const void *base,
                         FILE *out, int indent)
{
    const struct config_provider *p = base;
    (void)e;
    if (!p->type || !str_eq(p->type, "sap_pm")) {
        (void)fputs(" {}\n", out);
        return;
    }
    (void)fputc('\n', out);
    conf_print(c, sap_entries, &p->sap_pm, out, indent + 2);
}

static const struct conf_entry provider_entries[] = {
    {.name = "type",
     .type = CONF_ENUM,
     .flags = CONF_REQUIRED,
     .values = config_provider_types,
     .offset = OFF(config_provider, type),
     .doc = "add 'type:' with the provider type, e.g. sap_pm"},
    {.name = "base_url",
     .type = CONF_STRING,
     .offset = OFF(config_provider, base_url),
     .doc = "the provider's API root URL"},
    {.name = "auth",
     .type = CONF_MAP,
     .entries = auth_entries,
     .check = check_auth,
     .offset = OFF(config_provider, auth),
     .doc = "credentials"},
    {.name = "tls",
     .type = CONF_MAP,
     .entries = provider_tls_entries,
     .offset = OFF(config_provider, tls),
     .doc = "TLS towards the provider"},
    {.name = "proxy",
     .type = CONF_MAP,
     .entries = proxy_entries,
     .offset = OFF(config_provider, proxy),
     .doc = "outbound proxy"},
    {.name = "mode",
     .type = CONF_CUSTOM,
     .decode = decode_mode,
     .print = print_mode,
     .def = "read_only",
     .doc = "read_only, draft or write_back, or a map of domain to mode"},
    {.name = "rate_limit",
     .type = CONF_MAP,
     .entries = rate_limit_entries,
     .offset = OFF(config_provider, rate_limit),
     .doc = "outbound request rate"},
    {.name = "entities",
     .type = CONF_DICT,
     .item = &entity_item,
     .values = config_entity_names,
     .elem_size = sizeof(struct config_entity),
     .name_offset = OFF(config_entity, name),
     .offset = OFF(config_provider, entities),
     .count_offset = OFF(config_provider, n_entities),
     .doc = "entities pulled from this provider"},
    {.name = "usage",
     .type = CONF_MAP,
     .entries = usage_entries,
     .offset = OFF(config_provider, usage),
     .doc = "meter totals pushed to this provider"},
    {.name = "concurrency",
     .type = CONF_INT,
     .def = "4",
     .check = check_concurrency,
     .offset = OFF(config_provider, concurrency),
     .doc = "outbox workers (requests in flight at once) for this provider, 1 to 16"},
    {.name = "timeouts",
     .type = CONF_MAP,
     .entries = timeouts_entries,
     .offset = 0,
     .doc = "connect and whole-request timeouts of calls to this provider"},
    {.name = "wats",
     .type = CONF_CUSTOM,
     .decode = decode_wats,
     .print = print_wats,
     .check = check_wats,
     .doc = "WATS connector options (type wats only)"},
    {.name = "sap_pm",
     .type = CONF_CUSTOM,
     .decode = decode_sap_pm,
     .print = print_sap_pm,
     .check = check_sap_pm,
     .doc = "SAP PM connector options (type sap_pm only)"},
    CONF_END};

static const struct conf_entry provider_item = {.name = "provider",
                                                .type = CONF_MAP,
                                                .entries = provider_entries,
                                                .check = check_provider,
                                                .doc = "one provider connection"};

#define SOR_DOMAIN(d, n)                                                                           \
    {                                                                                              \
        .name = (n), .type = CONF_STRING,                                                          \
        .offset = offsetof(struct config_system_of_record, provider) + (d) * sizeof(const char *), \
        .doc = "provider that owns " n " for this site"                                            \
    }

static const struct conf_entry sor_entries[] = {SOR_DOMAIN(DOMAIN_ASSET_MASTER, "asset_master"),
                                                SOR_DOMAIN(DOMAIN_CALIBRATION, "calibration"),
                                                SOR_DOMAIN(DOMAIN_MAINTENANCE, "maintenance"),
                                                SOR_DOMAIN(DOMAIN_WORK_ORDERS, "work_orders"),
                                                SOR_DOMAIN(DOMAIN_USAGE, "usage"),
                                                CONF_END};

static const struct conf_entry sor_item = {
    .name = "site", .type = CONF_MAP, .entries = sor_entries, .doc = "domain -> provider"};

static const struct conf_entry kv_item = {.name = "value",
                                          .type = CONF_STRING,
                                          .flags = CONF_REQUIRED,
                                          .offset = OFF(config_kv, value),
                                          .doc = "write 'provider value: canonical value'"};

static const struct conf_entry value_map_item = {.name = "value_map",
                                                 .type = CONF_DICT,
                                                 .item = &kv_item,
                                                 .elem_size = sizeof(struct config_kv),
                                                 .name_offset = OFF(config_kv, key),
                                                 .offset = OFF(config_value_map, pairs),
                                                 .count_offset = OFF(config_value_map, n_pairs),
                                                 .doc = "provider value -> canonical value"};

static const struct conf_entry site_entries[] = {
    {.name = "time_zone",
     .type = CONF_STRING,
     .def = "UTC",
     .check = check_time_zone,
     .offset = OFF(config_site, time_zone),
     .doc = "IANA time zone of the site"},
    {.name = "value_maps",
     .type = CONF_DICT,
     .item = &value_map_item,
     .elem_size = sizeof(struct config_value_map),
     .name_offset = OFF(config_value_map, name),
     .offset = OFF(config_site, value_maps),
     .count_offset = OFF(config_site, n_value_maps),
     .doc = "named maps from provider values to canonical values"},
    CONF_END};

static const struct conf_entry site_item = {.name = "site",
                                            .type = CONF_MAP,
                                            .entries = site_entries,
                                            .check = check_site,
                                            .doc = "one site"};

/* ---- rules (docs/rules.md) ----------------------------------------------------- */

static const char *const rule_request_at[] = {"due_soon", "overdue", NULL};
static const char *const rule_asset_types[] = {"station", "fixture", "instrument",
                                               "tool",    "other",   NULL};

static void check_pct(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                      const char *path, void *base)
{
    double d;
    memcpy(&d, (char *)base + e->offset, sizeof(d));
    if (node && !node->is_null && !(d > 0 && d <= 100))
        conf_error(c, node->line, node->column, e->doc,
                   "'%s' must be a percentage above 0 and at most 100", path);
}

static void check_interval_days(struct conf_ctx *c, const struct conf_entry *e,
                                const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 0 || v > 36500))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 0 and 36500", path);
}

static void check_suggest_after(struct conf_ctx *c, const struct conf_entry *e,
                                const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 1 || v > 100))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 1 and 100", path);
}

static void check_pct_below_100(struct conf_ctx *c, const struct conf_entry *e,
                                const struct conf_node *node, const char *path, void *base)
{
    double d;
    memcpy(&d, (char *)base + e->offset, sizeof(d));
    if (node && !node->is_null && !(d > 0 && d < 100))
        conf_error(c, node->line, node->column, e->doc,
                   "'%s' must be a percentage above 0 and below 100", path);
}

static void check_suggest_days(struct conf_ctx *c, const struct conf_entry *e,
                               const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 1 || v > 36500))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 1 and 36500", path);
}

static const struct conf_entry rules_cal_entries[] = {
    {.name = "enabled",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_cal, enabled),
     .doc = "evaluate calibration due dates"},
    {.name = "due_soon_pct",
     .type = CONF_NUMBER,
     .def = "90",
     .check = check_pct,
     .offset = OFF(config_rules_cal, due_soon_pct),
     .doc = "due_soon once this percentage of the interval has passed"},
    {.name = "due_soon_window",
     .type = CONF_DURATION,
     .def = "14d",
     .check = check_nonnegative,
     .offset = OFF(config_rules_cal, due_soon_window_ms),
     .doc = "without a known interval: due_soon this long before the due date"},
    {.name = "interval_days",
     .type = CONF_INT,
     .def = "0",
     .check = check_interval_days,
     .offset = OFF(config_rules_cal, interval_days),
     .doc = "calibration interval when the record gives none; 0: none"},
    {.name = "open_request",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_cal, open_request),
     .doc = "open a request in the calibration system of record (else a hub work order)"},
    {.name = "open_request_at",
     .type = CONF_ENUM,
     .def = "due_soon",
     .values = rule_request_at,
     .offset = OFF(config_rules_cal, open_request_at),
     .doc = "open the request on entering due_soon or overdue"},
    {.name = "suggest_intervals",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_cal, suggest_intervals),
     .doc = "suggest calibration interval changes from the as-found history"},
    {.name = "suggest_after",
     .type = CONF_INT,
     .def = "3",
     .check = check_suggest_after,
     .offset = OFF(config_rules_cal, suggest_after),
     .doc = "suggest a longer interval after this many in-tolerance as-found results in a row"},
    {.name = "suggest_increase_pct",
     .type = CONF_NUMBER,
     .def = "25",
     .check = check_pct,
     .offset = OFF(config_rules_cal, suggest_increase_pct),
     .doc = "lengthen the interval by this percentage"},
    {.name = "suggest_decrease_pct",
     .type = CONF_NUMBER,
     .def = "50",
     .check = check_pct_below_100,
     .offset = OFF(config_rules_cal, suggest_decrease_pct),
     .doc = "shorten the interval by this percentage after an out-of-tolerance as-found result"},
    {.name = "suggest_min_days",
     .type = CONF_INT,
     .def = "30",
     .check = check_suggest_days,
     .offset = OFF(config_rules_cal, suggest_min_days),
     .doc = "never suggest an interval shorter than this many days"},
    {.name = "suggest_max_days",
     .type = CONF_INT,
     .def = "730",
     .check = check_suggest_days,
     .offset = OFF(config_rules_cal, suggest_max_days),
     .doc = "never suggest an interval longer than this many days"},
    {.name = "apply_suggestions",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_cal, apply_suggestions),
     .doc = "apply interval suggestions without approval (the tenant's policy)"},
    {.name = "interval_usage",
     .type = CONF_NUMBER,
     .def = "0",
     .check = check_nonnegative,
     .offset = OFF(config_rules_cal, interval_usage),
     .doc = "also due after this much use of usage_meter since the last calibration; 0: none"},
    {.name = "usage_meter",
     .type = CONF_STRING,
     .def = "cycles",
     .offset = OFF(config_rules_cal, usage_meter),
     .doc = "meter type counting the use interval_usage is about"},
    {.name = "lockout",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_cal, lockout),
     .doc = "overdue: set the asset In Calibration in WATS until it is calibrated"},
    {.name = "reset_running_count",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_cal, reset_running_count),
     .doc = "a calibration completed elsewhere resets the WATS running count"},
    CONF_END};

static const struct conf_entry rules_maint_entries[] = {
    {.name = "enabled",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_maint, enabled),
     .doc = "evaluate maintenance plans"},
    {.name = "lead_time",
     .type = CONF_DURATION,
     .def = "0s",
     .check = check_nonnegative,
     .offset = OFF(config_rules_maint, lead_time_ms),
     .doc = "time-based plans fall due this long before next_due_at"},
    {.name = "lead_usage",
     .type = CONF_NUMBER,
     .def = "0",
     .check = check_nonnegative,
     .offset = OFF(config_rules_maint, lead_usage),
     .doc = "usage-based plans fall due this much before next_due_reading"},
    {.name = "open_request",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_maint, open_request),
     .doc = "open a request in the maintenance system of record (else a hub work order)"},
    {.name = "reset_running_count",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_maint, reset_running_count),
     .doc = "maintenance completed elsewhere resets the WATS running count"},
    CONF_END};

static void check_window(struct conf_ctx *c, const struct conf_entry *e,
                         const struct conf_node *node, const char *path, void *base)
{
    int64_t v;
    memcpy(&v, (char *)base + e->offset, sizeof(v));
    if (node && !node->is_null && (v < 1 || v > 1000))
        conf_error(c, node->line, node->column, e->doc, "'%s' must be between 1 and 1000", path);
}

static const struct conf_entry rules_failure_rate_entries[] = {
    {.name = "enabled",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_failure_rate, enabled),
     .doc = "open a corrective request when a fixture's or instrument's failure rate rises"},
    {.name = "window",
     .type = CONF_INT,
     .def = "20",
     .check = check_window,
     .offset = OFF(config_rules_failure_rate, window),
     .doc = "judge the asset's last this many uses in test reports"},
    {.name = "min_uses",
     .type = CONF_INT,
     .def = "10",
     .check = check_window,
     .offset = OFF(config_rules_failure_rate, min_uses),
     .doc = "never judge fewer uses than this"},
    {.name = "threshold_pct",
     .type = CONF_NUMBER,
     .def = "25",
     .check = check_pct_below_100,
     .offset = OFF(config_rules_failure_rate, threshold_pct),
     .doc = "out of spec above this percentage of failed reports"},
    {.name = "asset_types",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = OFF(config_rules_failure_rate, asset_types),
     .doc = "asset types judged; default fixture and instrument"},
    CONF_END};

/* An override map: remember which keys it writes (bit i: key i of the
 * table), so only those replace the tenant's values (rules_merge). */
static void check_rules_set(struct conf_ctx *c, const struct conf_entry *e,
                            const struct conf_node *node, const char *path, void *base)
{
    unsigned set = 0;
    (void)c;
    (void)path;
    for (unsigned i = 0; i < 32 && e->entries[i].name; i++)
        if (conf_map_get(node, e->entries[i].name))
            set |= 1u << i;
    size_t set_off = e->entries == rules_cal_entries     ? OFF(config_rules_cal, set)
                     : e->entries == rules_maint_entries ? OFF(config_rules_maint, set)
                                                         : OFF(config_rules_failure_rate, set);
    memcpy((char *)base + e->offset + set_off, &set, sizeof(set));
}

static const struct conf_entry rules_override_entries[] = {
    {.name = "calibration",
     .type = CONF_MAP,
     .entries = rules_cal_entries,
     .check = check_rules_set,
     .offset = OFF(config_rules_override, calibration),
     .doc = "calibration rules replacing the tenant's"},
    {.name = "maintenance",
     .type = CONF_MAP,
     .entries = rules_maint_entries,
     .check = check_rules_set,
     .offset = OFF(config_rules_override, maintenance),
     .doc = "maintenance rules replacing the tenant's"},
    {.name = "failure_rate",
     .type = CONF_MAP,
     .entries = rules_failure_rate_entries,
     .check = check_rules_set,
     .offset = OFF(config_rules_override, failure_rate),
     .doc = "out-of-spec rule keys replacing the tenant's"},
    CONF_END};

static const struct conf_entry rules_override_item = {.name = "override",
                                                      .type = CONF_MAP,
                                                      .entries = rules_override_entries,
                                                      .doc = "rules for one site or asset type"};

static const struct conf_entry sync_lag_item = {.name = "limit",
                                                .type = CONF_DURATION,
                                                .flags = CONF_REQUIRED,
                                                .check = check_positive,
                                                .offset = OFF(config_sync_lag, max_ms),
                                                .doc = "largest lag of the provider's pulls"};

static const struct conf_entry rules_sla_entries[] = {
    {.name = "work_orders",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_sla, work_orders),
     .doc = "work_order.sla_breached when a work order is open past sla_due_at"},
    {.name = "sync_lag",
     .type = CONF_DICT,
     .item = &sync_lag_item,
     .elem_size = sizeof(struct config_sync_lag),
     .name_offset = OFF(config_sync_lag, provider),
     .offset = OFF(config_rules_sla, sync_lag),
     .count_offset = OFF(config_rules_sla, n_sync_lag),
     .doc = "per provider: sync.lagging when its last successful pull is older"},
    CONF_END};

/* sync_lag names providers of the tenant (base: the tenant). */
static void check_rules(struct conf_ctx *c, const struct conf_entry *e,
                        const struct conf_node *node, const char *path, void *base)
{
    const struct config_tenant *t = base;
    const struct conf_node *lag = conf_map_get(conf_map_get(node, "sla"), "sync_lag");
    (void)e;
    const struct config_rules_cal *rc = &t->rules.calibration;
    if (rc->suggest_min_days > rc->suggest_max_days) {
        unsigned line, col;
        pos(conf_map_get(conf_map_get(node, "calibration"), "suggest_min_days"), true, &line, &col);
        conf_error(c, line, col, "suggest_min_days must not exceed suggest_max_days",
                   "'%s.calibration.suggest_min_days' (%lld) is above suggest_max_days (%lld)",
                   path, (long long)rc->suggest_min_days, (long long)rc->suggest_max_days);
    }
    for (size_t i = 0; i < t->rules.sla.n_sync_lag; i++) {
        const char *p = t->rules.sla.sync_lag[i].provider;
        if (config_provider(t, p))
            continue;
        unsigned line, col;
        pos(conf_map_get(lag, p), true, &line, &col);
        conf_error(c, line, col,
                   t->n_providers ? arena_printf(conf_arena(c), "configured providers: %s",
                                                 provider_list(c, t))
                                  : "the tenant has no providers",
                   "'%s.sla.sync_lag.%s' names a provider that is not configured", path, p);
    }
}

static const struct conf_entry rules_lifecycle_entries[] = {
    {.name = "enabled",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules_lifecycle, enabled),
     .doc = "register, move and retire in the other systems what the asset master system did"},
    {.name = "reverse",
     .type = CONF_BOOL,
     .def = "false",
     .offset = OFF(config_rules_lifecycle, reverse),
     .doc = "carry changes made outside the asset master system of record too"},
    {.name = "targets",
     .type = CONF_CUSTOM,
     .decode = decode_string_list,
     .print = print_string_list,
     .offset = OFF(config_rules_lifecycle, targets),
     .doc = "providers written; default every provider whose connector can write assets"},
    CONF_END};

static const struct conf_entry rules_entries[] = {
    {.name = "evaluate_every",
     .type = CONF_DURATION,
     .def = "1m",
     .check = check_positive,
     .offset = OFF(config_rules, evaluate_every_ms),
     .doc = "every due date is re-evaluated on this schedule (changes at once)"},
    {.name = "close_loop",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_rules, close_loop),
     .doc = "a request closed in the system of record records the work in the other systems"},
    {.name = "failure_rate",
     .type = CONF_MAP,
     .entries = rules_failure_rate_entries,
     .offset = OFF(config_rules, failure_rate),
     .doc = "out-of-spec detection from test results (docs/rules.md)"},
    {.name = "lifecycle",
     .type = CONF_MAP,
     .entries = rules_lifecycle_entries,
     .offset = OFF(config_rules, lifecycle),
     .doc = "asset lifecycle propagation (docs/rules.md)"},
    {.name = "calibration",
     .type = CONF_MAP,
     .entries = rules_cal_entries,
     .offset = OFF(config_rules, calibration),
     .doc = "calibration due state, events and requests"},
    {.name = "maintenance",
     .type = CONF_MAP,
     .entries = rules_maint_entries,
     .offset = OFF(config_rules, maintenance),
     .doc = "maintenance plans falling due, events and requests"},
    {.name = "sla",
     .type = CONF_MAP,
     .entries = rules_sla_entries,
     .offset = OFF(config_rules, sla),
     .doc = "work-order SLA and provider sync lag watch"},
    {.name = "sites",
     .type = CONF_DICT,
     .item = &rules_override_item,
     .elem_size = sizeof(struct config_rules_override),
     .name_offset = OFF(config_rules_override, name),
     .offset = OFF(config_rules, sites),
     .count_offset = OFF(config_rules, n_sites),
     .doc = "per site: calibration / maintenance keys replacing the tenant's"},
    {.name = "asset_types",
     .type = CONF_DICT,
     .values = rule_asset_types,
     .item = &rules_override_item,
     .elem_size = sizeof(struct config_rules_override),
     .name_offset = OFF(config_rules_override, name),
     .offset = OFF(config_rules, asset_types),
     .count_offset = OFF(config_rules, n_asset_types),
     .doc = "per asset type: keys replacing the tenant's and the site's"},
    CONF_END};

static const struct conf_entry tenant_entries[] = {
    {.name = "providers",
     .type = CONF_DICT,
     .item = &provider_item,
     .elem_size = sizeof(struct config_provider),
     .name_offset = OFF(config_provider, name),
     .offset = OFF(config_tenant, providers),
     .count_offset = OFF(config_tenant, n_providers),
     .doc = "provider connections by name"},
    {.name = "system_of_record",
     .type = CONF_DICT,
     .item = &sor_item,
     .elem_size = sizeof(struct config_system_of_record),
     .name_offset = OFF(config_system_of_record, site),
     .offset = OFF(config_tenant, system_of_record),
     .count_offset = OFF(config_tenant, n_system_of_record),
     .doc = "per site, which provider owns each domain"},
    {.name = "sites",
     .type = CONF_DICT,
     .item = &site_item,
     .elem_size = sizeof(struct config_site),
     .name_offset = OFF(config_site, name),
     .offset = OFF(config_tenant, sites),
     .count_offset = OFF(config_tenant, n_sites),
     .doc = "sites by name"},
    {.name = "rules",
     .type = CONF_MAP,
     .entries = rules_entries,
     .check = check_rules,
     .offset = OFF(config_tenant, rules),
     .doc = "what the rules engine watches: due dates, requests, SLA (docs/rules.md)"},
    CONF_END};

static const char *const meter_kinds[] = {"counter", "gauge", NULL};
static const char *const backwards_policies[] = {"reject", "reset", NULL};

static const struct conf_entry meter_type_entries[] = {
    {.name = "kind",
     .type = CONF_ENUM,
     .flags = CONF_REQUIRED,
     .values = meter_kinds,
     .offset = OFF(config_meter_type, kind),
     .doc = "counter (a cumulative total) or gauge (a measured value)"},
    {.name = "unit",
     .type = CONF_STRING,
     .offset = OFF(config_meter_type, unit),
     .doc = "unit of the values, e.g. h or count"},
    CONF_END};

static const struct conf_entry meter_type_item = {
    .name = "meter type", .type = CONF_MAP, .entries = meter_type_entries, .doc = "one meter type"};

static const struct conf_entry meters_entries[] = {
    {.name = "max_future",
     .type = CONF_DURATION,
     .def = "5m",
     .check = check_positive,
     .offset = OFF(config_meters, max_future_ms),
     .doc = "readings dated further in the future than this are rejected"},
    {.name = "counter_backwards",
     .type = CONF_ENUM,
     .def = "reject",
     .values = backwards_policies,
     .offset = OFF(config_meters, counter_backwards),
     .doc = "a cumulative total that goes down: reject the reading, or record a counter reset"},
    {.name = "types",
     .type = CONF_DICT,
     .item = &meter_type_item,
     .elem_size = sizeof(struct config_meter_type),
     .name_offset = OFF(config_meter_type, name),
     .offset = OFF(config_meters, types),
     .count_offset = OFF(config_meters, n_types),
     .doc = "meter types beyond the built-in cycles, run_hours, shots and units_tested"},
    CONF_END};

static const struct conf_entry tenant_item = {.name = "tenant",
                                              .type = CONF_MAP,
                                              .entries = tenant_entries,
                                              .check = check_tenant,
                                              .doc = "one tenant"};

static const struct conf_entry sync_retry_entries[] = {
    {.name = "base",
     .type = CONF_DURATION,
     .def = "1s",
     .check = check_positive,
     .offset = OFF(config_sync, retry_base_ms),
     .doc = "first backoff ceiling (full jitter below it)"},
    {.name = "cap",
     .type = CONF_DURATION,
     .def = "15m",
     .check = check_positive,
     .offset = OFF(config_sync, retry_cap_ms),
     .doc = "largest backoff"},
    {.name = "max_attempts",
     .type = CONF_INT,
     .def = "20",
     .check = check_nonnegative,
     .offset = OFF(config_sync, retry_max_attempts),
     .doc = "attempts before a dead letter; 0: no limit"},
    {.name = "max_age",
     .type = CONF_DURATION,
     .def = "7d",
     .check = check_nonnegative,
     .offset = OFF(config_sync, retry_max_age_ms),
     .doc = "age of an item after which a failure makes it a dead letter; 0: no limit"},
    CONF_END};

static const struct conf_entry sync_breaker_entries[] = {
    {.name = "failure_threshold",
     .type = CONF_INT,
     .def = "5",
     .check = check_positive,
     .offset = OFF(config_sync, breaker_failures),
     .doc = "failures in a row that open a provider's circuit breaker"},
    {.name = "cooldown",
     .type = CONF_DURATION,
     .def = "30s",
     .check = check_positive,
     .offset = OFF(config_sync, breaker_cooldown_ms),
     .doc = "how long an open breaker waits before a probe"},
    CONF_END};

static const struct conf_entry sync_entries[] = {
    {.name = "lease",
     .type = CONF_DURATION,
     .def = "5m",
     .check = check_positive,
     .offset = OFF(config_sync, lease_ms),
     .doc = "an outbox claim's lease: a worker that dies is replaced after this"},
    {.name = "poll_interval",
     .type = CONF_DURATION,
     .def = "1s",
     .check = check_positive,
     .offset = OFF(config_sync, poll_interval_ms),
     .doc = "idle wait of the engine's loops"},
    {.name = "batch",
     .type = CONF_INT,
     .def = "10",
     .check = check_batch,
     .offset = OFF(config_sync, batch),
     .doc = "outbox items per claim (1 to 1000)"},
    {.name = "full_pass_every",
     .type = CONF_INT,
     .def = "24",
     .check = check_positive,
     .offset = OFF(config_sync, full_pass_every),
     .doc = "a full pull pass (marking vanished records) every N passes"},
    {.name = "retry",
     .type = CONF_MAP,
     .entries = sync_retry_entries,
     .offset = 0,
     .doc = "retries of failed deliveries"},
    {.name = "breaker",
     .type = CONF_MAP,
     .entries = sync_breaker_entries,
     .offset = 0,
     .doc = "circuit breaker per provider"},
    CONF_END};

static const struct conf_entry webhooks_entries[] = {
    {.name = "timeout",
     .type = CONF_DURATION,
     .def = "10s",
     .check = check_positive,
     .offset = OFF(config_webhooks, timeout_ms),
     .doc = "one delivery attempt"},
    {.name = "max_attempts",
     .type = CONF_INT,
     .def = "12",
     .check = check_positive,
     .offset = OFF(config_webhooks, max_attempts),
     .doc = "attempts before a delivery is dead-lettered"},
    {.name = "max_age",
     .type = CONF_DURATION,
     .def = "24h",
     .check = check_positive,
     .offset = OFF(config_webhooks, max_age_ms),
     .doc = "a delivery this old is dead-lettered"},
    {.name = "allow_plain_http",
     .type = CONF_BOOL,
     .def = "true",
     .offset = OFF(config_webhooks, allow_plain_http),
     .doc = "deliver to http:// URLs (false: https only)"},
    CONF_END};

static const struct conf_entry root_entries[] = {{.name = "server",
                                                  .type = CONF_MAP,
                                                  .entries = server_entries,
                                                  .offset = OFF(config, server),
                                                  .doc = "the HTTP API"},
                                                 {.name = "store",
                                                  .type = CONF_MAP,
                                                  .entries = store_entries,
                                                  .offset = OFF(config, store),
                                                  .doc = "where data is kept"},
                                                 {.name = "log",
                                                  .type = CONF_MAP,
                                                  .entries = log_entries,
                                                  .offset = OFF(config, log),
                                                  .doc = "logging"},
                                                 {.name = "meters",
                                                  .type = CONF_MAP,
                                                  .entries = meters_entries,
                                                  .offset = OFF(config, meters),
                                                  .doc = "meter readings: limits and extra types"},
                                                 {.name = "sync",
                                                  .type = CONF_MAP,
                                                  .entries = sync_entries,
                                                  .offset = OFF(config, sync),
                                                  .doc = "the sync engine's tuning"},
                                                 {.name = "webhooks",
                                                  .type = CONF_MAP,
                                                  .entries = webhooks_entries,
                                                  .offset = OFF(config, webhooks),
                                                  .doc = "delivery of webhook subscriptions"},
                                                 {.name = "tenants",
                                                  .type = CONF_DICT,
                                                  .item = &tenant_item,
                                                  .check = check_tenants,
                                                  .elem_size = sizeof(struct config_tenant),
                                                  .name_offset = OFF(config_tenant, name),
                                                  .offset = OFF(config, tenants),
                                                  .count_offset = OFF(config, n_tenants),
                                                  .doc = "tenants by name"},
                                                 CONF_END};

/* ---- loading ------------------------------------------------------------ */

void config_errors_cleanup(struct config_errors *errs)
{
    if (!errs)
        return;
    arena_free(errs->priv);
    memset(errs, 0, sizeof(*errs));
}

void config_errors_print(const struct config_errors *errs, FILE *out)
{
    for (size_t i = 0; i < errs->n; i++) {
        const struct config_error *e = &errs->items[i];
        if (e->line)
            (void)fprintf(out, "%s:%u:%u: error: %s\n", e->file, e->line, e->column, e->message);
        else
            (void)fprintf(out, "%s: error: %s\n", e->file, e->message);
        if (e->hint)
            (void)fprintf(out, "  hint: %s\n", e->hint);
    }
}

/* One error without a position, owned by errs. */
static void errors_one(struct config_errors *errs, const char *file, const char *fmt, ...)
    AB_PRINTF(3, 4);

static void errors_one(struct config_errors *errs, const char *file, const char *fmt, ...)
{
    struct arena *a = arena_new(0, 0);
    struct config_error *e = arena_zalloc(a, sizeof(*e));
    va_list ap;
    va_start(ap, fmt);
    e->message = arena_vprintf(a, fmt, ap);
    va_end(ap);
    e->file = arena_strdup(a, file);
    errs->items = e;
    errs->n = 1;
    errs->priv = a;
}

enum ab_rc config_load_buffer_ex(const char *name, const char *text, size_t len, unsigned flags,
                                 struct config **out, struct config_errors *errs)
{
    *out = NULL;
    memset(errs, 0, sizeof(*errs));
    if (len > CONFIG_MAX_BYTES) {
        errors_one(errs, name, "the configuration is larger than %u MiB", CONFIG_MAX_BYTES >> 20);
        return AB_ECONFIG;
    }
    struct arena *a = arena_new(16384, CONFIG_ARENA_MAX);
    struct config_impl *impl = arena_zalloc(a, sizeof(*impl));
    impl->arena = a;
    impl->ctx = conf_ctx_new(a, name, (flags & CONFIG_LOAD_NO_SUBST) ? CONF_NO_SUBST : 0);
    impl->cfg.source = arena_strdup(a, name);

    const struct conf_node *root;
    if (conf_parse(impl->ctx, text, len, &root) == AB_OK)
        conf_decode(impl->ctx, root_entries, root, &impl->cfg);
    if (conf_error_count(impl->ctx)) {
        conf_take_errors(impl->ctx, errs);
        arena_free(a);
        return AB_ECONFIG;
    }
    *out = &impl->cfg;
    return AB_OK;
}

enum ab_rc config_load_buffer(const char *name, const char *text, size_t len, struct config **out,
                              struct config_errors *errs)
{
    return config_load_buffer_ex(name, text, len, 0, out, errs);
}

enum ab_rc config_load(const char *path, struct config **out, struct config_errors *errs)
{
    *out = NULL;
    memset(errs, 0, sizeof(*errs));
    FILE *f = fopen(path, "rb");
    if (!f) {
        errors_one(errs, path, "cannot open the configuration file: %s", strerror(errno));
        return AB_EIO;
    }
    struct buf b;
    buf_init(&b, CONFIG_MAX_BYTES);
    char chunk[8192];
    size_t n;
    enum ab_rc rc = AB_OK;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_append(&b, chunk, n);
    int err = ferror(f) ? errno : 0;
    (void)fclose(f);
    if (err) {
        errors_one(errs, path, "cannot read the configuration file: %s", strerror(err));
        buf_cleanup(&b);
        return AB_EIO;
    }
    if (rc) {
        errors_one(errs, path, "the configuration file is larger than %u MiB",
                   CONFIG_MAX_BYTES >> 20);
        buf_cleanup(&b);
        return AB_ECONFIG;
    }
    rc = config_load_buffer(path, buf_str(&b), b.len, out, errs);
    buf_cleanup(&b);
    return rc;
}

struct config *config_default(void)
{
    struct config *cfg;
    struct config_errors errs;
    if (config_load_buffer_ex("<built-in default>", "", 0, CONFIG_LOAD_NO_SUBST, &cfg, &errs)) {
        config_errors_print(&errs, stderr); /* a bug in the schema defaults */
        abort();
    }
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg)
        arena_free(((struct config_impl *)cfg)->arena);
}

void config_print(const struct config *cfg, FILE *out)
{
    const struct config_impl *impl = (const struct config_impl *)cfg;
    (void)fputs("# effective configuration; secrets and ${env:}/${file:} values are redacted\n",
                out);
    conf_print(impl->ctx, root_entries, cfg, out, 0);
}

const struct config_tenant *config_tenant(const struct config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_tenants; i++)
        if (str_eq(cfg->tenants[i].name, name))
            return &cfg->tenants[i];
    return NULL;
}

const struct config_provider *config_provider(const struct config_tenant *t, const char *name)
{
    for (size_t i = 0; t && name && i < t->n_providers; i++)
        if (str_eq(t->providers[i].name, name))
            return &t->providers[i];
    return NULL;
}

const struct config_provider *config_provider_for_item(const struct config_tenant *t,
                                                       const char *name)
{
    const struct config_provider *p = config_provider(t, name), *only = NULL;
    if (p || !t || !name)
        return p;
    for (size_t i = 0; i < t->n_providers; i++) {
        if (!str_eq(t->providers[i].type, name))
            continue;
        if (only)
            return NULL; /* several of that type: ambiguous */
        only = &t->providers[i];
    }
    return only;
}

const struct config_entity *config_entity(const struct config_provider *p, const char *entity)
{
    for (size_t i = 0; p && entity && i < p->n_entities; i++)
        if (str_eq(p->entities[i].name, entity))
            return &p->entities[i];
    return NULL;
}

int config_outbox_priority(const struct config_tenant *t, const char *provider, const char *entity)
{
    const struct config_entity *e = config_entity(config_provider_for_item(t, provider), entity);
    return e && e->severity && str_eq(e->severity, "reporting") ? 1 : 0;
}

const char *config_system_of_record(const struct config_tenant *t, const char *site, enum domain d)
{
    if (!t || !site || (unsigned)d >= DOMAIN_COUNT)
        return NULL;
    for (size_t i = 0; i < t->n_system_of_record; i++)
        if (str_eq(t->system_of_record[i].site, site))
            return t->system_of_record[i].provider[d];
    return NULL;
}

/* Copy the keys an override wrote (bits of set) from src to dst. */
static void rules_merge(const struct conf_entry *entries, unsigned set, void *dst, const void *src)
{
    for (unsigned i = 0; i < 32 && entries[i].name; i++) {
        if (!(set & (1u << i)))
            continue;
        size_t n;
        switch (entries[i].type) {
        case CONF_BOOL: n = sizeof(bool); break;
        case CONF_NUMBER: n = sizeof(double); break;
        case CONF_STRING:
        case CONF_ENUM: n = sizeof(const char *); break;
        case CONF_CUSTOM: n = sizeof(struct config_string_list); break; /* the rules' lists */
        default: n = sizeof(int64_t); break;
        }
        memcpy((char *)dst + entries[i].offset, (const char *)src + entries[i].offset, n);
    }
}

static const struct config_rules_override *rules_override(const struct config_rules_override *v,
                                                          size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (str_eq(v[i].name, name))
            return &v[i];
    return NULL;
}

void config_rules_calibration(const struct config_tenant *t, const char *site,
                              const char *asset_type, struct config_rules_cal *out)
{
    const struct config_rules_override *o;
    *out = t->rules.calibration;
    if ((o = rules_override(t->rules.sites, t->rules.n_sites, site)))
        rules_merge(rules_cal_entries, o->calibration.set, out, &o->calibration);
    if ((o = rules_override(t->rules.asset_types, t->rules.n_asset_types, asset_type)))
        rules_merge(rules_cal_entries, o->calibration.set, out, &o->calibration);
    out->set = 0;
}

void config_rules_maintenance(const struct config_tenant *t, const char *site,
                              const char *asset_type, struct config_rules_maint *out)
{
    const struct config_rules_override *o;
    *out = t->rules.maintenance;
    if ((o = rules_override(t->rules.sites, t->rules.n_sites, site)))
        rules_merge(rules_maint_entries, o->maintenance.set, out, &o->maintenance);
    if ((o = rules_override(t->rules.asset_types, t->rules.n_asset_types, asset_type)))
        rules_merge(rules_maint_entries, o->maintenance.set, out, &o->maintenance);
    out->set = 0;
}

void config_rules_failure_rate(const struct config_tenant *t, const char *site,
                               const char *asset_type, struct config_rules_failure_rate *out)
{
    const struct config_rules_override *o;
    *out = t->rules.failure_rate;
    if ((o = rules_override(t->rules.sites, t->rules.n_sites, site)))
        rules_merge(rules_failure_rate_entries, o->failure_rate.set, out, &o->failure_rate);
    if ((o = rules_override(t->rules.asset_types, t->rules.n_asset_types, asset_type)))
        rules_merge(rules_failure_rate_entries, o->failure_rate.set, out, &o->failure_rate);
}

bool config_rules_failure_rate_any(const struct config_tenant *t)
{
    if (t->rules.failure_rate.enabled)
        return true;
    for (size_t i = 0; i < t->rules.n_sites; i++)
        if (t->rules.sites[i].failure_rate.enabled)
            return true;
    for (size_t i = 0; i < t->rules.n_asset_types; i++)
        if (t->rules.asset_types[i].failure_rate.enabled)
            return true;
    return false;
}

int64_t config_rules_sync_lag(const struct config_tenant *t, const char *provider)
{
    for (size_t i = 0; t && provider && i < t->rules.sla.n_sync_lag; i++)
        if (str_eq(t->rules.sla.sync_lag[i].provider, provider))
            return t->rules.sla.sync_lag[i].max_ms;
    return 0;
}

enum ab_rc config_parse_size(const char *s, int64_t *out)
{
    static const struct {
        const char *unit;
        int shift;
    } units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    size_t digits = 0;
    while (s[digits] >= '0' && s[digits] <= '9')
        digits++;
    int64_t v;
    if (!digits || str_to_i64n(s, digits, &v))
        return AB_EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s + digits, units[i].unit) != 0)
            continue;
        if (v > (INT64_MAX >> units[i].shift))
            return AB_EINVAL;
        *out = v << units[i].shift;
        return AB_OK;
    }
    return AB_EINVAL;
}
