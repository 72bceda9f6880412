/* SPDX-License-Identifier: Apache-2.0
 *
 * workorders.c: work orders, calibration records and maintenance plans in
 * the objects table, attachments and status mappings. See workorders.h.
 * Work orders written here use the same object layout as the provider
 * records of records.c (kind, ULID id, doc with "id" and "provider_id"), so
 * one list serves both.
 */
#include "store/workorders.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/digest.h"
#include "model/status_map.h"
#include "store/assets.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/store_int.h"

#define DAY_MS INT64_C(86400000)

static void json_decref_cb(void *v)
{
    json_decref(v);
}

/* Hand one reference of j to the arena; returns j. */
static json_t *own(struct arena *a, json_t *j)
{
    if (j)
        arena_on_cleanup(a, json_decref_cb, j);
    return j;
}

/* ---- object rows ------------------------------------------------------------- */

#define OBJ_COLS                                                                                   \
    "kind, id, asset_ref, status, due_at, doc, digest, revision, created_at, updated_at"

static const char SQL_OBJ_GET[] =
    "SELECT " OBJ_COLS " FROM objects WHERE tenant = ? AND kind = ? AND id = ?";
static const char SQL_OBJ_LIST[] =
    "SELECT " OBJ_COLS " FROM objects WHERE tenant = ?1 AND kind = ?2"
    " AND (?3 IS NULL OR asset_ref = ?3) AND (?4 IS NULL OR status = ?4)"
    " AND (?5 IS NULL OR due_at < ?5) AND id > ?6 ORDER BY id LIMIT ?7";
static const char SQL_OBJ_PUT[] =
    "INSERT INTO objects(tenant, kind, id, asset_ref, status, due_at, doc, digest, revision,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, kind, id) DO UPDATE SET asset_ref = excluded.asset_ref,"
    " status = excluded.status, due_at = excluded.due_at, doc = excluded.doc,"
    " digest = excluded.digest, revision = excluded.revision, updated_at = excluded.updated_at";

/* Decode the current row (OBJ_COLS) into out; the document into a. */
static enum ab_rc obj_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                          struct store_object *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = store_col_text(db, st, 0, a);
    out->id = store_col_text(db, st, 1, a);
    out->asset_ref = store_col_text(db, st, 2, a);
    out->status = store_col_text(db, st, 3, a);
    out->due_at = store_col_time(db, st, 4);
    const char *doc = db->ops->column_text(st, 5);
    json_error_t je;
    out->doc = own(a, doc ? json_loads(doc, 0, &je) : NULL);
    if (!json_is_object(out->doc))
        return AB_EINTERNAL;
    out->digest = store_col_text(db, st, 6, a);
    out->revision = store_col_int(db, st, 7);
    out->created_at = store_col_int(db, st, 8);
    out->updated_at = store_col_int(db, st, 9);
    return AB_OK;
}

static enum ab_rc obj_get(struct store_db *db, const char *tenant, const char *kind, const char *id,
                          struct arena *a, struct store_object *out)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_OBJ_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, kind, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    rc = obj_row(db, st, a, out);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

enum ab_rc store_object_get(struct store_read *r, const char *tenant, const char *kind,
                            const char *id, struct arena *a, struct store_object *out)
{
    return obj_get(store_read_db(r), tenant, kind, id, a, out);
}

static bool doc_field_is(const json_t *doc, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(doc, key));
    return !want || (v && strcmp(v, want) == 0);
}

static enum ab_rc objects_list_db(struct store_db *db, const char *tenant,
                                  const struct store_object_filter *f, struct arena *a,
                                  struct store_object **out, size_t *n, bool *more)
{
    size_t limit = f->limit ? f->limit : 1;
    bool by_doc = f->type || f->provider;
    /* one row more than asked tells whether another page follows; filters
     * on the document scan in larger batches */
    size_t batch = by_doc ? 500 : limit + 1;
    struct store_object *v = arena_zalloc(a, (limit + 1) * sizeof(*v));
    size_t k = 0;
    const char *after = f->after ? f->after : "";
    enum ab_rc rc = AB_OK;
    *more = false;
    for (;;) {
        struct store_stmt *st;
        size_t seen = 0;
        bool row = false;
        rc = store_db_stmt(db, SQL_OBJ_LIST, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttttTti", tenant, f->kind, f->asset_ref, f->status,
                                f->due_before, after, (int64_t)batch);
        while (!rc && k <= limit && !(rc = store_step_row(db, st, &row)) && row) {
            struct store_object o;
            seen++;
            rc = obj_row(db, st, a, &o);
            if (rc)
                break;
            after = o.id;
            if (doc_field_is(o.doc, "type", f->type) &&
                doc_field_is(o.doc, "provider_id", f->provider))
                v[k++] = o;
        }
        db->ops->reset(st);
        if (rc)
            return rc;
        if (k > limit) {
            *more = true;
            k = limit;
            break;
        }
        if (seen < batch)
            break;
    }
    *out = v;
    *n = k;
    return AB_OK;
}

enum ab_rc store_objects_list(struct store_read *r, const char *tenant,
                              const struct store_object_filter *f, struct arena *a,
                              struct store_object **out, size_t *n, bool *more)
{
    return objects_list_db(store_read_db(r), tenant, f, a, out, n, more);
}

/* Write an object row: doc (with "id") is serialised and digested here;
 * out (may be NULL) is filled with what was written (doc referenced by a). */
static enum ab_rc obj_put(struct store_db *db, const char *tenant, const char *kind, const char *id,
                          const char *asset_ref, const char *status, int64_t due_at, json_t *doc,
                          int64_t revision, int64_t created_at, struct arena *a,
                          struct store_object *out)
{
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    enum ab_rc rc = model_digest(doc, digest);
    if (rc)
        return rc;
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return AB_EINTERNAL;
    int64_t now = clock_now_ms();
    struct store_stmt *st;
    rc = store_db_stmt(db, SQL_OBJ_PUT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttttTttiii", tenant, kind, id, asset_ref, status, due_at,
                            text, digest, revision, created_at, now);
    if (!rc)
        rc = store_step_done(db, st);
    free(text);
    if (!rc && out) {
        memset(out, 0, sizeof(*out));
        out->kind = arena_strdup(a, kind);
        out->id = arena_strdup(a, id);
        out->asset_ref = asset_ref ? arena_strdup(a, asset_ref) : NULL;
        out->status = status ? arena_strdup(a, status) : NULL;
        out->due_at = due_at;
        out->doc = own(a, json_incref(doc));
        out->digest = arena_strdup(a, digest);
        out->revision = revision;
        out->created_at = created_at;
        out->updated_at = now;
    }
    return rc;
}

static enum ab_rc audit(struct store_tx *tx, const char *tenant, const char *actor,
                        const char *action, const char *subject, const char *before,
                        const char *after, const char *detail)
{
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "system";
    au.action = action;
    au.subject = subject;
    au.before_digest = before;
    au.after_digest = after;
    au.detail = detail;
    return store_audit_add(tx, &au);
}

/* ---- work orders ------------------------------------------------------------- */

static json_t *wo_api_json(const json_t *doc, const char *id, int64_t revision)
{
    json_t *j = json_deep_copy(doc);
    if (!j)
        return json_object();
    json_object_del(j, "id");
    json_object_set_new(j, "common_work_order_id", json_string(id));
    json_object_set_new(j, "revision", json_integer(revision));
    return j;
}

json_t *store_work_order_json(const struct store_object *o)
{
    return wo_api_json(o->doc, o->id, o->revision);
}

enum ab_rc store_work_order_decode(const struct store_object *o, struct arena *a,
                                   struct model_work_order *wo, struct model_error *err)
{
    json_t *j = wo_api_json(o->doc, o->id, o->revision);
    enum ab_rc rc = model_work_order_from_json(a, j, wo, err);
    json_decref(j);
    if (rc) {
        char why[MODEL_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%.60s: %.120s", err->field[0] ? err->field : "document",
                 err->message);
        err->kind = MODEL_ERR_VALUE;
        str_lcpy(err->field, "", sizeof(err->field));
        snprintf(err->message, sizeof(err->message),
                 "this work order is a provider record the hub mirrors, not a common work order"
                 " it can change (%.120s)",
                 why);
        return AB_ECONFLICT;
    }
    return AB_OK;
}

/* Write wo (complete, with id and revision set) and fill res->obj. */
static enum ab_rc wo_put(struct store_tx *tx, const char *tenant, const struct model_work_order *wo,
                         int64_t created_at, struct arena *a, struct store_wo_result *res)
{
    json_t *doc = model_work_order_to_json(wo);
    if (!doc)
        return AB_EINTERNAL;
    json_object_set_new(doc, "id", json_string(wo->common_work_order_id));
    enum ab_rc rc = obj_put(tx->db, tenant, STORE_KIND_WORK_ORDER, wo->common_work_order_id,
                            wo->asset_ref, model_wo_status_name(wo->common_status), wo->sla_due_at,
                            doc, wo->revision, created_at, a, &res->obj);
    json_decref(doc);
    return rc;
}

static enum ab_rc wo_outbox(struct store_tx *tx, const char *tenant,
                            const struct model_work_order *wo, const char *action, const char *key,
                            const json_t *payload)
{
    char subject[64];
    snprintf(subject, sizeof(subject), "work-order/%s", wo->common_work_order_id);
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return AB_EINTERNAL;
    struct store_outbox_item it = {0};
    it.tenant = tenant;
    it.provider = wo->provider ? wo->provider : model_provider_name(wo->provider_id);
    it.entity = "work_order";
    it.action = action;
    it.subject = subject;
    it.payload = text;
    it.idempotency_key = key;
    it.state = OUTBOX_PENDING;
    it.priority = -1; /* by the provider's severity for work orders */
    enum ab_rc rc = store_outbox_add(tx, &it, NULL);
    free(text);
    return rc;
}

enum ab_rc store_work_order_create(struct store_tx *tx, const char *tenant,
                                   const struct model_work_order *in, const char *actor,
                                   struct arena *a, struct store_wo_result *res)
{
    memset(res, 0, sizeof(*res));
    model_error_clear(&res->err);
    struct model_work_order wo = *in;
    char id[ID_ULID_LEN + 1];
    if (!wo.common_work_order_id) {
        id_ulid_new(id);
        wo.common_work_order_id = arena_strdup(a, id);
    }
    int64_t now = clock_now_ms();
    wo.revision = 1;
    wo.sync_state = MODEL_SYNC_PENDING;
    if (wo.opened_at == MODEL_TIME_UNSET && wo.common_status != MODEL_WO_DRAFT)
        wo.opened_at = now;

    struct store_asset_row asset;
    enum ab_rc rc = store_tenant_ensure(tx, tenant);
    if (!rc)
        rc = store_asset_get_tx(tx, tenant, wo.asset_ref, a, &asset);
    if (rc == AB_ENOTFOUND) {
        res->err.kind = MODEL_ERR_VALUE;
        str_lcpy(res->err.field, "asset_ref", sizeof(res->err.field));
        snprintf(res->err.message, sizeof(res->err.message), "unknown asset '%.64s'", wo.asset_ref);
        return AB_EINVAL;
    }
    struct store_object old;
    if (!rc) {
        rc = obj_get(tx->db, tenant, STORE_KIND_WORK_ORDER, wo.common_work_order_id, a, &old);
        if (rc == AB_OK) {
            res->err.kind = MODEL_ERR_VALUE;
            str_lcpy(res->err.field, "common_work_order_id", sizeof(res->err.field));
            str_lcpy(res->err.message, "a work order with this id exists already",
                     sizeof(res->err.message));
            return AB_ECONFLICT;
        }
        if (rc == AB_ENOTFOUND)
            rc = AB_OK;
    }
    if (!rc)
        rc = wo_put(tx, tenant, &wo, now, a, res);
    if (rc)
        return rc;
    res->changed = true;
    char subject[64];
    snprintf(subject, sizeof(subject), "work-order/%s", wo.common_work_order_id);
    json_t *payload = store_work_order_json(&res->obj);
    rc = store_event_append(tx, tenant, "work_order.created", subject, payload, NULL);
    if (!rc)
        rc = audit(tx, tenant, actor, "work_order.create", subject, NULL, res->obj.digest, NULL);
    if (!rc && wo.provider_id != MODEL_PROVIDER_HUB) {
        char key[80];
        snprintf(key, sizeof(key), "wo:%s:create", wo.common_work_order_id);
        rc = wo_outbox(tx, tenant, &wo, "open_request", key, payload);
    }
    json_decref(payload);
    return rc;
}

enum ab_rc store_work_order_change(struct store_tx *tx, const struct store_wo_change *c,
                                   struct arena *a, struct store_wo_result *res)
{
    memset(res, 0, sizeof(*res));
    model_error_clear(&res->err);
    struct store_object old;
    enum ab_rc rc = obj_get(tx->db, c->tenant, STORE_KIND_WORK_ORDER, c->id, a, &old);
    if (rc)
        return rc;
    if (c->if_revision > 0 && old.revision != c->if_revision) {
        res->stale = true;
        res->err.kind = MODEL_ERR_VALUE;
        str_lcpy(res->err.field, "If-Match", sizeof(res->err.field));
        snprintf(res->err.message, sizeof(res->err.message),
                 "stale revision: the work order is at revision %lld, not %lld",
                 (long long)old.revision, (long long)c->if_revision);
        res->obj = old;
        return AB_ECONFLICT;
    }
    struct model_work_order wo;
    rc = store_work_order_decode(&old, a, &wo, &res->err);
    if (rc)
        return rc;
    enum model_wo_status before = wo.common_status;
    rc = c->edit(&wo, a, c->arg, &res->err);
    if (rc) {
        res->obj = old;
        return rc;
    }
    wo.common_work_order_id = old.id;
    wo.revision = old.revision + 1;
    wo.sync_state = MODEL_SYNC_PENDING;

    /* compare contents (the digest leaves revision and sync_state out) */
    json_t *probe = model_work_order_to_json(&wo);
    if (!probe)
        return AB_EINTERNAL;
    json_object_set_new(probe, "id", json_string(old.id));
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    rc = model_digest(probe, digest);
    json_decref(probe);
    if (rc)
        return rc;
    if (old.digest && strcmp(old.digest, digest) == 0) {
        res->obj = old;
        return AB_OK;
    }
    rc = wo_put(tx, c->tenant, &wo, old.created_at, a, res);
    if (rc)
        return rc;
    res->changed = true;

    const char *type = "work_order.updated";
    if (wo.common_status != before && wo.common_status == MODEL_WO_COMPLETED)
        type = "work_order.completed";
    else if (wo.common_status != before && wo.common_status == MODEL_WO_CLOSED)
        type = "work_order.closed";
    char subject[64];
    snprintf(subject, sizeof(subject), "work-order/%s", old.id);
    json_t *payload = store_work_order_json(&res->obj);
    if (wo.common_status != before)
        json_object_set_new(payload, "previous_status", json_string(model_wo_status_name(before)));
    rc = store_event_append(tx, c->tenant, type, subject, payload, NULL);
    if (!rc)
        rc = audit(tx, c->tenant, c->actor, c->action, subject, old.digest, res->obj.digest, NULL);
    if (!rc && wo.provider_id != MODEL_PROVIDER_HUB) {
        char key[96];
        snprintf(key, sizeof(key), "wo:%s:r%lld", old.id, (long long)wo.revision);
        json_object_del(payload, "previous_status");
        rc = wo_outbox(tx, c->tenant, &wo, "update_work_order", key, payload);
    }
    json_decref(payload);
    return rc;
}

enum ab_rc store_work_order_sync_outcome(struct store_tx *tx, const char *tenant, const char *id,
                                         enum model_sync_state state, const char *source_id,
                                         struct arena *a)
{
    struct store_object old;
    enum ab_rc rc = obj_get(tx->db, tenant, STORE_KIND_WORK_ORDER, id, a, &old);
    if (rc == AB_ENOTFOUND)
        return AB_OK;
    if (rc)
        return rc;
    struct model_work_order wo;
    struct model_error err;
    if (store_work_order_decode(&old, a, &wo, &err) != AB_OK)
        return AB_OK; /* a provider's record: its sync state is the pull's */
    bool new_source = source_id && *source_id && !wo.source_work_order_id;
    if (wo.sync_state == state && !new_source && state != MODEL_SYNC_SYNCHRONIZED)
        return AB_OK;
    wo.common_work_order_id = old.id;
    wo.revision = new_source ? old.revision + 1 : old.revision;
    wo.sync_state = state;
    if (state == MODEL_SYNC_SYNCHRONIZED)
        wo.last_synced_at = clock_now_ms();
    if (new_source)
        wo.source_work_order_id = arena_strdup(a, source_id);
    struct store_wo_result res;
    memset(&res, 0, sizeof(res));
    return wo_put(tx, tenant, &wo, old.created_at, a, &res);
}

/* ---- attachments --------------------------------------------------------------- */

static const char SQL_ATT_ADD[] =
    "INSERT INTO attachments(id, tenant, owner_kind, owner_id, file_name, media_type, size,"
    " sha256, content, provider_ref, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* "work-order/ID", "calibration/ID", "asset/REF" */
static const char *owner_subject(struct arena *a, enum model_owner_kind k, const char *id)
{
    const char *prefix = k == MODEL_OWNER_WORK_ORDER    ? "work-order"
                         : k == MODEL_OWNER_CALIBRATION ? "calibration"
                                                        : "asset";
    return arena_printf(a, "%s/%s", prefix, id);
}

static enum ab_rc owner_exists(struct store_tx *tx, const char *tenant,
                               const struct model_attachment *m, struct arena *a)
{
    if (!m->owner_id)
        return AB_EINVAL;
    if (m->owner_kind == MODEL_OWNER_ASSET) {
        struct store_asset_row row;
        return store_asset_get_tx(tx, tenant, m->owner_id, a, &row);
    }
    struct store_object o;
    const char *kind =
        m->owner_kind == MODEL_OWNER_WORK_ORDER ? STORE_KIND_WORK_ORDER : STORE_KIND_CALIBRATION;
    return obj_get(tx->db, tenant, kind, m->owner_id, a, &o);
}

enum ab_rc store_attachment_add(struct store_tx *tx, const char *tenant,
                                const struct model_attachment *meta, const void *content,
                                size_t len, const char *actor, struct arena *a,
                                struct store_attachment_row *out)
{
    memset(out, 0, sizeof(*out));
    struct model_attachment m = *meta;
    if (!m.media_type)
        m.media_type = "application/octet-stream";
    m.size = (int64_t)len;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(content ? content : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return AB_EINTERNAL;
    char *hex = arena_alloc(a, 65);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    m.sha256 = hex;

    /* the model validates the metadata (file name, media type) */
    json_t *j = model_attachment_to_json(&m);
    struct model_error err;
    enum ab_rc rc = model_attachment_from_json(a, j, &m, &err);
    json_decref(j);
    if (rc)
        return AB_EINVAL;
    rc = store_tenant_ensure(tx, tenant);
    if (!rc)
        rc = owner_exists(tx, tenant, &m, a);
    if (rc)
        return rc;

    char id[ID_ULID_LEN + 1];
    id_ulid_new(id);
    int64_t now = clock_now_ms();
    struct store_db *db = tx->db;
    struct store_stmt *st;
    rc = store_db_stmt(db, SQL_ATT_ADD, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttttit", id, tenant, model_owner_kind_name(m.owner_kind),
                            m.owner_id, m.file_name, m.media_type, m.size, m.sha256);
    if (!rc)
        rc = db->ops->bind_blob(st, 9, content ? content : "", len);
    if (!rc)
        rc = store_bind_text(db, st, 10, m.provider_ref);
    if (!rc)
        rc = store_bind_int(db, st, 11, now);
    if (!rc)
        rc = store_step_done(db, st);
    if (rc)
        return rc;

    out->id = arena_strdup(a, id);
    out->meta = m;
    out->created_at = now;
    const char *subject = owner_subject(a, m.owner_kind, m.owner_id);
    json_t *payload = model_attachment_to_json(&m);
    json_object_set_new(payload, "id", json_string(id));
    rc = store_event_append(tx, tenant, "attachment.added", subject, payload, NULL);
    json_decref(payload);
    if (!rc) {
        char *detail = arena_printf(a, "{\"attachment_id\":\"%s\",\"sha256\":\"%s\",\"size\":%lld}",
                                    id, m.sha256, (long long)m.size);
        rc = audit(tx, tenant, actor, "attachment.add", subject, NULL, NULL, detail);
    }
    return rc;
}

/* ---- calibration ----------------------------------------------------------------- */

static bool is_hub_doc(const json_t *doc)
{
    const char *p = json_string_value(json_object_get(doc, "provider_id"));
    return !p || strcmp(p, "hub") == 0;
}

/* The links of an asset (provider, native id), in provider order. */
static const char SQL_CAL_LINKS[] =
    "SELECT provider, native_id FROM asset_links WHERE tenant = ? AND asset_ref = ?"
    " ORDER BY provider, native_id";

/* Queue record_calibration for the providers that should hear of a
 * calibration recorded in the hub (docs/internals/store.md, "Calibration to
 * providers"): the calibration system of record of the asset's site when
 * the configuration names one (if the asset is linked to it), else every
 * provider linked to the asset whose calibration mode is not read_only. */
static enum ab_rc cal_outbox(struct store_tx *tx, const struct store_cal_record *in,
                             const struct model_asset *asset, const struct model_calibration *cal,
                             const char *id, int64_t revision, struct arena *a)
{
    const struct config *cfg = store_config(tx->store);
    const struct config_tenant *t = cfg ? config_tenant(cfg, in->tenant) : NULL;
    if (!t || !t->n_providers)
        return AB_OK;
    const char *sor = config_system_of_record(t, asset->site, DOMAIN_CALIBRATION);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_CAL_LINKS, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tt", in->tenant, in->asset_ref);
    if (rc)
        return rc;
    const char **prov = NULL, **native = NULL;
    size_t n = 0, cap_p = 0, cap_n = 0;
    bool row = false;
    while (!(rc = store_step_row(tx->db, st, &row)) && row) {
        const char *pname = store_col_text(tx->db, st, 0, a);
        const struct config_provider *p = config_provider(t, pname);
        if (!p)
            continue; /* a provider no longer configured */
        bool writes = p->mode[DOMAIN_CALIBRATION] != MODE_READ_ONLY;
        bool take = in->origin ? !str_eq(in->origin, pname) && writes
                    : sor      ? str_eq(sor, pname)
                               : writes;
        if (!take)
            continue;
        prov = arena_grow(a, prov, n, &cap_p, sizeof(*prov));
        native = arena_grow(a, native, n, &cap_n, sizeof(*native));
        prov[n] = pname;
        native[n] = store_col_text(tx->db, st, 1, a);
        n++;
    }
    tx->db->ops->reset(st);
    if (rc)
        return rc;

    char performed[TIME_RFC3339_MAX], due[TIME_RFC3339_MAX];
    time_format_rfc3339(cal->last_calibrated_at, performed);
    if (cal->due_at != MODEL_TIME_UNSET)
        time_format_rfc3339(cal->due_at, due);
    const char *result = model_cal_result_name(cal->result);
    const char *comment = in->comment
                              ? in->comment
                              : arena_printf(a, "assetbridge calibration %s%s%s%s%s", result,
                                             cal->certificate_id ? ", certificate " : "",
                                             cal->certificate_id ? cal->certificate_id : "",
                                             cal->performed_by ? ", by " : "",
                                             cal->performed_by ? cal->performed_by : "");
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *pl =
            json_pack("{s:s, s:s, s:s?, s:s, s:s, s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}",
                      "asset_ref", in->asset_ref, "asset_native_id", native[i], "site", asset->site,
                      "kind", "calibration", "calibration_id", id, "revision", (json_int_t)revision,
                      "performed_at", performed, "result", result, "comment", comment,
                      "next_due_at", cal->due_at != MODEL_TIME_UNSET ? due : NULL, "certificate_id",
                      cal->certificate_id, "performed_by", cal->performed_by, "origin", in->origin);
        char *text = pl ? json_dumps(pl, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(pl);
        if (!text)
            return AB_EINTERNAL;
        struct store_outbox_item it = {0};
        it.tenant = in->tenant;
        it.provider = prov[i];
        it.entity = "calibration";
        it.action = "record_calibration";
        it.subject = arena_printf(a, "asset/%s", in->asset_ref);
        it.payload = text;
        it.idempotency_key =
            arena_printf(a, "calibration:%s:%s:%lld", prov[i], id, (long long)revision);
        it.state = OUTBOX_PENDING;
        it.priority = -1; /* by the provider's calibration entity severity */
        rc = store_outbox_add(tx, &it, NULL);
        free(text);
    }
    return rc;
}

enum ab_rc store_calibration_record(struct store_tx *tx, const struct store_cal_record *in,
                                    struct arena *a, struct store_cal_result *res)
{
    memset(res, 0, sizeof(*res));
    model_error_clear(&res->err);
    struct store_asset_row asset;
    enum ab_rc rc = store_tenant_ensure(tx, in->tenant);
    if (!rc)
        rc = store_asset_get_tx(tx, in->tenant, in->asset_ref, a, &asset);
    if (rc)
        return rc;

    /* the asset's calibration records: the hub's, and an interval a provider knows */
    struct store_object_filter f = {0};
    f.kind = STORE_KIND_CALIBRATION;
    f.asset_ref = in->asset_ref;
    f.due_before = INT64_MIN;
    f.limit = 100;
    struct store_object *objs;
    size_t n = 0;
    bool more = false;
    rc = objects_list_db(tx->db, in->tenant, &f, a, &objs, &n, &more);
    if (rc)
        return rc;
    const struct store_object *hub = NULL;
    int64_t provider_interval = 0;
    for (size_t i = 0; i < n; i++) {
        if (!hub && is_hub_doc(objs[i].doc))
            hub = &objs[i];
        else if (!provider_interval)
            provider_interval = json_integer_value(json_object_get(objs[i].doc, "interval_days"));
    }

    struct model_calibration cal;
    if (hub) {
        json_t *j = json_deep_copy(hub->doc);
        json_object_del(j, "id");
        json_object_del(j, "provider_id");
        rc = model_calibration_from_json(a, j, &cal, &res->err);
        json_decref(j);
        if (rc) {
            char why[MODEL_MESSAGE_MAX];
            snprintf(why, sizeof(why), "%.60s: %.120s", res->err.field, res->err.message);
            snprintf(res->err.message, sizeof(res->err.message),
                     "the stored hub calibration record does not validate (%.190s)", why);
            return AB_EINTERNAL;
        }
    } else {
        memset(&cal, 0, sizeof(cal));
        cal.asset_ref = in->asset_ref;
        cal.required = true;
        cal.interval_days = provider_interval;
        cal.interval_usage = NAN;
        cal.last_calibrated_at = MODEL_TIME_UNSET;
        cal.due_at = MODEL_TIME_UNSET;
        cal.system_of_record = MODEL_PROVIDER_HUB;
    }
    cal.last_calibrated_at = in->performed_at;
    cal.result = in->result;
    cal.as_found = in->as_found;
    cal.as_left = in->as_left;
    if (in->certificate_id)
        cal.certificate_id = in->certificate_id;
    if (in->certificate_url)
        cal.certificate_url = in->certificate_url;
    if (in->performed_by)
        cal.performed_by = in->performed_by;
    cal.due_state = MODEL_DUE_OK;
    int64_t interval = cal.interval_days ? cal.interval_days : provider_interval;
    if (!interval) {
        /* the rules' interval for the asset (rules.calibration.interval_days
         * with its site and asset type overrides) */
        const struct config *cfg = store_config(tx->store);
        const struct config_tenant *ct = cfg ? config_tenant(cfg, in->tenant) : NULL;
        struct config_rules_cal rules;
        if (ct) {
            config_rules_calibration(ct, asset.asset.site, model_asset_type_name(asset.asset.type),
                                     &rules);
            interval = rules.interval_days;
        }
    }
    if (in->next_due_at != MODEL_TIME_UNSET)
        cal.due_at = in->next_due_at;
    else if (interval > 0)
        cal.due_at = in->performed_at + interval * DAY_MS;
    else
        cal.due_at = MODEL_TIME_UNSET;

    /* validate the result as a whole (certificate_url syntax, lengths) */
    json_t *doc = model_calibration_to_json(&cal);
    struct model_calibration check;
    rc = model_calibration_from_json(a, doc, &check, &res->err);
    if (rc) {
        json_decref(doc);
        return AB_EINVAL;
    }
    char idbuf[ID_ULID_LEN + 1];
    const char *id = hub ? hub->id : NULL;
    if (!id) {
        id_ulid_new(idbuf);
        id = arena_strdup(a, idbuf);
    }
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "provider_id", json_string("hub"));
    rc = obj_put(tx->db, in->tenant, STORE_KIND_CALIBRATION, id, in->asset_ref, NULL, cal.due_at,
                 doc, hub ? hub->revision + 1 : 1, hub ? hub->created_at : clock_now_ms(), a,
                 &res->obj);
    json_decref(doc);
    if (rc)
        return rc;
    res->created = !hub;

    if (in->cert_file_name) {
        struct model_attachment m = {0};
        m.owner_kind = MODEL_OWNER_CALIBRATION;
        m.owner_id = id;
        m.file_name = in->cert_file_name;
        m.media_type = in->cert_media_type;
        rc = store_attachment_add(tx, in->tenant, &m, in->cert_content, in->cert_len, in->actor, a,
                                  &res->cert);
        if (rc == AB_EINVAL) {
            res->err.kind = MODEL_ERR_VALUE;
            str_lcpy(res->err.field, "certificate", sizeof(res->err.field));
            str_lcpy(res->err.message, "invalid certificate file name or media type",
                     sizeof(res->err.message));
        }
        if (rc)
            return rc;
    }

    char subject[64];
    snprintf(subject, sizeof(subject), "calibration/%s", id);
    json_t *payload = json_deep_copy(res->obj.doc);
    json_object_set_new(payload, "calibration_id", json_string(id));
    json_object_set_new(payload, "revision", json_integer(res->obj.revision));
    if (res->cert.id)
        json_object_set_new(payload, "certificate_attachment_id", json_string(res->cert.id));
    if (in->origin)
        json_object_set_new(payload, "origin", json_string(in->origin));
    rc = store_event_append(tx, in->tenant, "calibration.completed", subject, payload, NULL);
    json_decref(payload);
    if (!rc)
        rc = audit(tx, in->tenant, in->actor, "calibration.record", subject,
                   hub ? hub->digest : NULL, res->obj.digest, NULL);
    if (!rc)
        rc = cal_outbox(tx, in, &asset.asset, &cal, id, res->obj.revision, a);
    return rc;
}

/* ---- status mappings --------------------------------------------------------------- */

static const char SQL_MAP_LIST[] =
    "SELECT provider, kind, source_value, common_value FROM status_maps"
    " WHERE tenant = ?1 AND (?2 IS NULL OR provider = ?2)"
    " AND (provider, kind, source_value) > (?3, ?4, ?5)"
    " ORDER BY provider, kind, source_value LIMIT ?6";
static const char SQL_MAP_GET[] = "SELECT common_value FROM status_maps WHERE tenant = ?"
                                  " AND provider = ? AND kind = ? AND source_value = ?";
static const char SQL_MAP_PUT[] =
    "INSERT INTO status_maps(tenant, provider, kind, source_value, common_value)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, provider, kind, source_value)"
    " DO UPDATE SET common_value = excluded.common_value";
static const char SQL_MAP_DEL[] = "DELETE FROM status_maps WHERE tenant = ? AND provider = ?"
                                  " AND kind = ? AND source_value = ?";

enum ab_rc store_status_maps_list(struct store_read *r, const char *tenant, const char *provider,
                                  const struct store_status_map_row *after, size_t limit,
                                  struct arena *a, struct store_status_map_row **out, size_t *n,
                                  bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    if (!limit)
        limit = 1;
    enum ab_rc rc = store_db_stmt(db, SQL_MAP_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttti", tenant, provider, after ? after->provider : "",
                            after ? after->kind : "", after ? after->source_value : "",
                            (int64_t)limit + 1);
    if (rc)
        return rc;
    struct store_status_map_row *v = arena_zalloc(a, (limit + 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k <= limit && !(rc = store_step_row(db, st, &row)) && row) {
        v[k].provider = store_col_text(db, st, 0, a);
        v[k].kind = store_col_text(db, st, 1, a);
        v[k].source_value = store_col_text(db, st, 2, a);
        v[k].common_value = store_col_text(db, st, 3, a);
        k++;
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    *more = k > limit;
    *n = k > limit ? limit : k;
    *out = v;
    return AB_OK;
}

/* 1..64 bytes, no control characters */
static bool source_value_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > MODEL_STATUS_MAP_VALUE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static bool map_valid(const struct store_status_map_row *m)
{
    enum model_provider p;
    enum model_map_kind k;
    enum model_wo_status s;
    enum model_priority pr;
    if (!model_provider_parse(m->provider, &p) || !model_map_kind_parse(m->kind, &k) ||
        !source_value_ok(m->source_value))
        return false;
    return k == MODEL_MAP_STATUS ? model_wo_status_parse(m->common_value, &s)
                                 : model_priority_parse(m->common_value, &pr);
}

static const char *map_subject(struct arena *a, const char *provider, const char *kind,
                               const char *source_value)
{
    return arena_printf(a, "status-mapping/%s/%s/%s", provider, kind, source_value);
}

enum ab_rc store_status_map_put(struct store_tx *tx, const char *tenant,
                                const struct store_status_map_row *m, const char *actor,
                                bool *created)
{
    if (!map_valid(m))
        return AB_EINVAL;
    struct store_db *db = tx->db;
    struct arena *a = arena_new(1024, 0);
    struct store_stmt *st;
    bool row = false;
    const char *old = NULL;
    enum ab_rc rc = store_db_stmt(db, SQL_MAP_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, m->provider, m->kind, m->source_value);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        old = store_col_text(db, st, 0, a);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc)
        *created = !row;
    if (!rc && !(old && strcmp(old, m->common_value) == 0)) {
        rc = store_db_stmt(db, SQL_MAP_PUT, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttttt", tenant, m->provider, m->kind, m->source_value,
                                m->common_value);
        if (!rc)
            rc = store_step_done(db, st);
        if (!rc) {
            json_t *d = json_pack("{s:s, s:s?}", "common_value", m->common_value, "previous", old);
            char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
            json_decref(d);
            rc = audit(tx, tenant, actor, "status_map.put",
                       map_subject(a, m->provider, m->kind, m->source_value), NULL, NULL, detail);
            free(detail);
        }
    }
    arena_free(a);
    return rc;
}

enum ab_rc store_status_map_delete(struct store_tx *tx, const char *tenant, const char *provider,
                                   const char *kind, const char *source_value, const char *actor)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_MAP_DEL, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, kind, source_value);
    if (!rc)
        rc = store_step_done(db, st);
    if (rc)
        return rc;
    if (db->ops->changes(db->conn) == 0)
        return AB_ENOTFOUND;
    struct arena *a = arena_new(512, 0);
    rc = audit(tx, tenant, actor, "status_map.delete", map_subject(a, provider, kind, source_value),
               NULL, NULL, NULL);
    arena_free(a);
    return rc;
}
