/* SPDX-License-Identifier: Apache-2.0
 *
 * sim.h: the provider-simulator framework (`assetbridge sim PROVIDER`).
 *
 * One framework serves every simulated provider: it owns the HTTP routes
 * (a catch-all handing each request to the provider's route table), the
 * fault layer (sim/fault.h), the request log and effect counters behind
 * /_sim/..., the fake clock behind /_test/clock, the rate-limit bucket, the
 * Idempotency-Key store, the SQLite state (":memory:" or --state FILE) and
 * deterministic seeding. A provider is one file in src/sim/ exporting one
 * `const struct sim_provider`; the registry (sim_providers) lists them.
 *
 * Threading: the framework serialises every provider call under one lock,
 * so provider code runs single-threaded and may use the database freely.
 * See docs/internals/sim.md.
 */
#ifndef AB_SIM_SIM_H
#define AB_SIM_SIM_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/result.h"
#include "http/http.h"
#include "sim/fault.h"

#define SIM_ABI_V1 1
#define SIM_PARAMS_MAX 16 /* --set options per run */

struct sim;

/* Options of one simulator run (from the command line). */
struct sim_opts {
    uint64_t seed;          /* seeding and fault draws */
    unsigned assets;        /* assets to seed (0: the provider's default) */
    const char *state_path; /* SQLite file; NULL keeps the state in memory */
    const char *token;      /* credentials accepted (NULL: provider default) */
    const char *user;
    const char *password;
    double rate_limit; /* requests per second; 0 disables; < 0: provider default */
    unsigned burst;    /* bucket size (0: twice the rate, at least 10) */
    /* Provider options (only for providers with a configure hook, see
     * sim_configure_fn): the server version the provider imitates
     * (--server-version; NULL: its default) and "NAME=VALUE" switches
     * (--set, repeatable), e.g. for behaviour a contract marks [inferred]. */
    const char *server_version;
    const char *params[SIM_PARAMS_MAX];
    size_t n_params;
};

/* Check a provider's options (server_version, params) before the simulator
 * starts: AB_EINVAL with a one-line reason in err when one is unknown or
 * invalid. Providers that take options register such a hook beside the
 * registry in sim.c (sim_configurators), which keeps struct sim_provider
 * unchanged for providers without options. Pure; thread-safe. */
typedef enum ab_rc (*sim_configure_fn)(const struct sim_opts *opts, char *err, size_t errlen);

/* Route flags. */
#define SIM_ROUTE_LIST 1u       /* a paged list: its pages can be repeated (repeat_page) */
#define SIM_ROUTE_IDEMPOTENT 2u /* honours Idempotency-Key (the framework replays) */

/* A provider handler. Runs under the simulator's lock inside a database
 * transaction that is committed when the answer is below 400 and rolled
 * back otherwise (so a refused write leaves nothing behind). */
typedef void (*sim_handler_fn)(struct sim *s, struct http_request *req, struct http_response *resp);

struct sim_route {
    const char *method;
    const char *pattern; /* http_route_match() syntax */
    sim_handler_fn handler;
    unsigned flags; /* SIM_ROUTE_* */
};

/* The provider vtable. Slots may not be NULL unless marked optional. */
struct sim_provider {
    unsigned abi;                   /* SIM_ABI_V1 */
    const char *name;               /* "generic": `assetbridge sim NAME` */
    const char *summary;            /* one line for `sim --list` */
    const char *ddl;                /* provider tables (CREATE ... IF NOT EXISTS) */
    const char *const *effects;     /* effect counter names, NULL-terminated */
    const struct sim_route *routes; /* terminated by a NULL method */
    const char *default_token;      /* optional: NULL when tokens are not used */
    const char *default_user;       /* optional */
    const char *default_password;   /* optional */
    double default_rate_limit;      /* requests per second; 0: none */
    unsigned default_assets;        /* assets seeded without --assets */
    /* Fill a fresh state (inside a transaction) from rng. */
    enum ab_rc (*seed)(struct sim *s, struct sim_prng *rng, unsigned n_assets);
    /* Check the request's credentials; false with resp filled (the
     * provider's 401) when they are refused. */
    bool (*authenticate)(struct sim *s, struct http_request *req, struct http_response *resp);
    /* expire_token fault: answer this request as the provider does when the
     * presented token has expired, and make its auth flow require a fresh
     * token as the provider would. */
    void (*expire_token)(struct sim *s, struct http_request *req, struct http_response *resp);
    /* The provider's error body for status with a short code. */
    void (*error)(struct sim *s, struct http_request *req, struct http_response *resp, int status,
                  const char *code, const char *message);
    /* The provider's over-the-limit answer (429 + Retry-After, or 403). */
    void (*rate_limited)(struct sim *s, struct http_request *req, struct http_response *resp,
                         int64_t retry_after_s);
    /* The whole state as the provider's API would show it (new reference). */
    json_t *(*dump)(struct sim *s);
};

/* ---- registry ---------------------------------------------------------------- */

/* Every provider, terminated by NULL. */
extern const struct sim_provider *const sim_providers[];

/* The provider called name, or NULL. */
const struct sim_provider *sim_provider_find(const char *name);

/* ---- life cycle (cmd_sim) ------------------------------------------------------ */

/* Open the state (creating and seeding it when new), load nothing else.
 * On failure a one-line reason is in err: AB_EINVAL (a provider option is
 * invalid, or given to a provider that takes none), AB_EIO (cannot open the
 * file), AB_ECONFLICT (the state file belongs to another provider),
 * AB_EINTERNAL. */
enum ab_rc sim_new(const struct sim_provider *p, const struct sim_opts *opts,
                   struct sim **out /* OUT */, char *err, size_t errlen) AB_MUST_CHECK;

/* Add fault rules (JSON text: one rule or an array). AB_EPARSE/AB_EINVAL
 * with a reason in err. Thread-safe. */
enum ab_rc sim_add_faults(struct sim *s, const char *text, size_t len, char *err,
                          size_t errlen) AB_MUST_CHECK;

/* The HTTP routes serving the simulator (catch-alls); pass s as the ctx. */
const struct http_route *sim_http_routes(size_t *n /* OUT */);

/* Complete every held request now (timeouts drop, latencies serve) and
 * complete new ones at once from now on: call before http_server_stop(). */
void sim_release_held(struct sim *s);

/* Close the state and free s (after the server has stopped). NULL is ok. */
void sim_free(struct sim *s);

/* ---- for providers ---------------------------------------------------------------- */

/* The database (valid under the simulator's lock, i.e. in provider slots). */
sqlite3 *sim_db(struct sim *s);

/* The effective options (credentials resolved to the provider defaults). */
const struct sim_opts *sim_options(const struct sim *s);

/* The simulator's time, ms since the epoch (fake with --fake-clock). */
int64_t sim_now_ms(const struct sim *s);

/* A timestamp for a write: sim_now_ms(), but strictly greater than every
 * earlier stamp (persisted), so (updated_at, id) orders changes totally. */
int64_t sim_stamp(struct sim *s);

/* The highest stamp handed out so far. */
int64_t sim_last_stamp(const struct sim *s);

/* Count n applied effects under name (inside the handler's transaction,
 * so a rolled-back write counts nothing). */
void sim_effect(struct sim *s, const char *name, int64_t n);

/* Answer with the provider's error body. */
void sim_error(struct sim *s, struct http_request *req, struct http_response *resp, int status,
               const char *code, const char *message);

/* Opaque cursors: hex of a JSON object. decode returns NULL on garbage;
 * the result is owned by the request arena. */
const char *sim_cursor_encode(struct arena *a, json_t *state /* stolen */);
json_t *sim_cursor_decode(struct arena *a, const char *cursor);

/* Run sql (no results) and report failure as AB_EINTERNAL. */
enum ab_rc sim_exec(struct sim *s, const char *sql) AB_MUST_CHECK;

#endif
