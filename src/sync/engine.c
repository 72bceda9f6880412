/* SPDX-License-Identifier: Apache-2.0
 *
 * engine.c: the sync engine's loops. Per running provider (a configured
 * provider whose type has a connector): a pull thread that runs each
 * entity's schedule (interval +-10 % jitter from a seeded xorshift PRNG, a
 * full pass every N passes) and `concurrency` outbox worker threads (each
 * claims its own batches; the claim keeps a subject's items in order).
 * Pages are committed with their checkpoint in one store job; outbox items
 * are claimed in one job, pushed with no store handle held, and a batch's
 * outcomes recorded together in another. See engine.h and docs/internals/sync.md.
 */
#include "sync/engine.h"
#include "sync/engine_int.h"
#include "sync/jobs.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/client.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/crash.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "model/asset.h"
#include "core/xmalloc.h"
#include "store/assets.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/records.h"
#include "store/synclog.h"
#include "store/workorders.h"

#define DEFAULT_POLL_MS 1000
#define DEFAULT_FULL_EVERY 24
#define DEFAULT_BATCH 10
#define DEFAULT_CONCURRENCY 4
#define DEFAULT_LEASE_MS (5 * 60 * 1000)
#define DEFAULT_INTERVAL_MS (5 * 60 * 1000)
#define PAGE_ARENA_BLOCK (64 * 1024)
#define UNKNOWN_CLASS STORE_OUTBOX_UNKNOWN_CLASS
#define OWNER_CHECK "check whether the provider has it, then replay or discard"

/* The type name items may be queued under for pc, or NULL (see type_alias). */
static const char *type_alias_of(const struct config_tenant *ten, const struct config_provider *pc)
{
    if (strcmp(pc->name, pc->type) == 0)
        return NULL;
    for (size_t i = 0; i < ten->n_providers; i++) {
        const struct config_provider *o = &ten->providers[i];
        if (o != pc && (strcmp(o->type, pc->type) == 0 || strcmp(o->name, pc->type) == 0))
            return NULL; /* ambiguous: items must name the provider */
    }
    return pc->type;
}

/* ---- small helpers ------------------------------------------------------------ */

bool sync_stopping(struct sync_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool s = e->stopping;
    pthread_mutex_unlock(&e->mu);
    return s;
}

/* Wait up to ms of real time, or until stop. */
static void idle_wait(struct sync_engine *e, int64_t ms)
{
    struct timespec ts = clock_deadline_in(ms);
    pthread_mutex_lock(&e->mu);
    if (!e->stopping)
        (void)pthread_cond_timedwait(&e->cond, &e->mu, &ts);
    pthread_mutex_unlock(&e->mu);
}

static void count(int64_t *counter, int64_t n)
{
    __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static uint64_t prng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* interval +-10 %, from the provider's PRNG (called with prov.mu held). */
static int64_t jittered(struct prov *p, int64_t interval)
{
    int64_t span = interval / 5; /* 20 % wide window around the interval */
    if (span <= 0)
        return interval;
    return interval - interval / 10 + (int64_t)(prng_next(&p->prng) % (uint64_t)(span + 1));
}

struct prov *sync_find_prov(struct sync_engine *e, const char *tenant, const char *provider)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (strcmp(e->provs[i].tenant, tenant) == 0 && strcmp(e->provs[i].cfg->name, provider) == 0)
            return &e->provs[i];
    return NULL;
}

struct ent_sched *sync_find_ent(struct prov *p, const char *entity)
{
    for (size_t i = 0; i < p->n_ents; i++)
        if (strcmp(p->ents[i].name, entity) == 0)
            return &p->ents[i];
    return NULL;
}

enum domain sync_item_domain(const char *entity, const char *action)
{
    static const struct {
        const char *name;
        enum domain d;
    } map[] = {
        {"open_request", DOMAIN_WORK_ORDERS},
        {"update_work_order", DOMAIN_WORK_ORDERS},
        {"work_order", DOMAIN_WORK_ORDERS},
        {"notification", DOMAIN_WORK_ORDERS},
        {"push_reading", DOMAIN_USAGE},
        {"reading", DOMAIN_USAGE},
        {"meter", DOMAIN_USAGE},
        {"usage", DOMAIN_USAGE},
        {"record_calibration", DOMAIN_CALIBRATION},
        {"record_maintenance", DOMAIN_MAINTENANCE},
        {"calibration", DOMAIN_CALIBRATION},
        {"maintenance_plan", DOMAIN_MAINTENANCE},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (action && strcmp(map[i].name, action) == 0)
            return map[i].d;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (entity && strcmp(map[i].name, entity) == 0)
            return map[i].d;
    return DOMAIN_ASSET_MASTER;
}

bool sync_mode_allows(enum provider_mode mode, const char *action)
{
    switch (mode) {
    case MODE_WRITE_BACK: return true;
    case MODE_DRAFT: return action && strcmp(action, "open_request") == 0;
    case MODE_READ_ONLY:
    default: return false;
    }
}

/* ---- documented rate limits ------------------------------------------------------- */

double sync_documented_rate(const char *type)
{
    /* From the contract sheets in shared/providers (requests per second). */
    static const struct {
        const char *type;
        double rate;
    } documented[] = {
        {"wats", 500.0 / 60},                   /* 500/min, Virinco's own client [inferred] */
        {"limble", 240.0 / 60},                 /* 240/min for writes, 360/min for reads */
        {"maintenance_connection", 200.0 / 60}, /* 200/min, then 403 */
        {"ultimo", 10.0},                       /* 100 per 10 s across all keys */
        {"fiix", 200.0 / 60},                   /* ~200 batch requests/min */
        {"generic", 50.0},                      /* the generic contract's default */
    };
    for (size_t i = 0; type && i < sizeof(documented) / sizeof(documented[0]); i++)
        if (strcmp(documented[i].type, type) == 0)
            return documented[i].rate;
    return SYNC_UNDOCUMENTED_RATE;
}

/* ---- site value maps and local due days ------------------------------------------- */

/* The value a site value map named map_name gives to key: first in the
 * site named site (when given), then in any site of the tenant; NULL when
 * none maps it. */
static const char *value_map(const struct config_tenant *t, const char *site, const char *map_name,
                             const char *key)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t s = 0; s < t->n_sites; s++) {
            const struct config_site *cs = &t->sites[s];
            if (pass == 0 && (!site || strcmp(cs->name, site) != 0))
                continue;
            for (size_t m = 0; m < cs->n_value_maps; m++) {
                const struct config_value_map *vm = &cs->value_maps[m];
                if (strcmp(vm->name, map_name) != 0)
                    continue;
                for (size_t k = 0; k < vm->n_pairs; k++)
                    if (strcmp(vm->pairs[k].key, key) == 0)
                        return vm->pairs[k].value;
            }
        }
    }
    return NULL;
}

static const struct config_site *site_of(const struct config_tenant *t, const char *name)
{
    for (size_t s = 0; name && s < t->n_sites; s++)
        if (strcmp(t->sites[s].name, name) == 0)
            return &t->sites[s];
    return NULL;
}

/* Replace the string at key of obj by the map's value for it. */
static void map_field(const struct config_tenant *t, const char *site, json_t *obj, const char *key,
                      const char *map_name)
{
    const char *v = json_string_value(json_object_get(obj, key));
    const char *to = v ? value_map(t, site, map_name, v) : NULL;
    if (to)
        json_object_set_new(obj, key, json_string(to));
}

void sync_normalize_doc(const struct config_tenant *t, const char *entity, json_t *doc)
{
    if (!t || !json_is_object(doc))
        return;
    json_t *loc = json_object_get(doc, "location");
    if (t->n_sites) {
        const char *site = json_string_value(json_object_get(doc, "site"));
        if (site && !site_of(t, site))
            map_field(t, NULL, doc, "site", "plant");
        if (json_is_object(loc)) {
            const char *ls = json_string_value(json_object_get(loc, "site"));
            if (ls && !site_of(t, ls))
                map_field(t, NULL, loc, "site", "plant");
        }
    }
    const char *site = json_string_value(json_object_get(doc, "site"));
    if (!site && json_is_object(loc))
        site = json_string_value(json_object_get(loc, "site"));
    if (t->n_sites) {
        map_field(t, site, doc, "type", "object_type");
        map_field(t, site, doc, "meter_type", "meter");
    }
    /* an asset type no map names is kept as an attribute; the asset is "other" */
    const char *type = json_string_value(json_object_get(doc, "type"));
    enum model_asset_type at;
    if (entity && strcmp(entity, "asset") == 0 && type && !model_asset_type_parse(type, &at)) {
        json_t *attrs = json_object_get(doc, "attributes");
        if (!json_is_object(attrs)) {
            attrs = json_object();
            json_object_set_new(doc, "attributes", attrs);
        }
        json_object_set_new(attrs, "source_type", json_string(type));
        json_object_set_new(doc, "type", json_string("other"));
    }
    const struct config_site *cs = site_of(t, site);
    const char *zone = cs && cs->time_zone ? cs->time_zone : "UTC";
    const char *key;
    json_t *v;
    json_object_foreach (doc, key, v) {
        size_t kl = strlen(key);
        const char *s = json_string_value(v);
        int y, m, d;
        char tail;
        if (!s || kl < 6 || strcmp(key + kl - 6, "due_at") != 0 || strlen(s) != 10 ||
            sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
            continue;
        int64_t ms;
        char out[TIME_RFC3339_MAX];
        if (time_local_day_end(zone, y, m, d, &ms) == AB_OK) {
            time_format_rfc3339(ms, out);
            json_object_set_new(doc, key, json_string(out));
        }
    }
}

static void normalize_page(struct prov *p, const char *entity, struct conn_page *page)
{
    const struct config_tenant *t = config_tenant(p->e->cfg, p->tenant);
    for (size_t i = 0; t && i < page->n_records; i++)
        sync_normalize_doc(t, entity, page->records[i].doc);
}

/* ---- pull ------------------------------------------------------------------------ */

struct store_record sync_record_of(const char *tenant, const char *provider, const char *entity,
                                   const struct conn_record *cr)
{
    struct store_record rec = {
        .tenant = tenant,
        .provider = provider,
        .entity = entity,
        .native_id = cr->native_id,
        .doc = cr->doc,
        .source_revision = cr->revision < 0 ? INT64_MIN : cr->revision,
        .source_modified_at = cr->modified_at,
        .mapping_exception = cr->mapping_exception,
    };
    return rec;
}

/* An append-only stream (test report uses): never a full pass, so nothing
 * is re-read from the beginning or marked missing at the source. */
static bool append_only(const char *entity)
{
    return strcmp(entity, "report") == 0;
}

struct page_job {
    struct prov *p;
    const char *entity;
    const struct conn_page *page;
    struct arena *a;
    bool mark_missing; /* the last page of a full pass begun here */
    int64_t since;
};

static enum ab_rc page_job_fn(struct store_tx *tx, void *arg)
{
    struct page_job *j = arg;
    const char *tenant = j->p->tenant, *provider = j->p->cfg->name;
    enum ab_rc rc;
    for (size_t i = 0; i < j->page->n_records; i++) {
        const struct conn_record *cr = &j->page->records[i];
        if (!cr->native_id || !cr->doc || cr->deleted) {
            rc = store_sync_log_add(tx, tenant, provider, j->entity, cr->native_id, "info",
                                    cr->deleted ? "deleted at the source (kept)"
                                                : "record without id or document skipped");
            if (rc)
                return rc;
            continue;
        }
        if (i == j->page->n_records / 2)
            crash_point("pull.mid_page"); /* half a page written, uncommitted */
        struct store_record rec = sync_record_of(tenant, provider, j->entity, cr);
        struct store_upsert_result res;
        rc = store_record_upsert(tx, &rec, j->a, &res);
        if (rc == AB_EINVAL) {
            rc = store_sync_log_add(tx, tenant, provider, j->entity, cr->native_id, "warn",
                                    arena_printf(j->a, "invalid record refused: %s", res.message));
            if (rc)
                return rc;
            continue;
        }
        if (rc)
            return rc;
    }
    struct store_sync_state st;
    rc = store_sync_state_get_tx(tx, tenant, provider, j->entity, j->a, &st);
    if (rc)
        return rc;
    st.tenant = tenant;
    st.provider = provider;
    st.entity = j->entity;
    st.page_token = j->page->next_page_token;
    if (j->page->new_watermark)
        st.watermark = j->page->new_watermark;
    st.pulled += (int64_t)j->page->n_records;
    st.last_success_at = clock_now_ms();
    st.last_error = NULL;
    if (j->mark_missing) {
        int64_t marked = 0;
        rc = store_records_mark_missing(tx, tenant, provider, j->entity, j->since, &marked);
        if (rc)
            return rc;
    }
    return store_sync_state_put(tx, &st);
}

struct fail_job {
    const char *tenant, *provider, *entity;
    const char *message;
    const char *subject;
    json_t *event; /* sync.failed payload, or NULL for no event */
    struct arena *a;
    bool push; /* a push failure: the failed counter only */
};

static enum ab_rc fail_job_fn(struct store_tx *tx, void *arg)
{
    struct fail_job *j = arg;
    struct store_sync_state st;
    enum ab_rc rc = store_sync_state_get_tx(tx, j->tenant, j->provider, j->entity, j->a, &st);
    if (rc)
        return rc;
    st.tenant = j->tenant;
    st.provider = j->provider;
    st.entity = j->entity;
    st.last_error = j->message;
    st.last_error_at = clock_now_ms();
    st.failed++;
    rc = store_sync_state_put(tx, &st);
    if (!rc)
        rc = store_sync_log_add(tx, j->tenant, j->provider, j->entity, NULL, "error", j->message);
    if (!rc && j->event)
        rc = store_event_append(tx, j->tenant, "sync.failed", j->subject, j->event, NULL);
    return rc;
}

static void record_pull_failure(struct prov *p, const char *entity, const char *message)
{
    struct arena *a = arena_new(0, 0);
    json_t *ev = json_pack("{s:s, s:s, s:s}", "provider", p->cfg->name, "entity", entity, "message",
                           message);
    struct fail_job j = {
        p->tenant, p->cfg->name, entity, message, arena_printf(a, "provider/%s", p->cfg->name), ev,
        a,         false};
    enum ab_rc rc = store_write(p->e->store, fail_job_fn, &j, NULL);
    if (rc)
        log_warn(NULL, "sync: cannot record a pull failure", LOG_STR("provider", p->cfg->name),
                 LOG_STR("entity", entity), LOG_STR("error", ab_rc_name(rc)));
    json_decref(ev);
    arena_free(a);
}

enum ab_rc sync_pull_pass(struct prov *p, struct ent_sched *es, bool full, int max_pages,
                          int *pages, sync_progress_fn progress, void *progress_arg)
{
    int64_t records = 0;
    struct sync_engine *e = p->e;
    int done = 0;
    if (pages)
        *pages = 0;
    pthread_mutex_lock(&p->mu);
    if (es->running) {
        pthread_mutex_unlock(&p->mu);
        return AB_EAGAIN;
    }
    es->running = true;
    pthread_mutex_unlock(&p->mu);

    struct arena *sa = arena_new(0, 0);
    struct store_sync_state st;
    memset(&st, 0, sizeof(st));
    struct store_read *r = NULL;
    enum ab_rc rc = store_read_begin(e->store, &r);
    if (!rc) {
        rc = store_sync_state_get(r, p->tenant, p->cfg->name, es->name, sa, &st);
        store_read_end(r);
    }
    char *token = NULL;
    const char *wm = NULL;
    if (!rc) {
        if (st.page_token) {
            /* resume a pass at its checkpoint; a full pass begun here stays full */
            token = xstrdup(st.page_token);
            wm = es->full_started_at != INT64_MIN ? NULL : st.watermark;
        } else if (full || !st.watermark) {
            es->full_started_at = clock_now_ms();
        } else {
            es->full_started_at = INT64_MIN;
            wm = st.watermark;
        }
    }
    while (!rc) {
        if (sync_stopping(e) || (max_pages > 0 && done >= max_pages))
            break;
        int64_t wait = 0;
        if (!ratelimit_acquire(p->rl, &wait)) {
            rc = AB_EAGAIN;
            break;
        }
        if (!breaker_allow(p->br, NULL)) {
            rc = AB_EAGAIN;
            break;
        }
        struct arena *a = arena_new(PAGE_ARENA_BLOCK, 0);
        struct conn_page page;
        rc = conn_pull(p->ops, p->ctx, es->name, wm, token, a, &page);
        if (rc) {
            if (rc != AB_EUNSUPPORTED)
                breaker_failure(p->br);
            else
                breaker_success(p->br);
            record_pull_failure(p, es->name,
                                arena_printf(a, "pull of %s failed: %s", es->name, ab_rc_name(rc)));
            arena_free(a);
            break;
        }
        breaker_success(p->br);
        ratelimit_success(p->rl);
        normalize_page(p, es->name, &page);
        bool last = page.next_page_token == NULL;
        struct page_job j = {p,
                             es->name,
                             &page,
                             a,
                             last && es->full_started_at != INT64_MIN && !append_only(es->name),
                             es->full_started_at};
        rc = store_write(e->store, page_job_fn, &j, NULL);
        if (rc) {
            record_pull_failure(
                p, es->name,
                arena_printf(a, "storing a page of %s failed: %s", es->name, ab_rc_name(rc)));
            arena_free(a);
            break;
        }
        crash_point("pull.after_page"); /* a page committed, the next not pulled */
        done++;
        records += (int64_t)page.n_records;
        count(&p->counters.pulled, (int64_t)page.n_records);
        if (progress)
            progress(progress_arg, done, records);
        free(token);
        token = last ? NULL : xstrdup(page.next_page_token);
        arena_free(a); /* memory is bounded by one page */
        if (last) {
            es->full_started_at = INT64_MIN;
            es->passes++;
            break;
        }
    }
    free(token);
    arena_free(sa);
    if (pages)
        *pages = done;
    pthread_mutex_lock(&p->mu);
    es->running = false;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

enum ab_rc sync_fetch_page(struct prov *p, const char *entity, const char *page_token,
                           struct arena *a, struct conn_page *out, int64_t *wait_ms)
{
    int64_t wait = 0, retry_at = 0;
    if (wait_ms)
        *wait_ms = 0;
    memset(out, 0, sizeof(*out));
    if (!ratelimit_acquire(p->rl, &wait)) {
        if (wait_ms)
            *wait_ms = wait > 0 ? wait : 1;
        return AB_EAGAIN;
    }
    if (!breaker_allow(p->br, &retry_at)) {
        if (wait_ms)
            *wait_ms = retry_at > clock_now_ms() ? retry_at - clock_now_ms() : 1;
        return AB_EAGAIN;
    }
    enum ab_rc rc = conn_pull(p->ops, p->ctx, entity, NULL, page_token, a, out);
    if (!rc)
        normalize_page(p, entity, out); /* compared as the pull would store it */
    if (rc && rc != AB_EUNSUPPORTED) {
        breaker_failure(p->br);
    } else {
        breaker_success(p->br);
        if (!rc)
            ratelimit_success(p->rl);
    }
    return rc;
}

enum ab_rc sync_engine_pull(struct sync_engine *e, const char *tenant, const char *provider,
                            const char *entity, bool full, int max_pages, int *pages)
{
    if (pages)
        *pages = 0;
    struct prov *p = sync_find_prov(e, tenant, provider);
    struct ent_sched *es = p ? sync_find_ent(p, entity) : NULL;
    if (!es)
        return AB_ENOTFOUND;
    return sync_pull_pass(p, es, full, max_pages, pages, NULL, NULL);
}

static void *puller_main(void *arg)
{
    struct prov *p = arg;
    struct sync_engine *e = p->e;
    while (!sync_stopping(e)) {
        for (size_t i = 0; i < p->n_ents && !sync_stopping(e); i++) {
            struct ent_sched *es = &p->ents[i];
            if (es->unsupported || clock_now_ms() < es->next_due)
                continue;
            bool full =
                es->passes > 0 && es->passes % e->o.full_pass_every == 0 && !append_only(es->name);
            enum ab_rc rc = sync_pull_pass(p, es, full, 0, NULL, NULL, NULL);
            if (rc && rc != AB_EAGAIN)
                log_warn(NULL, "sync: pull failed", LOG_STR("tenant", p->tenant),
                         LOG_STR("provider", p->cfg->name), LOG_STR("entity", es->name),
                         LOG_STR("error", ab_rc_name(rc)));
            pthread_mutex_lock(&p->mu);
            es->next_due = clock_now_ms() + jittered(p, es->interval_ms);
            pthread_mutex_unlock(&p->mu);
        }
        idle_wait(e, e->o.poll_ms);
    }
    return NULL;
}

/* ---- outbox ------------------------------------------------------------------------ */

enum outcome_kind { OUT_COMPLETE, OUT_RESCHEDULE, OUT_DEAD, OUT_SUPPRESS, OUT_DEFER, OUT_REFUSE };

struct outcome_job {
    struct prov *p;
    const struct store_outbox_item *it;
    int64_t lease;
    enum outcome_kind kind;
    int64_t at;
    const char *cls, *msg, *response, *owner;
    struct arena *a;
    bool decided;          /* record_outcome ran: kind and the fields are final */
    const char *native_id; /* what the provider created (conn_result.native_id), or NULL */
    /* conn_result.mapping_exception: the provider took the item but its effect
     * differs from the hub's (a next due date it computed otherwise): the
     * item is done, and a mapping exception is opened for a person */
    const char *mismatch;
    const char *note;   /* completed without a call: why (kept on the done row) */
    bool usage;         /* a usage item: record its total as acknowledged on completion */
    double usage_total; /* the absolute total it carries */
};

static enum ab_rc outcome_fn(struct store_tx *tx, void *arg);

/* A work order's sync_state follows its outbox items (subject
 * "work-order/ID"): delivered -> synchronized (with the provider's id for a
 * new one), retried -> retrying, dead -> rejected, held back by a mode or
 * the system of record -> suppressed. */
static enum ab_rc wo_sync_state(struct store_tx *tx, const struct outcome_job *j)
{
    const char *subject = j->it->subject;
    if (!subject || strncmp(subject, "work-order/", 11) != 0)
        return AB_OK;
    enum model_sync_state st;
    switch (j->kind) {
    case OUT_COMPLETE: st = MODEL_SYNC_SYNCHRONIZED; break;
    case OUT_RESCHEDULE: st = MODEL_SYNC_RETRYING; break;
    case OUT_DEAD: st = MODEL_SYNC_REJECTED; break;
    case OUT_SUPPRESS:
    case OUT_REFUSE: st = MODEL_SYNC_SUPPRESSED; break;
    case OUT_DEFER:
    default: return AB_OK;
    }
    return store_work_order_sync_outcome(tx, j->it->tenant, subject + 11, st,
                                         j->kind == OUT_COMPLETE ? j->native_id : NULL, j->a);
}

/* A mapping exception about what the provider did with the job's item
 * (its effect differs from the hub's), for a person; in the job that
 * completes the item. */
static enum ab_rc item_exception(struct store_tx *tx, const struct outcome_job *j,
                                 const char *reason, const char *message)
{
    const struct store_outbox_item *it = j->it;
    struct store_outbox_mismatch m = {
        .tenant = it->tenant,
        .provider = it->provider,
        .outbox_id = it->id,
        .entity = it->entity,
        .action = it->action,
        .subject = it->subject,
        .payload = it->payload,
        .reason = reason,
        .message = message,
        .response = j->response,
    };
    return store_mapping_exception_outbox(tx, &m, NULL, j->a);
}

/* What a delivered item created at the provider: remember its id on the
 * item (the rules engine follows a request it opened by it), and link a
 * registered asset (upsert_asset answered with the provider's id) in the
 * identity map, so every later exchange finds it. A provider id linked to
 * another asset already is an identity conflict for a person (a mapping
 * exception), never a silent re-link. */
static enum ab_rc created_at_provider(struct store_tx *tx, const struct outcome_job *j)
{
    const struct store_outbox_item *it = j->it;
    if (j->kind != OUT_COMPLETE || !j->native_id || !*j->native_id)
        return AB_OK;
    enum ab_rc rc = store_outbox_set_result(tx, it->tenant, it->id, j->native_id);
    if (rc || strcmp(it->action, "upsert_asset") != 0 || !it->subject ||
        strncmp(it->subject, "asset/", 6) != 0)
        return rc;
    char actor[96];
    snprintf(actor, sizeof(actor), "connector:%s", it->provider);
    rc = store_link_add(tx, it->tenant, it->provider, j->native_id, it->subject + 6, actor);
    if (rc != AB_ECONFLICT)
        return rc == AB_ENOTFOUND ? AB_OK : rc; /* an asset deleted since: nothing to link */
    return item_exception(tx, j, "native_id_conflict",
                          arena_printf(j->a,
                                       "%s registered asset %s as '%s', which is linked to "
                                       "another asset already: link or merge them by hand",
                                       it->provider, it->subject + 6, j->native_id));
}

static enum ab_rc outcome_job_fn(struct store_tx *tx, void *arg)
{
    if (((const struct outcome_job *)arg)->kind == OUT_COMPLETE)
        crash_point("outbox.before_done"); /* delivered; the done row not written */
    enum ab_rc rc = outcome_fn(tx, arg);
    if (!rc)
        rc = wo_sync_state(tx, arg);
    if (!rc)
        rc = created_at_provider(tx, arg);
    return rc;
}

static enum ab_rc outcome_fn(struct store_tx *tx, void *arg)
{
    struct outcome_job *j = arg;
    const struct store_outbox_item *it = j->it;
    const char *tenant = it->tenant, *provider = j->p->cfg->name;
    enum ab_rc rc = AB_OK;
    switch (j->kind) {
    case OUT_SUPPRESS: return store_outbox_suppress(tx, tenant, it->id, j->lease, j->msg);
    case OUT_REFUSE:
        rc = store_outbox_refuse(tx, tenant, it->id, j->lease, j->msg);
        if (!rc)
            rc = store_sync_log_add(
                tx, tenant, provider, it->entity, it->subject, "info",
                arena_printf(j->a, "outbox #%lld refused: %s", (long long)it->id, j->msg));
        return rc;
    case OUT_DEFER: return store_outbox_defer(tx, tenant, it->id, j->lease, j->at);
    case OUT_RESCHEDULE:
        rc = store_outbox_reschedule(tx, tenant, it->id, j->lease, j->at, j->cls, j->msg,
                                     j->response);
        if (!rc)
            rc = store_sync_log_add(tx, tenant, provider, it->entity, it->subject, "warn",
                                    arena_printf(j->a, "outbox #%lld: %s (%s); retry later",
                                                 (long long)it->id, j->msg ? j->msg : "failed",
                                                 j->cls ? j->cls : "error"));
        return rc;
    case OUT_COMPLETE:
    case OUT_DEAD: break;
    }
    if (j->kind == OUT_COMPLETE && j->mismatch) {
        rc = store_outbox_complete_note(tx, tenant, it->id, j->lease, j->mismatch);
        if (!rc)
            rc = item_exception(tx, j, j->cls, j->mismatch);
    } else if (j->kind == OUT_COMPLETE && j->note) {
        rc = store_outbox_complete_note(tx, tenant, it->id, j->lease, j->note);
    } else if (j->kind == OUT_COMPLETE) {
        rc = store_outbox_complete(tx, tenant, it->id, j->lease);
        if (!rc && j->usage && it->coalesce_key)
            rc = store_usage_ack_put(tx, tenant, it->provider, it->coalesce_key, j->usage_total);
    } else
        rc = store_outbox_dead_letter(tx, tenant, it->id, j->lease, j->cls, j->msg, j->response,
                                      j->owner);
    if (rc)
        return rc;
    struct store_sync_state st;
    rc = store_sync_state_get_tx(tx, tenant, provider, it->entity, j->a, &st);
    if (rc)
        return rc;
    st.tenant = tenant;
    st.provider = provider;
    st.entity = it->entity;
    if (j->kind == OUT_COMPLETE) {
        st.pushed++;
        st.last_success_at = clock_now_ms();
        return store_sync_state_put(tx, &st);
    }
    st.failed++;
    st.last_error = j->msg;
    st.last_error_at = clock_now_ms();
    rc = store_sync_state_put(tx, &st);
    if (!rc)
        rc = store_sync_log_add(tx, tenant, provider, it->entity, it->subject, "error",
                                arena_printf(j->a, "outbox #%lld dead-lettered: %s (%s)",
                                             (long long)it->id, j->msg ? j->msg : "failed",
                                             j->cls ? j->cls : "error"));
    if (rc)
        return rc;
    json_t *ev =
        json_pack("{s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s?}", "provider", provider, "entity",
                  it->entity, "action", it->action, "outbox_id", (json_int_t)it->id, "subject",
                  it->subject, "error_class", j->cls, "message", j->msg, "owner_action", j->owner);
    if (!ev)
        return AB_EINTERNAL;
    rc = store_event_append(tx, tenant, "sync.failed",
                            arena_printf(j->a, "outbox/%lld", (long long)it->id), ev, NULL);
    json_decref(ev);
    return rc;
}

static void record_outcome(struct outcome_job *j)
{
    struct sync_counters *c = &j->p->counters;
    switch (j->kind) {
    case OUT_COMPLETE: count(&c->delivered, 1); break;
    case OUT_RESCHEDULE: count(&c->retried, 1); break;
    case OUT_DEAD: count(&c->dead, 1); break;
    case OUT_SUPPRESS: count(&c->suppressed, 1); break;
    case OUT_DEFER: count(&c->deferred, 1); break;
    case OUT_REFUSE: count(&c->refused, 1); break;
    }
    j->decided = true; /* committed with the rest of its batch (commit_outcomes) */
}

struct batch_job {
    struct outcome_job *outs;
    size_t n;
};

/* One outcome in the batch job, under its item's correlation id. A fence
 * failure (the lease was lost: another worker has the item) changes nothing
 * and is only logged; any other failure fails the job. */
static enum ab_rc apply_outcome(struct store_tx *tx, struct outcome_job *j)
{
    const char *prev = store_tx_set_correlation_id(tx, j->it->correlation_id);
    enum ab_rc rc = outcome_job_fn(tx, j);
    (void)store_tx_set_correlation_id(tx, prev);
    if (rc == AB_ECONFLICT || rc == AB_ENOTFOUND) {
        log_warn(j->it->correlation_id, "sync: outcome not recorded: the item's lease was lost",
                 LOG_STR("provider", j->p->cfg->name), LOG_INT("outbox_id", j->it->id));
        return AB_OK;
    }
    return rc;
}

static enum ab_rc batch_job_fn(struct store_tx *tx, void *arg)
{
    struct batch_job *b = arg;
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < b->n && !rc; i++)
        if (b->outs[i].decided)
            rc = apply_outcome(tx, &b->outs[i]);
    return rc;
}

static enum ab_rc one_outcome_fn(struct store_tx *tx, void *arg)
{
    return apply_outcome(tx, arg);
}

/* Commit a batch's outcomes in one store job (they share one fsync). Should
 * that job fail, each outcome is tried alone, so one bad outcome cannot hold
 * back the others; one that still fails stays in flight until its lease
 * expires, and is then resolved before any resend. */
static void commit_outcomes(struct prov *p, struct outcome_job *outs, size_t n)
{
    struct batch_job b = {outs, n};
    if (store_write(p->e->store, batch_job_fn, &b, NULL) == AB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!outs[i].decided)
            continue;
        enum ab_rc rc = store_write(p->e->store, one_outcome_fn, &outs[i], NULL);
        if (rc)
            log_warn(outs[i].it->correlation_id, "sync: cannot record an outbox outcome",
                     LOG_STR("provider", p->cfg->name), LOG_INT("outbox_id", outs[i].it->id),
                     LOG_STR("error", ab_rc_name(rc)));
    }
}

/* A failed attempt: reschedule by the retry policy, or dead-letter. */
static void fail_attempt(struct outcome_job *j, bool retryable, int64_t retry_after_ms,
                         const char *dead_owner)
{
    struct sync_engine *e = j->p->e;
    struct retry_decision d;
    retry_decide(&e->o.retry, retryable, j->it->attempts, j->it->created_at, clock_now_ms(),
                 retry_after_ms, e->o.rnd, NULL, &d);
    if (d.action == RETRY_AT) {
        j->kind = OUT_RESCHEDULE;
        j->at = d.at;
    } else {
        j->kind = OUT_DEAD;
        if (!retryable)
            j->owner = dead_owner;
        else if (j->cls && strcmp(j->cls, UNKNOWN_CLASS) == 0)
            j->owner = OWNER_CHECK;
        else
            j->owner = arena_printf(j->a, "gave up (%s): check the provider, then replay",
                                    d.reason ? d.reason : "retry");
        if (retryable && d.reason)
            j->msg = arena_printf(j->a, "%s (%s)", j->msg ? j->msg : "failed", d.reason);
    }
    record_outcome(j);
}

static bool prev_unknown(struct prov *p, const struct store_outbox_item *it, struct arena *a)
{
    if (it->attempts <= 1)
        return false;
    struct store_read *r = NULL;
    struct store_outbox_row row;
    bool unknown = false;
    if (store_read_begin(p->e->store, &r) == AB_OK) {
        if (store_outbox_get(r, it->tenant, it->id, a, &row) == AB_OK)
            unknown = row.error_class && strcmp(row.error_class, UNKNOWN_CLASS) == 0;
        store_read_end(r);
    }
    return unknown;
}

/* The site an item's change belongs to: the payload's "site", else the site
 * of the asset it names (payload "asset_ref", or a subject "asset/REF"), or
 * NULL when it names none. */
static const char *item_site(struct prov *p, const struct store_outbox_item *it,
                             const json_t *payload, struct arena *a)
{
    const char *site = json_string_value(json_object_get(payload, "site"));
    if (site)
        return site;
    const char *ref = json_string_value(json_object_get(payload, "asset_ref"));
    if (!ref && it->subject && strncmp(it->subject, "asset/", 6) == 0)
        ref = it->subject + 6;
    if (!ref)
        return NULL;
    struct store_read *r = NULL;
    struct store_asset_row row;
    if (store_read_begin(p->e->store, &r) != AB_OK)
        return NULL;
    if (store_asset_get(r, it->tenant, ref, a, &row) == AB_OK && row.asset.site)
        site = arena_strdup(a, row.asset.site);
    store_read_end(r);
    return site;
}

/* Give payload the provider's native id of the asset it names
 * ("asset_native_id" from the asset's link to provider) when it has none:
 * the connector can then address the provider's object directly (work
 * orders are queued with the hub's asset_ref only). */
static void add_native_id(struct prov *p, const char *provider, const char *tenant, json_t *payload,
                          struct arena *a)
{
    const char *ref = json_string_value(json_object_get(payload, "asset_ref"));
    if (!ref || json_object_get(payload, "asset_native_id"))
        return;
    struct store_read *r = NULL;
    struct store_link *links = NULL;
    size_t n = 0;
    if (store_read_begin(p->e->store, &r) != AB_OK)
        return;
    if (store_links_list(r, tenant, ref, a, &links, &n) == AB_OK) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(links[i].provider, provider) == 0) {
                json_object_set_new(payload, "asset_native_id", json_string(links[i].native_id));
                break;
            }
        }
    }
    store_read_end(r);
}

/* s with every registered secret replaced (log_scrub), in a; NULL for NULL. */
static const char *scrubbed(struct arena *a, const char *s)
{
    if (!s)
        return NULL;
    char *t = log_scrub(s);
    const char *out = arena_strdup(a, t ? t : "[unavailable]");
    free(t);
    return out;
}

/* NULL when the system of record lets p write the item; otherwise why not.
 * An item whose payload names the system of record as its "origin" carries
 * that system's own data to a mirror (a calibration completed in the
 * system of record, recorded in WATS): it is let through. */
static const char *sor_refusal(struct prov *p, const struct store_outbox_item *it,
                               const json_t *payload, enum domain dom, struct arena *a)
{
    const struct config_tenant *ten = config_tenant(p->e->cfg, p->tenant);
    if (!ten || ten->n_system_of_record == 0)
        return NULL;
    const char *site = item_site(p, it, payload, a);
    const char *owner = config_system_of_record(ten, site, dom);
    const char *origin = json_string_value(json_object_get(payload, "origin"));
    if (!owner || strcmp(owner, p->cfg->name) == 0 || (origin && strcmp(origin, owner) == 0))
        return NULL;
    return arena_printf(a,
                        "the system of record for %s at site %s is %s, not %s: the change is "
                        "not written here",
                        config_domain_names[dom], site, owner, p->cfg->name);
}

/* Deliver one claimed item and fill *j with its outcome (recorded by the
 * caller with the rest of the batch). Strings of the outcome live in a,
 * which the caller frees after the outcome is committed. */
static void process_item(struct prov *p, const struct store_outbox_item *it, int64_t lease,
                         struct outcome_job *j, struct arena *a)
{
    *j = (struct outcome_job){.p = p, .it = it, .lease = lease, .a = a};
    const char *corr = it->correlation_id;
    enum domain dom = sync_item_domain(it->entity, it->action);
    enum provider_mode mode = p->cfg->mode[dom];
    json_error_t jerr;
    json_t *payload = json_loads(it->payload ? it->payload : "", JSON_DECODE_ANY, &jerr);
    (void)conn_arena_own(a, payload); /* released with the arena; NULL accepted */
    const char *refusal = payload ? sor_refusal(p, it, payload, dom, a) : NULL;
    if (refusal) {
        j->kind = OUT_REFUSE;
        j->msg = refusal;
        log_info(corr, "sync: outbox item refused by the system of record",
                 LOG_STR("provider", p->cfg->name), LOG_INT("outbox_id", it->id),
                 LOG_STR("reason", refusal));
        record_outcome(j);
        goto out;
    }
    if (!sync_mode_allows(mode, it->action)) {
        j->kind = OUT_SUPPRESS;
        j->msg = arena_printf(a, "mode %s for domain %s does not allow %s", config_mode_names[mode],
                              config_domain_names[dom], it->action);
        log_info(corr, "sync: outbox item suppressed by mode", LOG_STR("provider", p->cfg->name),
                 LOG_INT("outbox_id", it->id), LOG_STR("reason", j->msg));
        record_outcome(j);
        goto out;
    }
    int64_t wait = 0, retry_at = 0;
    if (!ratelimit_acquire(p->rl, &wait)) {
        j->kind = OUT_DEFER;
        j->at = clock_now_ms() + (wait > 0 ? wait : 1);
        record_outcome(j);
        goto out;
    }
    if (!breaker_allow(p->br, &retry_at)) {
        j->kind = OUT_DEFER;
        j->at = retry_at;
        record_outcome(j);
        goto out;
    }
    if (!payload) {
        breaker_success(p->br); /* no call was made; release a probe */
        j->cls = "invalid_payload";
        j->msg = "the stored payload is not JSON";
        fail_attempt(j, false, -1, "report a bug: the item's payload is not JSON");
        goto out;
    }
    add_native_id(p, p->cfg->name, it->tenant, payload, a);
    if (it->coalesce_key && strcmp(it->action, "push_reading") == 0 &&
        json_is_number(json_object_get(payload, "value"))) {
        j->usage = true;
        j->usage_total = json_number_value(json_object_get(payload, "value"));
    }
    struct conn_item ci = {
        .id = it->id,
        .tenant = it->tenant,
        .entity = it->entity,
        .action = it->action,
        .subject = it->subject,
        .payload = payload,
        .idempotency_key = it->idempotency_key,
        .correlation_id = corr,
        .attempts = it->attempts,
    };

    if (prev_unknown(p, it, a)) {
        enum conn_resolution res = CONN_RESOLVED_UNKNOWN;
        enum ab_rc rc = conn_resolve(p->ops, p->ctx, &ci, a, &res);
        log_info(corr, "sync: resolving an unknown outcome", LOG_STR("provider", p->cfg->name),
                 LOG_INT("outbox_id", it->id), LOG_STR("resolution", conn_resolution_name(res)),
                 LOG_STR("rc", ab_rc_name(rc)));
        if (rc) {
            breaker_failure(p->br);
            j->cls = UNKNOWN_CLASS;
            j->msg = arena_printf(a, "resolve failed: %s", ab_rc_name(rc));
            fail_attempt(j, true, -1, OWNER_CHECK);
            goto out;
        }
        breaker_success(p->br);
        if (res == CONN_RESOLVED_FOUND) {
            j->kind = OUT_COMPLETE;
            record_outcome(j);
            goto out;
        }
        if (res == CONN_RESOLVED_UNKNOWN) {
            j->cls = UNKNOWN_CLASS;
            j->msg = "the outcome of an earlier attempt is still unknown";
            fail_attempt(j, true, -1, OWNER_CHECK);
            goto out;
        }
        /* not found: safe to send again; needs a token and a breaker pass */
        if (!ratelimit_acquire(p->rl, &wait)) {
            j->kind = OUT_DEFER;
            j->at = clock_now_ms() + (wait > 0 ? wait : 1);
            record_outcome(j);
            goto out;
        }
        if (!breaker_allow(p->br, &retry_at)) {
            j->kind = OUT_DEFER;
            j->at = retry_at;
            record_outcome(j);
            goto out;
        }
    }

    struct conn_result res;
    enum ab_rc rc = conn_push(p->ops, p->ctx, &ci, a, &res);
    crash_point("outbox.after_send"); /* the provider answered; nothing recorded */
    if (rc == AB_EUNSUPPORTED && (strcmp(it->action, "record_calibration") == 0 ||
                                  strcmp(it->action, "push_reading") == 0)) {
        /* fanned out to every linked provider: one that does not take it
         * has nothing to do (an item routed to it by name is a dead letter) */
        breaker_success(p->br);
        j->kind = OUT_COMPLETE;
        j->note = arena_printf(a, "not delivered: the %s connector does not take %s", p->ops->name,
                               it->action);
        record_outcome(j);
        goto out;
    }
    if (rc == AB_EUNSUPPORTED) {
        breaker_success(p->br);
        res.outcome = CONN_PERMANENT;
        res.error_class = "unsupported";
        res.message =
            arena_printf(a, "the %s connector cannot perform %s", p->ops->name, it->action);
    } else if (rc == AB_EUNKNOWN) {
        res.outcome = CONN_UNKNOWN;
        res.message = "the outcome of the call is unknown";
    } else if (rc) {
        res.outcome = CONN_RETRYABLE;
        res.error_class = ab_rc_name(rc);
        res.message = arena_printf(a, "call failed: %s", ab_rc_name(rc));
    }
    log_info(corr, "sync: outbox item pushed", LOG_STR("provider", p->cfg->name),
             LOG_INT("outbox_id", it->id), LOG_STR("action", it->action),
             LOG_INT("attempt", it->attempts), LOG_STR("outcome", conn_outcome_name(res.outcome)));
    /* a provider's texts may echo what it was sent (a token in an error
     * answer): registered secrets are scrubbed before they are stored
     * anywhere (last_error, owner_action, sync state, events, sync log) */
    j->cls = res.error_class;
    j->msg = scrubbed(a, res.message);
    j->response = res.response; /* scrubbed by the store */
    j->native_id = res.native_id;
    j->mismatch = res.outcome == CONN_OK ? scrubbed(a, res.mapping_exception) : NULL;
    bool throttled = res.error_class && strcmp(res.error_class, "throttled") == 0;
    switch (res.outcome) {
    case CONN_OK:
        breaker_success(p->br);
        ratelimit_success(p->rl);
        j->kind = OUT_COMPLETE;
        record_outcome(j);
        break;
    case CONN_RETRYABLE:
        if (throttled) {
            breaker_success(p->br);
            ratelimit_throttled(p->rl, res.retry_after_ms);
        } else {
            breaker_failure(p->br);
        }
        if (!j->cls)
            j->cls = "retryable";
        fail_attempt(j, true, res.retry_after_ms, NULL);
        break;
    case CONN_PERMANENT:
        breaker_success(p->br); /* the provider answered, about this item */
        if (!j->cls)
            j->cls = "permanent";
        fail_attempt(j, false, -1,
                     arena_printf(a, "fix the cause (%s: %s), then replay the dead letter", j->cls,
                                  j->msg ? j->msg : "rejected"));
        break;
    case CONN_UNKNOWN:
    default:
        breaker_failure(p->br);
        j->cls = UNKNOWN_CLASS;
        if (!j->msg)
            j->msg = "the outcome of the call is unknown";
        fail_attempt(j, true, res.retry_after_ms, OWNER_CHECK);
        break;
    }
out:
    return;
}

static enum ab_rc drain(struct prov *p, size_t *processed)
{
    struct sync_engine *e = p->e;
    if (processed)
        *processed = 0;
    struct breaker_status bs;
    breaker_status(p->br, &bs);
    if (bs.state == BREAKER_OPEN && bs.retry_at > clock_now_ms())
        return AB_OK; /* claim nothing while the provider is known to be down */
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c = {
        .tenant = p->tenant,
        .provider = p->cfg->name,
        .max = e->o.batch,
        .lease_ms = e->o.lease_ms,
        .a = a,
    };
    enum ab_rc rc = store_outbox_claim(e->store, &c);
    if (!rc && c.n == 0 && p->type_alias) {
        c.provider = p->type_alias;
        rc = store_outbox_claim(e->store, &c);
    }
    if (!rc && c.n) {
        struct outcome_job *outs = arena_zalloc(a, c.n * sizeof(*outs));
        struct arena **item_arenas = arena_zalloc(a, c.n * sizeof(*item_arenas));
        /* outcomes wait for the batch's end, but never long enough to risk the
         * lease: past a quarter of it, what is decided so far is committed */
        int64_t flush_at = clock_mono_ms() + e->o.lease_ms / 4;
        size_t committed = 0;
        for (size_t i = 0; i < c.n; i++) {
            if (i > committed && clock_mono_ms() >= flush_at) {
                commit_outcomes(p, outs + committed, i - committed);
                committed = i;
                flush_at = clock_mono_ms() + e->o.lease_ms / 4;
            }
            item_arenas[i] = arena_new(0, 0);
            if (sync_stopping(e)) {
                /* give the rest back at once instead of waiting out the lease */
                outs[i] = (struct outcome_job){.p = p,
                                               .it = &c.items[i],
                                               .lease = c.lease_until,
                                               .kind = OUT_DEFER,
                                               .at = clock_now_ms(),
                                               .a = item_arenas[i]};
                record_outcome(&outs[i]);
                continue;
            }
            process_item(p, &c.items[i], c.lease_until, &outs[i], item_arenas[i]);
        }
        commit_outcomes(p, outs + committed, c.n - committed);
        for (size_t i = 0; i < c.n; i++)
            arena_free(item_arenas[i]);
    }
    if (!rc && processed)
        *processed = c.n;
    arena_free(a);
    return rc;
}

enum ab_rc sync_engine_drain(struct sync_engine *e, const char *tenant, const char *provider,
                             size_t *processed)
{
    if (processed)
        *processed = 0;
    struct prov *p = sync_find_prov(e, tenant, provider);
    if (!p)
        return AB_ENOTFOUND;
    return drain(p, processed);
}

static void *worker_main(void *arg)
{
    struct prov *p = arg;
    struct sync_engine *e = p->e;
    while (!sync_stopping(e)) {
        size_t n = 0;
        enum ab_rc rc = drain(p, &n);
        if (rc && rc != AB_EAGAIN)
            log_warn(NULL, "sync: outbox claim failed", LOG_STR("provider", p->cfg->name),
                     LOG_STR("error", ab_rc_name(rc)));
        if (rc || n == 0)
            idle_wait(e, e->o.poll_ms);
    }
    return NULL;
}

/* ---- start / stop ------------------------------------------------------------------ */

static const struct conn_ops *registry_find(const struct conn_ops *const *registry,
                                            const char *type)
{
    if (!registry)
        return conn_find(type);
    for (size_t i = 0; registry[i]; i++)
        if (registry[i]->abi == CONN_ABI_V1 && registry[i]->name &&
            strcmp(registry[i]->name, type) == 0)
            return registry[i];
    return NULL;
}

static void prov_cleanup(struct prov *p)
{
    conn_cleanup(p->ops, p->ctx);
    client_free(p->client);
    breaker_free(p->br);
    ratelimit_free(p->rl);
    free(p->ents);
    pthread_mutex_destroy(&p->mu);
}

/* Outbox workers of provider pc: the options' concurrency when set (tests,
 * benchmarks), else the provider's `concurrency`. */
static unsigned workers_of(const struct sync_engine *e, const struct config_provider *pc)
{
    int64_t n = e->o.concurrency ? (int64_t)e->o.concurrency : pc->concurrency;
    if (n <= 0)
        n = DEFAULT_CONCURRENCY;
    return (unsigned)(n > SYNC_CONCURRENCY_MAX ? SYNC_CONCURRENCY_MAX : n);
}

/* Prepare provider p; false (logged) when it cannot run. */
static bool prov_init(struct sync_engine *e, struct prov *p, const char *tenant,
                      const struct config_provider *pc, const struct conn_ops *ops, size_t index)
{
    memset(p, 0, sizeof(*p));
    p->e = e;
    p->tenant = tenant;
    p->cfg = pc;
    p->ops = ops;
    char err[256] = "";
    if (pc->base_url) {
        struct client_opts co;
        client_opts_from_config(pc, &co);
        co.parallel = workers_of(e, pc); /* one request in flight per worker */
        co.connect_timeout_ms = pc->connect_timeout_ms;
        co.timeout_ms = pc->request_timeout_ms;
        if (client_new(&co, &p->client, err, sizeof(err)) != AB_OK) {
            log_error(NULL, "sync: provider skipped: cannot create its HTTP client",
                      LOG_STR("tenant", tenant), LOG_STR("provider", pc->name),
                      LOG_STR("error", err));
            return false;
        }
    }
    enum ab_rc rc = conn_init(ops, pc, p->client, &p->ctx, err, sizeof(err));
    if (rc) {
        log_error(NULL, "sync: provider skipped: its connector refused the configuration",
                  LOG_STR("tenant", tenant), LOG_STR("provider", pc->name),
                  LOG_STR("error", err[0] ? err : ab_rc_name(rc)));
        client_free(p->client);
        return false;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->br = breaker_new(&e->o.breaker);
    struct ratelimit_opts ro;
    ratelimit_opts_from_config(&pc->rate_limit, sync_documented_rate(pc->type), &ro);
    p->rl = ratelimit_new(&ro);
    p->prng = e->o.seed + 0x9e3779b97f4a7c15ULL * (index + 1);
    if (!p->prng)
        p->prng = 1;
    p->n_ents = pc->n_entities;
    p->ents = xcalloc(p->n_ents ? p->n_ents : 1, sizeof(*p->ents));
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < p->n_ents; i++) {
        struct ent_sched *es = &p->ents[i];
        es->name = pc->entities[i].name;
        es->interval_ms =
            pc->entities[i].interval_ms > 0 ? pc->entities[i].interval_ms : DEFAULT_INTERVAL_MS;
        es->full_started_at = INT64_MIN;
        es->cfg = &pc->entities[i];
        unsigned cap = conn_entity_cap(es->name);
        es->unsupported = !cap || !conn_has(ops, cap) || !ops->pull;
        if (es->unsupported)
            log_warn(NULL, "sync: the connector cannot pull this entity; not scheduled",
                     LOG_STR("tenant", tenant), LOG_STR("provider", pc->name),
                     LOG_STR("entity", es->name));
        /* the first pull comes within the first tenth of an interval */
        es->next_due = now + (int64_t)(prng_next(&p->prng) % (uint64_t)(es->interval_ms / 10 + 1));
    }
    return true;
}

enum ab_rc sync_engine_start_with(const struct config *cfg, struct store *store,
                                  const struct conn_ops *const *registry,
                                  const struct sync_engine_opts *opts, struct sync_engine **out)
{
    *out = NULL;
    struct sync_engine *e = xcalloc(1, sizeof(*e));
    e->cfg = cfg;
    e->store = store;
    if (opts)
        e->o = *opts;
    if (e->o.poll_ms <= 0)
        e->o.poll_ms = DEFAULT_POLL_MS;
    if (e->o.full_pass_every <= 0)
        e->o.full_pass_every = DEFAULT_FULL_EVERY;
    if (e->o.batch == 0 || e->o.batch > 1000)
        e->o.batch = DEFAULT_BATCH;
    if (e->o.concurrency > SYNC_CONCURRENCY_MAX)
        e->o.concurrency = SYNC_CONCURRENCY_MAX;
    if (e->o.lease_ms <= 0)
        e->o.lease_ms = DEFAULT_LEASE_MS;
    if (e->o.retry.base_ms == 0 && e->o.retry.cap_ms == 0 && e->o.retry.max_attempts == 0 &&
        e->o.retry.max_age_ms == 0 && e->o.retry.retry_after_ceiling_ms == 0)
        retry_policy_default(&e->o.retry);
    if (!e->o.seed)
        e->o.seed = (uint64_t)clock_mono_us() ^ (uint64_t)clock_now_ms();
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cond, NULL);

    size_t total = 0;
    for (size_t t = 0; t < cfg->n_tenants; t++)
        total += cfg->tenants[t].n_providers;
    e->provs = xcalloc(total ? total : 1, sizeof(*e->provs));
    for (size_t t = 0; t < cfg->n_tenants; t++) {
        const struct config_tenant *ten = &cfg->tenants[t];
        for (size_t i = 0; i < ten->n_providers; i++) {
            const struct config_provider *pc = &ten->providers[i];
            const struct conn_ops *ops = registry_find(registry, pc->type);
            if (!ops) {
                log_info(NULL, "sync: no connector for this provider type yet; provider skipped",
                         LOG_STR("tenant", ten->name), LOG_STR("provider", pc->name),
                         LOG_STR("type", pc->type));
                continue;
            }
            if (prov_init(e, &e->provs[e->n], ten->name, pc, ops, e->n)) {
                e->provs[e->n].type_alias = type_alias_of(ten, pc);
                e->n++;
            }
        }
    }
    if (!e->o.manual) {
        for (size_t i = 0; i < e->n; i++) {
            struct prov *p = &e->provs[i];
            if (p->n_ents) {
                if (pthread_create(&p->puller, NULL, puller_main, p) != 0)
                    goto fail;
                p->puller_started = true;
            }
            for (unsigned w = 0; w < workers_of(e, p->cfg); w++) {
                if (pthread_create(&p->workers[w], NULL, worker_main, p) != 0)
                    goto fail;
                p->n_workers++;
            }
        }
    }
    if (sync_jobs_start(e, &e->jobs) != AB_OK)
        goto fail;
    log_info(NULL, "sync engine started", LOG_INT("providers", e->n));
    *out = e;
    return AB_OK;
fail:
    log_error(NULL, "sync: cannot start a thread", LOG_STR("error", strerror(errno)));
    sync_engine_stop(e);
    return AB_EINTERNAL;
}

void sync_engine_opts_from_config(const struct config *cfg, struct sync_engine_opts *o)
{
    memset(o, 0, sizeof(*o));
    const struct config_sync *s = &cfg->sync;
    o->poll_ms = s->poll_interval_ms;
    o->full_pass_every = (int)s->full_pass_every;
    o->batch = (size_t)s->batch;
    o->lease_ms = s->lease_ms;
    retry_policy_default(&o->retry);
    if (s->retry_base_ms > 0)
        o->retry.base_ms = s->retry_base_ms;
    if (s->retry_cap_ms > 0)
        o->retry.cap_ms = s->retry_cap_ms;
    o->retry.max_attempts = (int)s->retry_max_attempts;
    o->retry.max_age_ms = s->retry_max_age_ms;
    o->breaker.failure_threshold = (int)s->breaker_failures;
    o->breaker.cooldown_ms = s->breaker_cooldown_ms;
}

enum ab_rc sync_engine_start(const struct config *cfg, struct store *store,
                             struct sync_engine **out)
{
    struct sync_engine_opts o;
    sync_engine_opts_from_config(cfg, &o);
    return sync_engine_start_with(cfg, store, NULL, &o, out);
}

void sync_engine_stop(struct sync_engine *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
    sync_jobs_stop(e->jobs); /* a running job stops at its next page */
    e->jobs = NULL;
    for (size_t i = 0; i < e->n; i++) {
        struct prov *p = &e->provs[i];
        if (p->puller_started)
            pthread_join(p->puller, NULL);
        for (unsigned w = 0; w < p->n_workers; w++)
            pthread_join(p->workers[w], NULL);
    }
    for (size_t i = 0; i < e->n; i++)
        prov_cleanup(&e->provs[i]);
    free(e->provs);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

bool sync_engine_provider_status(struct sync_engine *e, const char *tenant, const char *provider,
                                 struct sync_provider_status *out)
{
    memset(out, 0, sizeof(*out));
    struct prov *p = sync_find_prov(e, tenant, provider);
    if (!p)
        return false;
    out->running = true;
    out->connector = p->ops->name;
    breaker_status(p->br, &out->breaker);
    ratelimit_status(p->rl, &out->ratelimit);
    struct sync_counters *c = &p->counters;
    out->counters.delivered = __atomic_load_n(&c->delivered, __ATOMIC_RELAXED);
    out->counters.retried = __atomic_load_n(&c->retried, __ATOMIC_RELAXED);
    out->counters.dead = __atomic_load_n(&c->dead, __ATOMIC_RELAXED);
    out->counters.suppressed = __atomic_load_n(&c->suppressed, __ATOMIC_RELAXED);
    out->counters.refused = __atomic_load_n(&c->refused, __ATOMIC_RELAXED);
    out->counters.deferred = __atomic_load_n(&c->deferred, __ATOMIC_RELAXED);
    out->counters.pulled = __atomic_load_n(&c->pulled, __ATOMIC_RELAXED);
    return true;
}
