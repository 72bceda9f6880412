/* SPDX-License-Identifier: Apache-2.0
 *
 * work_order.c: the work-order lifecycle table, the action verbs, and work
 * order validation and JSON form. See work_order.h; the table is printed in
 * docs/internals/model.md and must be changed in both places.
 */
#include "model/work_order.h"

#include <stdio.h>
#include <string.h>

#include "core/id.h"
#include "model/model_int.h"

static const char *const type_names[] = {"preventive", "corrective", "calibration", "inspection"};
_Static_assert(MODEL_NELEM(type_names) == MODEL_WO_TYPE_COUNT, "type names");
static const char *const status_names[] = {
    "draft", "open", "assigned", "in_progress", "on_hold", "completed", "closed", "cancelled",
};
_Static_assert(MODEL_NELEM(status_names) == MODEL_WO_STATUS_COUNT, "status names");
static const char *const priority_names[] = {"low", "medium", "high", "urgent"};
_Static_assert(MODEL_NELEM(priority_names) == MODEL_PRIORITY_COUNT, "priority names");
static const char *const sync_names[] = {
    "imported", "pending", "synchronized", "retrying", "rejected", "stale", "suppressed",
};
_Static_assert(MODEL_NELEM(sync_names) == MODEL_SYNC_STATE_COUNT, "sync state names");
static const char *const verb_names[] = {
    "assign", "start", "hold", "complete", "close", "reopen", "cancel", "submit",
};
_Static_assert(MODEL_NELEM(verb_names) == MODEL_WO_VERB_COUNT, "verb names");

MODEL_ENUM_FUNCS(model_wo_type, enum model_wo_type, type_names)
MODEL_ENUM_FUNCS(model_wo_status, enum model_wo_status, status_names)
MODEL_ENUM_FUNCS(model_priority, enum model_priority, priority_names)
MODEL_ENUM_FUNCS(model_sync_state, enum model_sync_state, sync_names)
MODEL_ENUM_FUNCS(model_wo_verb, enum model_wo_verb, verb_names)

/* ---- lifecycle ---------------------------------------------------------- */

/* transitions[from][to]: the only place the lifecycle is defined. */
#define T(s) [MODEL_WO_##s] = true
static const bool transitions[MODEL_WO_STATUS_COUNT][MODEL_WO_STATUS_COUNT] = {
    [MODEL_WO_DRAFT] = {T(OPEN), T(CANCELLED)},
    [MODEL_WO_OPEN] = {T(ASSIGNED), T(IN_PROGRESS), T(ON_HOLD), T(COMPLETED), T(CANCELLED)},
    [MODEL_WO_ASSIGNED] = {T(OPEN), T(IN_PROGRESS), T(ON_HOLD), T(COMPLETED), T(CANCELLED)},
    [MODEL_WO_IN_PROGRESS] = {T(ON_HOLD), T(COMPLETED), T(CANCELLED)},
    [MODEL_WO_ON_HOLD] = {T(OPEN), T(ASSIGNED), T(IN_PROGRESS), T(CANCELLED)},
    [MODEL_WO_COMPLETED] = {T(OPEN), T(IN_PROGRESS), T(CLOSED)},
    [MODEL_WO_CLOSED] = {T(OPEN)},
    [MODEL_WO_CANCELLED] = {0},
};
#undef T

static const enum model_wo_status verb_targets[MODEL_WO_VERB_COUNT] = {
    [MODEL_WO_VERB_ASSIGN] = MODEL_WO_ASSIGNED,  [MODEL_WO_VERB_START] = MODEL_WO_IN_PROGRESS,
    [MODEL_WO_VERB_HOLD] = MODEL_WO_ON_HOLD,     [MODEL_WO_VERB_COMPLETE] = MODEL_WO_COMPLETED,
    [MODEL_WO_VERB_CLOSE] = MODEL_WO_CLOSED,     [MODEL_WO_VERB_REOPEN] = MODEL_WO_OPEN,
    [MODEL_WO_VERB_CANCEL] = MODEL_WO_CANCELLED, [MODEL_WO_VERB_SUBMIT] = MODEL_WO_OPEN,
};

static bool status_ok(enum model_wo_status s)
{
    return (unsigned)s < MODEL_WO_STATUS_COUNT;
}

bool model_wo_transition_allowed(enum model_wo_status from, enum model_wo_status to)
{
    return status_ok(from) && status_ok(to) && transitions[from][to];
}

size_t model_wo_allowed_next(enum model_wo_status from, enum model_wo_status *out, size_t n)
{
    size_t count = 0;
    for (int to = 0; to < MODEL_WO_STATUS_COUNT; to++) {
        if (!model_wo_transition_allowed(from, (enum model_wo_status)to))
            continue;
        if (count < n)
            out[count] = (enum model_wo_status)to;
        count++;
    }
    return count;
}

char *model_wo_allowed_next_str(enum model_wo_status from, char *out, size_t size)
{
    enum model_wo_status next[MODEL_WO_STATUS_COUNT];
    size_t n = model_wo_allowed_next(from, next, MODEL_WO_STATUS_COUNT);
    size_t len = 0;
    if (size == 0)
        return out;
    out[0] = '\0';
    if (n == 0)
        (void)snprintf(out, size, "none");
    for (size_t i = 0; i < n && len + 1 < size; i++) {
        int w = snprintf(out + len, size - len, "%s%s", i ? ", " : "", status_names[next[i]]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return out;
}

enum model_wo_status model_wo_verb_target(enum model_wo_verb verb)
{
    return (unsigned)verb < MODEL_WO_VERB_COUNT ? verb_targets[verb] : MODEL_WO_STATUS_COUNT;
}

enum ab_rc model_wo_verb_apply(enum model_wo_verb verb, enum model_wo_status from,
                               enum model_wo_status *to, struct model_error *err)
{
    model_error_clear(err);
    if ((unsigned)verb >= MODEL_WO_VERB_COUNT || !status_ok(from))
        return model_err_value(err, "", "common_status", "unknown verb or status");
    enum model_wo_status target = verb_targets[verb];
    bool ok = model_wo_transition_allowed(from, target);
    if (verb == MODEL_WO_VERB_REOPEN)
        ok = ok && (from == MODEL_WO_COMPLETED || from == MODEL_WO_CLOSED);
    if (verb == MODEL_WO_VERB_SUBMIT)
        ok = ok && from == MODEL_WO_DRAFT;
    if (!ok) {
        char allowed[160];
        model_wo_allowed_next_str(from, allowed, sizeof(allowed));
        model_err_value(err, "", "common_status",
                        "cannot %s a work order that is %s (allowed from %s: %s)", verb_names[verb],
                        status_names[from], status_names[from], allowed);
        return AB_ECONFLICT;
    }
    *to = target;
    return AB_OK;
}

/* ---- JSON --------------------------------------------------------------- */

#define W(name_, ...)                                                                              \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_work_order, name_), __VA_ARGS__               \
    }
static const struct model_field wo_fields[] = {
    W(common_work_order_id, .kind = MODEL_F_STR, .max = ID_ULID_LEN),
    W(provider_id, .kind = MODEL_F_ENUM, .names = model_provider_names, .n = MODEL_PROVIDER_COUNT),
    W(provider, .kind = MODEL_F_STR, .max = 64),
    W(source_work_order_id, .kind = MODEL_F_STR, .max = 128),
    W(asset_ref, .kind = MODEL_F_REF, .flags = MODEL_F_REQUIRED),
    W(type, .kind = MODEL_F_ENUM, .flags = MODEL_F_REQUIRED, .names = type_names,
      .n = MODEL_WO_TYPE_COUNT),
    W(source_status, .kind = MODEL_F_STR, .max = 64),
    W(common_status, .kind = MODEL_F_ENUM, .names = status_names, .n = MODEL_WO_STATUS_COUNT,
      .def = MODEL_WO_OPEN),
    W(priority, .kind = MODEL_F_ENUM, .names = priority_names, .n = MODEL_PRIORITY_COUNT,
      .def = MODEL_PRIORITY_MEDIUM),
    W(source_priority, .kind = MODEL_F_STR, .max = 64),
    W(sla_due_at, .kind = MODEL_F_TIME),
    W(opened_at, .kind = MODEL_F_TIME),
    W(started_at, .kind = MODEL_F_TIME),
    W(completed_at, .kind = MODEL_F_TIME),
    W(closed_at, .kind = MODEL_F_TIME),
    W(notes, .kind = MODEL_F_STR, .max = MODEL_WO_NOTES_MAX),
    W(assignee, .kind = MODEL_F_STR, .max = 128),
    W(sync_state, .kind = MODEL_F_ENUM, .names = sync_names, .n = MODEL_SYNC_STATE_COUNT,
      .def = MODEL_SYNC_PENDING),
    W(last_synced_at, .kind = MODEL_F_TIME),
    W(revision, .kind = MODEL_F_I64, .lo = 0, .hi = INT64_MAX),
};
#undef W

#define CM(name_, ...)                                                                             \
    {                                                                                              \
        .name = #name_, .off = offsetof(struct model_wo_comment, name_), __VA_ARGS__               \
    }
static const struct model_field comment_fields[] = {
    CM(author, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = 128),
    CM(text, .kind = MODEL_F_STR, .flags = MODEL_F_REQUIRED, .max = MODEL_WO_COMMENT_MAX),
    CM(at, .kind = MODEL_F_TIME),
};
#undef CM

static const char *const wo_extra[] = {"failure_codes", "comments", NULL};

static enum ab_rc parse_failure_codes(struct arena *a, const json_t *v,
                                      struct model_work_order *out, struct model_error *err)
{
    if (!json_is_array(v))
        return model_err_type(err, "", "failure_codes", "must be an array of strings");
    size_t n = json_array_size(v);
    if (n > MODEL_WO_FAILURE_CODES_MAX)
        return model_err_value(err, "", "failure_codes", "must have at most %d entries",
                               MODEL_WO_FAILURE_CODES_MAX);
    out->failure_codes = n ? arena_zalloc(a, n * sizeof(*out->failure_codes)) : NULL;
    for (size_t i = 0; i < n; i++) {
        char idx[32];
        (void)snprintf(idx, sizeof(idx), "[%zu]", i);
        enum ab_rc rc = model_json_string(a, json_array_get(v, i), "failure_codes", idx, 64,
                                          &out->failure_codes[i], err);
        if (rc)
            return rc;
    }
    out->n_failure_codes = n;
    return AB_OK;
}

static enum ab_rc parse_comments(struct arena *a, const json_t *v, struct model_work_order *out,
                                 struct model_error *err)
{
    if (!json_is_array(v))
        return model_err_type(err, "", "comments", "must be an array of objects");
    size_t n = json_array_size(v);
    if (n > MODEL_WO_COMMENTS_MAX)
        return model_err_value(err, "", "comments", "must have at most %d entries",
                               MODEL_WO_COMMENTS_MAX);
    out->comments = n ? arena_zalloc(a, n * sizeof(*out->comments)) : NULL;
    for (size_t i = 0; i < n; i++) {
        char prefix[32];
        (void)snprintf(prefix, sizeof(prefix), "comments[%zu]", i);
        enum ab_rc rc =
            model_fields_parse(a, json_array_get(v, i), prefix, comment_fields,
                               MODEL_NELEM(comment_fields), NULL, &out->comments[i], err);
        if (rc)
            return rc;
    }
    out->n_comments = n;
    return AB_OK;
}

enum ab_rc model_work_order_from_json(struct arena *a, const json_t *in,
                                      struct model_work_order *out, struct model_error *err)
{
    model_error_clear(err);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc =
        model_fields_parse(a, in, "", wo_fields, MODEL_NELEM(wo_fields), wo_extra, out, err);
    if (rc)
        return rc;
    const json_t *v;
    if ((v = model_json_get(in, "failure_codes")) && (rc = parse_failure_codes(a, v, out, err)))
        return rc;
    if ((v = model_json_get(in, "comments")) && (rc = parse_comments(a, v, out, err)))
        return rc;
    if (out->common_work_order_id && id_ulid_time_ms(out->common_work_order_id) < 0)
        return model_err_value(err, "", "common_work_order_id",
                               "must be a ULID (26 characters of Crockford base32)");
    /* a provider's work order has the provider's id, except one the hub
     * has yet to create there (pending delivery, or held back) */
    if (out->provider_id != MODEL_PROVIDER_HUB && !out->source_work_order_id &&
        out->sync_state != MODEL_SYNC_PENDING && out->sync_state != MODEL_SYNC_RETRYING &&
        out->sync_state != MODEL_SYNC_SUPPRESSED && out->sync_state != MODEL_SYNC_REJECTED)
        return model_err_value(err, "", "source_work_order_id",
                               "is required when provider_id is not hub and the work order "
                               "exists at the provider");
    return AB_OK;
}

json_t *model_work_order_to_json(const struct model_work_order *in)
{
    json_t *o = json_object();
    model_fields_emit(o, wo_fields, MODEL_NELEM(wo_fields), in);
    if (in->n_failure_codes) {
        json_t *arr = json_array();
        for (size_t i = 0; i < in->n_failure_codes; i++)
            json_array_append_new(arr, json_string(in->failure_codes[i]));
        json_object_set_new(o, "failure_codes", arr);
    }
    if (in->n_comments) {
        json_t *arr = json_array();
        for (size_t i = 0; i < in->n_comments; i++) {
            json_t *c = json_object();
            model_fields_emit(c, comment_fields, MODEL_NELEM(comment_fields), &in->comments[i]);
            json_array_append_new(arr, c);
        }
        json_object_set_new(o, "comments", arr);
    }
    return o;
}
