/* SPDX-License-Identifier: Apache-2.0
 *
 * config.h: the assetbridge configuration: one YAML file, checked against a
 * schema, decoded into the typed structs below.
 *
 *   server:   listen, limits, tls
 *   store:    backend, data_dir, path, synchronous, retention
 *   log:      level, format, file
 *   tenants:  NAME: {providers, system_of_record, sites, rules}
 *             (rules: calibration, maintenance, sla, per-site and per-asset-type
 *             overrides; docs/rules.md)
 *             (a provider of type wats may carry a `wats:` section, one of
 *             type sap_pm a `sap_pm:` section)
 *
 * Every key is documented in examples/assetbridge.yaml and docs/configuration.md.
 * Later issues add keys by extending the schema in config.c and the structs
 * here. Scalars may be written as ${env:NAME} or ${file:/path} (the file's
 * contents without the trailing newline); such values and every key marked
 * secret (passwords, tokens, keys) are redacted wherever the configuration is
 * printed, and registered with log_add_secret() so they never reach a log.
 *
 * A loaded configuration is immutable and owned by its struct config (one
 * arena); it may be read from any thread.
 */
#ifndef AB_CORE_CONFIG_H
#define AB_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/result.h"

/* ---- names used everywhere (config, CLI, API, metrics, docs) ---------- */

enum domain {
    DOMAIN_ASSET_MASTER,
    DOMAIN_CALIBRATION,
    DOMAIN_MAINTENANCE,
    DOMAIN_WORK_ORDERS,
    DOMAIN_USAGE,
    DOMAIN_COUNT
};

enum provider_mode { MODE_READ_ONLY, MODE_DRAFT, MODE_WRITE_BACK };

/* "asset_master", ...; NULL-terminated list in enum order. */
extern const char *const config_domain_names[DOMAIN_COUNT + 1];
/* "read_only", "draft", "write_back"; NULL-terminated. */
extern const char *const config_mode_names[4];
/* Known provider types: "wats", "sap_pm", "generic", later ones...; NULL-terminated. */
extern const char *const config_provider_types[];
/* Known entities: "asset", "asset_type", "meter", ...; NULL-terminated. */
extern const char *const config_entity_names[];

/* ---- typed configuration --------------------------------------------- */

struct config_server_limits {
    int64_t max_body;                   /* bytes; default 1 MiB */
    int64_t max_batch_body;             /* bytes; default 16 MiB */
    int64_t max_connections;            /* default 256 */
    int64_t max_header;                 /* bytes per connection for the request head; 16 KiB */
    int64_t header_timeout_ms;          /* default 10 s */
    int64_t idle_timeout_ms;            /* default 60 s */
    int64_t batch_bodies_in_flight;     /* default 2 */
    double requests_per_second_per_key; /* default 1000 */
    int64_t burst_per_key;              /* default 2000 */
};

struct config_server_tls {
    const char *cert_file; /* NULL: plain HTTP (or TLS by a reverse proxy) */
    const char *key_file;  /* secret path; required with cert_file */
};

struct config_server {
    const char *listen; /* "HOST:PORT"; default "127.0.0.1:8440" */
    int64_t threads;    /* HTTP event-loop threads; default 4 */
    struct config_server_limits limits;
    struct config_server_tls tls;
};

struct config_retention {
    int64_t readings_ms;         /* default 400 d */
    int64_t events_ms;           /* default 90 d */
    int64_t outbox_done_ms;      /* default 7 d */
    int64_t idempotency_keys_ms; /* default 7 d (never below 7 d) */
    int64_t logs_ms;             /* default 30 d */
};

struct config_store {
    const char *backend;     /* "sqlite" (default); later "postgres" */
    const char *data_dir;    /* default "./assetbridge-data" */
    const char *path;        /* default "assetbridge.db", relative to data_dir */
    const char *synchronous; /* "full" (default), "normal", "extra" */
    struct config_retention retention;
};

struct config_log {
    const char *level;  /* debug, info (default), warn, error */
    const char *format; /* json (default), text */
    const char *file;   /* NULL: stderr */
};

struct config_auth {
    const char *scheme; /* none, basic, bearer, token, oauth2_client_credentials, api_key */
    const char *user;
    const char *password; /* secret */
    const char *token;    /* secret */
    const char *client_id;
    const char *client_secret; /* secret */
    const char *token_url;
    const char *api_key; /* secret */
    const char *header;  /* header name for api_key (default "Authorization") */
};

struct config_provider_tls {
    bool verify; /* default true; false is logged loudly at start */
    const char *ca_file;
    const char *client_cert;
    const char *client_key; /* secret path */
};

struct config_proxy {
    const char *url;
    const char *no_proxy;
};

struct config_rate_limit {
    double requests_per_second; /* 0: the provider's documented default */
    int64_t burst;              /* 0: derived */
};

struct config_entity {
    const char *name;              /* one of config_entity_names */
    int64_t interval_ms;           /* pull interval; default 5 min */
    const char *severity;          /* plant_critical (default) or reporting */
    int64_t reconcile_interval_ms; /* scheduled reconciliation; 0 (default): none */
    bool reconcile_repair;         /* scheduled runs repair what they find; default false */
};

/* One meter pushed to a provider as usage: the hub's meter type and the
 * provider's name for it (measuring point, counter). */
struct config_usage_meter {
    const char *name;   /* hub meter type (key in usage.meters) */
    const char *target; /* provider's meter name; default: the same as name */
};

/* Usage (meter totals) pushed to a provider. Only the listed meters are
 * pushed; an empty list pushes none. */
struct config_usage {
    int64_t flush_window_ms; /* hold a meter's newest total this long before pushing; default 1 m */
    double
        delta_threshold; /* push at once when the total moved this much; 0 (default): never early */
    struct config_usage_meter *meters;
    size_t n_meters;
};

/* A list of strings: a YAML sequence (`[a, b]`) or one comma-separated
 * string ("a, b"); items are trimmed, empty items dropped. */
struct config_string_list {
    const char *const *v;
    size_t n;
};

/* `providers.NAME.wats`: the WATS connector's options for what the contract
 * sheet marks [inferred] (docs/connectors/wats.md, "Configuration"). Only a
 * provider of type wats may have the section; the defaults below apply to
 * every wats provider without one. */
struct config_wats {
    const char *paging;              /* skip (default) or keyset */
    int64_t page_size;               /* $top of asset pages, 1..1000; default 1000 */
    int64_t log_page_size;           /* $top of Asset/Log pages, 1..1000; default 200 */
    int64_t report_page_size;        /* $top of report header pages, 1..10000; default 500 */
    int64_t lookup_batch;            /* serial numbers per `or` filter, 1..100; default 20 */
    bool incremental_via_log;        /* default true; false: every pull is a full pass */
    bool log_tiebreak;               /* default true; false: `date ge D` */
    bool status_for_changed;         /* GET Asset/Status for changed assets; default true */
    bool derive_status;              /* warning/alarm from the type limits; default true */
    double default_warning_pct;      /* types without thresholds; default 80 */
    double default_alarm_pct;        /* default 100 */
    const char *send_dates;          /* utc_z (default) or naive */
    const char *naive_offset;        /* "+HH:MM" / "-HH:MM" / "Z"; default "Z" */
    int64_t naive_offset_min;        /* naive_offset in minutes east of UTC (derived) */
    const char *usage_endpoint;      /* count (default), set_total_count or auto */
    const char *set_total_param;     /* default "totalCount" */
    const char *set_running_param;   /* default "runningCount" */
    const char *external_from_param; /* default "fromDate" */
    const char *external_to_param;   /* default "toDate" */
    const char *report_cursor_field; /* default "timeStamp" */
    struct config_string_list reports_count_usage_types;  /* type names or ids; default none */
    struct config_string_list calibration_external_types; /* default none */
    struct config_string_list maintenance_external_types; /* default none */
    bool external_sentinel;         /* interval == external_sentinel_value is External; false */
    double external_sentinel_value; /* default -2 */
    int64_t due_tolerance_ms;       /* next-due comparison; default 24 h */
    double requests_per_minute;     /* 0 (default): rate_limit x 60 when set, else 500 */
    int64_t max_retries;            /* retries of a read, 0..10; default 2 */
    int64_t retry_base_ms;          /* default 500 ms */
    int64_t retry_cap_ms;           /* default 10 s; not below retry_base */
    const char *server_version;     /* NULL (default): ask /api/App/Version */
    const char *default_type;       /* NULL (default): none */
    /* "asset_type=WATS type name" pairs: the type of an asset registered in
     * WATS by the lifecycle rules (else default_type) */
    struct config_string_list register_types;
};

/* `providers.NAME.sap_pm`: the SAP PM connector's options for what the
 * contract sheet marks [inferred] or leaves open (docs/connectors/sap-pm.md,
 * "Configuration"). Only a provider of type sap_pm may have the section; the
 * defaults below apply to every sap_pm provider without one. Value maps are
 * string lists of "NATIVE=common" pairs. */
struct config_sap_pm {
    const char *sap_client;        /* sap-client sent with every request; NULL (default): none */
    const char *service_version;   /* V2 path suffix ";v=NNNN"; NULL (default): none */
    int64_t page_size;             /* $top of pages, 1..5000; default 500 */
    int64_t lookup_batch;          /* keys per `or` filter, 1..100; default 40 */
    const char *filter_literal;    /* datetimeoffset (default) or datetime */
    const char *csrf_fetch;        /* get (default): GET <service>/; head: HEAD <service>/ */
    const char *notification_type; /* NotificationType of opened requests; default "M1" */
    struct config_string_list priority_map;           /* MaintPriority=common; default 1..4 */
    struct config_string_list order_phase_map;        /* MaintOrdProcessPhaseCode=status */
    struct config_string_list notification_phase_map; /* NotifProcessingPhase=status */
    struct config_string_list order_type_map;         /* MaintenanceOrderType=type */
    struct config_string_list notification_type_map;  /* NotificationType=type */
    const char *default_type; /* work order type of unmapped types; default "corrective" */
    const char *match_key;    /* serial_number (default), manufacturer_serial, characteristic */
    const char *match_characteristic; /* characteristic name for match_key characteristic */
    const char *deleted_status;       /* asset status of equipment marked for deletion; "retired" */
    const char *inactive_status;      /* asset status of inactive equipment; "in_storage" */
    const char *meter_key;            /* measuring point field naming the meter; default
                                         "MeasuringPointPositionNumber" */
    const char *counter_field;        /* MeasurementCounterReading (default) or
                                         MeasurementReadingInEntryUoM */
    bool meter_totals;                /* provider_meters in asset pulls (usage baselines); true */
    bool final_confirmation;          /* final confirmations when an order completes; true */
    int64_t max_retries;              /* retries of a read, 0..10; default 2 */
    int64_t retry_base_ms;            /* default 500 ms */
    int64_t retry_cap_ms;             /* default 10 s; not below retry_base */
};

struct config_provider {
    const char *name; /* key in the providers map */
    const char *type; /* one of config_provider_types */
    const char *base_url;
    struct config_auth auth;
    struct config_provider_tls tls;
    struct config_proxy proxy;
    enum provider_mode mode[DOMAIN_COUNT]; /* `mode: X` or `mode: {domain: X}`; default read_only */
    struct config_rate_limit rate_limit;
    struct config_entity *entities;
    size_t n_entities;
    struct config_usage usage;
    int64_t concurrency;         /* outbox workers and requests in flight; default 4 (1..16) */
    int64_t connect_timeout_ms;  /* timeouts.connect; default 10 s */
    int64_t request_timeout_ms;  /* timeouts.request (the whole call); default 60 s */
    struct config_wats wats;     /* `wats:`; only for type wats (defaults otherwise) */
    struct config_sap_pm sap_pm; /* `sap_pm:`; only for type sap_pm (defaults otherwise) */
};

struct config_system_of_record {
    const char *site;
    const char *provider[DOMAIN_COUNT]; /* provider name per domain, NULL if unset */
};

struct config_kv {
    const char *key;
    const char *value;
};

struct config_value_map {
    const char *name; /* e.g. "plant", "object_type", "meter" */
    struct config_kv *pairs;
    size_t n_pairs;
};

struct config_site {
    const char *name;
    const char *time_zone; /* IANA name, checked against the system zoneinfo; default "UTC" */
    struct config_value_map *value_maps;
    size_t n_value_maps;
};

/* `rules.calibration` of a tenant, or of one of its site or asset type
 * overrides (docs/rules.md). */
struct config_rules_cal {
    bool enabled;                /* evaluate calibration due dates; default true */
    double due_soon_pct;         /* due_soon once this % of the interval has passed; 90 */
    int64_t due_soon_window_ms;  /* without a known interval: this long before due; 14 d */
    int64_t interval_days;       /* interval when the record has none; 0 (default): none */
    bool open_request;           /* open a request in the system of record; default true */
    const char *open_request_at; /* due_soon (default) or overdue */
    /* interval suggestions (src/rules/suggest.h, docs/rules.md) */
    bool suggest_intervals;      /* suggest interval changes from as-found results; true */
    int64_t suggest_after;       /* lengthen after this many in-tolerance results in a row; 3 */
    double suggest_increase_pct; /* by this percentage; 25 */
    double suggest_decrease_pct; /* shorten by this percentage after out of tolerance; 50 */
    int64_t suggest_min_days;    /* never suggest less than this many days; 30 */
    int64_t suggest_max_days;    /* never suggest more than this many days; 730 */
    bool apply_suggestions;      /* approve suggestions without a person; false */
    /* usage: calibrate after this much use of usage_meter since the last
     * calibration as well (whichever comes first); 0 (default): days only */
    double interval_usage;
    const char *usage_meter;  /* meter type counting the use; default "cycles" */
    bool lockout;             /* overdue: the asset's state In Calibration in WATS; false */
    bool reset_running_count; /* completed: reset the running count in WATS; false */
    unsigned set;             /* overrides: bit i = key i of the table was written */
};

/* `rules.maintenance` (and its overrides). */
struct config_rules_maint {
    bool enabled;             /* evaluate maintenance plans; default true */
    int64_t lead_time_ms;     /* time plans fall due this long before next_due_at; 0 */
    double lead_usage;        /* usage plans fall due this much before next_due_reading; 0 */
    bool open_request;        /* open a request in the system of record; default true */
    bool reset_running_count; /* completed: reset the running count in WATS; false */
    unsigned set;             /* overrides: bit i = key i of the table was written */
};

/* `rules.failure_rate`: out-of-spec from test results (src/rules/condition.c). */
struct config_rules_failure_rate {
    bool enabled;                          /* default false */
    int64_t window;                        /* judge the last this many uses; 20 */
    int64_t min_uses;                      /* never judge fewer uses; 10 */
    double threshold_pct;                  /* open a request above this failure rate; 25 */
    struct config_string_list asset_types; /* judged asset types; default fixture, instrument */
    unsigned set;                          /* overrides: bit i = key i of the table was written */
};

/* `rules.sites.NAME` / `rules.asset_types.NAME`: keys written here replace
 * the tenant's (an asset type's replace a site's). */
struct config_rules_override {
    const char *name; /* site name, or asset type (station, fixture, ...) */
    struct config_rules_cal calibration;
    struct config_rules_maint maintenance;
    struct config_rules_failure_rate failure_rate;
};

/* `rules.sla.sync_lag.PROVIDER`. */
struct config_sync_lag {
    const char *provider; /* a provider of the tenant */
    int64_t max_ms;       /* sync.lagging when the last successful pull is older */
};

struct config_rules_sla {
    bool work_orders; /* work_order.sla_breached past sla_due_at; default true */
    struct config_sync_lag *sync_lag;
    size_t n_sync_lag;
};

/* `tenants.T.rules`: what the rules engine (src/rules) watches. */
/* `rules.lifecycle`: asset master changes carried to the other systems
 * (src/rules/lifecycle.c). */
struct config_rules_lifecycle {
    bool enabled;                      /* default true */
    bool reverse;                      /* changes made outside the system of record too; false */
    struct config_string_list targets; /* providers written; default every able one */
};

struct config_rules {
    int64_t evaluate_every_ms; /* full evaluation on this schedule; default 1 m */
    bool close_loop;           /* a closed request records the work done elsewhere; default true */
    struct config_rules_failure_rate failure_rate;
    struct config_rules_lifecycle lifecycle;
    struct config_rules_cal calibration;
    struct config_rules_maint maintenance;
    struct config_rules_sla sla;
    struct config_rules_override *sites;
    size_t n_sites;
    struct config_rules_override *asset_types;
    size_t n_asset_types;
};

struct config_tenant {
    const char *name;
    struct config_provider *providers;
    size_t n_providers;
    struct config_system_of_record *system_of_record;
    size_t n_system_of_record;
    struct config_site *sites;
    size_t n_sites;
    struct config_rules rules;
};

struct config_meter_type {
    const char *name; /* key in meters.types */
    const char *kind; /* counter or gauge */
    const char *unit; /* may be NULL */
};

struct config_meters {
    int64_t max_future_ms;         /* readings further ahead are rejected; default 5 min */
    const char *counter_backwards; /* "reject" (default) or "reset" */
    struct config_meter_type
        *types; /* beyond the built-in cycles, run_hours, shots, units_tested */
    size_t n_types;
};

/* The sync engine's tuning (every provider). */
struct config_sync {
    int64_t lease_ms;           /* an outbox claim's lease; default 5 min */
    int64_t poll_interval_ms;   /* idle wait of the engine's loops; default 1 s */
    int64_t batch;              /* outbox items per claim; default 10 */
    int64_t full_pass_every;    /* a full pull pass every N passes; default 24 */
    int64_t retry_base_ms;      /* retry.base: first backoff ceiling; default 1 s */
    int64_t retry_cap_ms;       /* retry.cap: backoff ceiling; default 15 min */
    int64_t retry_max_attempts; /* retry.max_attempts, then dead letter; default 20 (0: no limit) */
    int64_t retry_max_age_ms;   /* retry.max_age, then dead letter; default 7 d (0: no limit) */
    int64_t
        breaker_failures; /* breaker.failure_threshold: failures in a row that open it; default 5 */
    int64_t breaker_cooldown_ms; /* breaker.cooldown before a probe; default 30 s */
};

/* Delivery of webhook subscriptions (through the outbox). */
struct config_webhooks {
    int64_t timeout_ms;    /* one delivery attempt; default 10 s */
    int64_t max_attempts;  /* then dead letter; default 12 */
    int64_t max_age_ms;    /* or when the event is this old; default 24 h */
    bool allow_plain_http; /* deliver to http:// URLs; default true (loopback receivers) */
};

struct config {
    const char *source; /* file name, or "<built-in default>" */
    struct config_server server;
    struct config_store store;
    struct config_log log;
    struct config_meters meters;
    struct config_webhooks webhooks;
    struct config_sync sync;
    struct config_tenant *tenants;
    size_t n_tenants;
};

/* ---- errors ------------------------------------------------------------ */

/* One problem found in a configuration file. */
struct config_error {
    const char *file;
    unsigned line;       /* 1-based; 0 when the problem has no location */
    unsigned column;     /* 1-based */
    const char *message; /* what is wrong, naming the key path */
    const char *hint;    /* how to fix it, or NULL */
};

/* All problems found by one load, in file order. Owned by the list. */
struct config_errors {
    struct config_error *items;
    size_t n;
    void *priv; /* internal allocation; do not touch */
};

/* Release the error list. Safe on a zeroed or already cleaned list. */
void config_errors_cleanup(struct config_errors *errs);

/* Print every error as "FILE:LINE:COL: error: MESSAGE" followed, when there
 * is a hint, by "  hint: HINT", one per line. */
void config_errors_print(const struct config_errors *errs, FILE *out);

/* ---- loading ------------------------------------------------------------ */

/* Load and check the configuration in file path.
 * On success *out owns a new configuration (free with config_free) and errs
 * is empty. On failure *out is NULL and errs lists every problem found:
 * a YAML syntax error (reported where it occurs; nothing else is checked),
 * or all schema errors together (wrong types, unknown keys with a "did you
 * mean" hint, missing required keys, bad values, cross-references such as a
 * system_of_record naming an unknown provider, unreadable secret files).
 * Returns AB_OK, AB_EIO (file missing or unreadable: one error, no location)
 * or AB_ECONFIG. Secret values are registered with log_add_secret(). */
enum ab_rc config_load(const char *path, struct config **out /* OUT */,
                       struct config_errors *errs /* OUT */) AB_MUST_CHECK;

/* Same, from a buffer; name is used as the file name in errors. */
enum ab_rc config_load_buffer(const char *name, const char *text, size_t len,
                              struct config **out /* OUT */,
                              struct config_errors *errs /* OUT */) AB_MUST_CHECK;

/* Flags for config_load_buffer_ex(). CONFIG_LOAD_NO_SUBST refuses ${env:} and
 * ${file:} (fuzzing, untrusted text): each reference is reported as an error. */
#define CONFIG_LOAD_NO_SUBST 0x1u

/* Same as config_load_buffer(), with CONFIG_LOAD_* flags. */
enum ab_rc config_load_buffer_ex(const char *name, const char *text, size_t len, unsigned flags,
                                 struct config **out /* OUT */,
                                 struct config_errors *errs /* OUT */) AB_MUST_CHECK;

/* The built-in default: serve on 127.0.0.1:8440, SQLite in
 * ./assetbridge-data, one tenant "default" without providers. Never NULL. */
struct config *config_default(void);

void config_free(struct config *cfg);

/* Write the effective configuration (defaults filled in) as YAML, with
 * secrets and ${env:}/${file:} values redacted. */
void config_print(const struct config *cfg, FILE *out);

/* Lookups; NULL when absent. */
const struct config_tenant *config_tenant(const struct config *cfg, const char *name);
const struct config_provider *config_provider(const struct config_tenant *t, const char *name);

/* The provider an outbox item queued under name is for: the provider of
 * that name, else the tenant's only provider of that type (work orders name
 * their provider by type), else NULL. */
const struct config_provider *config_provider_for_item(const struct config_tenant *t,
                                                       const char *name);

/* The entity's configuration at provider p, or NULL when p does not pull it. */
const struct config_entity *config_entity(const struct config_provider *p, const char *entity);

/* Outbox priority of an item for (provider, entity) of tenant t: 0 when the
 * entity's severity is plant_critical or it is not configured (the default
 * severity), 1 when it is reporting. Lower is delivered first. */
int config_outbox_priority(const struct config_tenant *t, const char *provider, const char *entity);

/* The provider the system of record names for (site, domain) in t, or NULL
 * when none is named (any provider may then be written). */
const char *config_system_of_record(const struct config_tenant *t, const char *site, enum domain d);

/* The calibration rules for an asset of asset_type (a model asset type
 * name, may be NULL) at site (may be NULL) of t: the tenant's, with the
 * keys the site's override writes, then the asset type's. t must not be
 * NULL (a tenant of a loaded configuration). */
void config_rules_calibration(const struct config_tenant *t, const char *site,
                              const char *asset_type, struct config_rules_cal *out /* OUT */);

/* The same for maintenance plans. */
void config_rules_maintenance(const struct config_tenant *t, const char *site,
                              const char *asset_type, struct config_rules_maint *out /* OUT */);

/* The out-of-spec rule (rules.failure_rate) for an asset, with the site and
 * asset type overrides merged as for calibration. */
void config_rules_failure_rate(const struct config_tenant *t, const char *site,
                               const char *asset_type,
                               struct config_rules_failure_rate *out /* OUT */);

/* Whether the out-of-spec rule is enabled for the tenant or in any of its
 * overrides (the scan of test report uses runs only then). */
bool config_rules_failure_rate_any(const struct config_tenant *t);

/* The sync lag limit of provider in t (rules.sla.sync_lag), 0 when unwatched. */
int64_t config_rules_sync_lag(const struct config_tenant *t, const char *provider);

/* Parse "64KiB", "1MiB", "16MiB", "1GiB", "512" (bytes) into bytes. */
enum ab_rc config_parse_size(const char *s, int64_t *out /* OUT */) AB_MUST_CHECK;

#endif
