/* SPDX-License-Identifier: Apache-2.0
 *
 * fault.c: parsing, matching and drawing of simulator fault rules. See
 * fault.h; the rule format is documented in docs/sim/README.md.
 */
#include "sim/fault.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

static const char *const action_names[] = {
    [SIM_FAULT_STATUS] = "status",
    [SIM_FAULT_LATENCY] = "latency",
    [SIM_FAULT_TIMEOUT] = "timeout",
    [SIM_FAULT_RESET] = "reset",
    [SIM_FAULT_RESET_AFTER_APPLY] = "reset_after_apply",
    [SIM_FAULT_TRUNCATE] = "truncate",
    [SIM_FAULT_MALFORMED] = "malformed",
    [SIM_FAULT_REPEAT_PAGE] = "repeat_page",
    [SIM_FAULT_EXPIRE_TOKEN] = "expire_token",
};

#define N_ACTIONS (sizeof(action_names) / sizeof(action_names[0]))

const char *sim_fault_action_name(enum sim_fault_action a)
{
    return (size_t)a < N_ACTIONS ? action_names[a] : "?";
}

/* An integer field: a JSON integer, or a real with no fractional part. */
static bool get_int(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    return false;
}

static enum ab_rc parse_match(json_t *m, struct sim_fault_rule *r, size_t idx, char *err,
                              size_t errlen)
{
    if (!json_is_object(m)) {
        snprintf(err, errlen, "rule %zu: match: must be an object", idx);
        return AB_EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach (m, key, v) {
        if (strcmp(key, "method") == 0) {
            const char *s = json_string_value(v);
            size_t n = s ? strlen(s) : 0;
            if (!s || n == 0 || n >= sizeof(r->method)) {
                snprintf(err, errlen, "rule %zu: match.method: must be an HTTP method", idx);
                return AB_EINVAL;
            }
            for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c >= 'a' && c <= 'z')
                    c = (char)(c - 'a' + 'A');
                if (c < 'A' || c > 'Z') {
                    snprintf(err, errlen, "rule %zu: match.method: must be an HTTP method", idx);
                    return AB_EINVAL;
                }
                r->method[i] = c;
            }
            r->method[n] = '\0';
        } else if (strcmp(key, "path") == 0) {
            const char *s = json_string_value(v);
            size_t n = s ? strlen(s) : 0;
            if (!s || s[0] != '/' || n >= sizeof(r->path)) {
                snprintf(err, errlen, "rule %zu: match.path: must be a path starting with '/'",
                         idx);
                return AB_EINVAL;
            }
            const char *star = strchr(s, '*');
            if (star && star != s + n - 1) {
                snprintf(err, errlen, "rule %zu: match.path: '*' is allowed only at the end", idx);
                return AB_EINVAL;
            }
            r->prefix = star != NULL;
            memcpy(r->path, s, n - (star ? 1 : 0));
            r->path[n - (star ? 1 : 0)] = '\0';
        } else {
            snprintf(err, errlen, "rule %zu: match.%.64s: unknown field (method, path)", idx, key);
            return AB_EINVAL;
        }
    }
    return AB_OK;
}

static enum ab_rc parse_rule(json_t *o, struct sim_fault_rule *r, size_t idx, char *err,
                             size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->probability = 1.0;
    r->count = -1;
    r->status = 0;
    r->ms = -1;
    if (!json_is_object(o)) {
        snprintf(err, errlen, "rule %zu: must be an object", idx);
        return AB_EINVAL;
    }
    json_t *action = json_object_get(o, "action");
    const char *an = json_string_value(action);
    if (!an) {
        snprintf(err, errlen,
                 "rule %zu: action: required, one of status, latency, timeout, "
                 "reset, reset_after_apply, truncate, malformed, repeat_page, "
                 "expire_token",
                 idx);
        return AB_EINVAL;
    }
    size_t a;
    for (a = 0; a < N_ACTIONS; a++)
        if (strcmp(an, action_names[a]) == 0)
            break;
    if (a == N_ACTIONS) {
        snprintf(err, errlen, "rule %zu: action: unknown action '%.64s'", idx, an);
        return AB_EINVAL;
    }
    r->action = (enum sim_fault_action)a;
    const char *key;
    json_t *v;
    json_object_foreach (o, key, v) {
        int64_t i;
        if (strcmp(key, "action") == 0) {
            continue;
        } else if (strcmp(key, "match") == 0) {
            enum ab_rc rc = parse_match(v, r, idx, err, errlen);
            if (rc)
                return rc;
        } else if (strcmp(key, "status") == 0) {
            if (!get_int(v, &i) || i < 100 || i > 599) {
                snprintf(err, errlen, "rule %zu: status: must be an HTTP status 100..599", idx);
                return AB_EINVAL;
            }
            r->status = (int)i;
        } else if (strcmp(key, "ms") == 0) {
            if (!get_int(v, &i) || i < 0 || i > SIM_FAULT_MS_MAX) {
                snprintf(err, errlen, "rule %zu: ms: must be an integer 0..%d", idx,
                         SIM_FAULT_MS_MAX);
                return AB_EINVAL;
            }
            r->ms = i;
        } else if (strcmp(key, "probability") == 0) {
            double p = json_is_number(v) ? json_number_value(v) : -1;
            if (!json_is_number(v) || !(p >= 0.0 && p <= 1.0)) {
                snprintf(err, errlen, "rule %zu: probability: must be a number 0..1", idx);
                return AB_EINVAL;
            }
            r->probability = p;
        } else if (strcmp(key, "count") == 0) {
            if (!get_int(v, &i) || i < 1) {
                snprintf(err, errlen, "rule %zu: count: must be an integer >= 1", idx);
                return AB_EINVAL;
            }
            r->count = i;
        } else {
            snprintf(err, errlen,
                     "rule %zu: %.64s: unknown field (match, action, status, ms, probability, "
                     "count)",
                     idx, key);
            return AB_EINVAL;
        }
    }
    if (r->action == SIM_FAULT_STATUS && !r->status) {
        snprintf(err, errlen, "rule %zu: status: required by action 'status'", idx);
        return AB_EINVAL;
    }
    if (r->action != SIM_FAULT_STATUS && r->status) {
        snprintf(err, errlen, "rule %zu: status: only for action 'status'", idx);
        return AB_EINVAL;
    }
    if (r->action == SIM_FAULT_LATENCY && r->ms < 0) {
        snprintf(err, errlen, "rule %zu: ms: required by action 'latency'", idx);
        return AB_EINVAL;
    }
    if (r->action != SIM_FAULT_LATENCY && r->action != SIM_FAULT_TIMEOUT && r->ms >= 0) {
        snprintf(err, errlen, "rule %zu: ms: only for actions 'latency' and 'timeout'", idx);
        return AB_EINVAL;
    }
    if (r->action == SIM_FAULT_TIMEOUT && r->ms < 0)
        r->ms = SIM_FAULT_TIMEOUT_DEFAULT_MS;
    if (r->ms < 0)
        r->ms = 0;
    return AB_OK;
}

enum ab_rc sim_fault_parse(const char *text, size_t len, struct sim_fault_rule **rules, size_t *n,
                           char *err, size_t errlen)
{
    json_error_t jerr;
    *rules = NULL;
    *n = 0;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return AB_EPARSE;
    }
    enum ab_rc rc = AB_OK;
    size_t count = json_is_array(root) ? json_array_size(root) : 1;
    if (count > SIM_FAULT_RULES_MAX) {
        snprintf(err, errlen, "at most %d rules", SIM_FAULT_RULES_MAX);
        json_decref(root);
        return AB_EINVAL;
    }
    struct sim_fault_rule *out = xcalloc(count ? count : 1, sizeof(*out));
    for (size_t i = 0; i < count && !rc; i++)
        rc = parse_rule(json_is_array(root) ? json_array_get(root, i) : root, &out[i], i, err,
                        errlen);
    json_decref(root);
    if (rc) {
        free(out);
        return rc;
    }
    *rules = out;
    *n = count;
    return AB_OK;
}

bool sim_fault_matches(const struct sim_fault_rule *r, const char *method, const char *path)
{
    if (r->method[0] && strcmp(r->method, method) != 0)
        return false;
    if (!r->path[0] && !r->prefix)
        return true;
    return r->prefix ? str_has_prefix(path, r->path) : strcmp(r->path, path) == 0;
}

enum ab_rc sim_fault_set_add(struct sim_fault_set *set, const struct sim_fault_rule *rules,
                             size_t n)
{
    if (set->n + n > SIM_FAULT_RULES_MAX)
        return AB_ETOOLARGE;
    if (set->n + n > set->cap) {
        size_t cap = set->cap ? set->cap : 8;
        while (cap < set->n + n)
            cap *= 2;
        set->rules = xrealloc(set->rules, cap * sizeof(*set->rules));
        set->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        set->rules[set->n] = rules[i];
        set->rules[set->n].id = ++set->next_id;
        set->rules[set->n].fired = 0;
        set->n++;
    }
    return AB_OK;
}

void sim_fault_set_clear(struct sim_fault_set *set)
{
    set->n = 0;
}

void sim_fault_set_cleanup(struct sim_fault_set *set)
{
    free(set->rules);
    set->rules = NULL;
    set->n = set->cap = 0;
}

bool sim_fault_pick(struct sim_fault_set *set, struct sim_prng *rng, const char *method,
                    const char *path, struct sim_fault_rule *out)
{
    for (size_t i = 0; i < set->n; i++) {
        struct sim_fault_rule *r = &set->rules[i];
        if (r->count == 0 || !sim_fault_matches(r, method, path))
            continue;
        if (r->probability <= 0.0)
            continue;
        if (r->probability < 1.0 && sim_prng_unit(rng) >= r->probability)
            continue;
        if (r->count > 0)
            r->count--;
        r->fired++;
        *out = *r;
        return true;
    }
    return false;
}

json_t *sim_fault_to_json(const struct sim_fault_rule *r)
{
    json_t *match = json_object();
    if (r->method[0])
        json_object_set_new(match, "method", json_string(r->method));
    if (r->path[0] || r->prefix) {
        char p[sizeof(r->path) + 2];
        snprintf(p, sizeof(p), "%s%s", r->path, r->prefix ? "*" : "");
        json_object_set_new(match, "path", json_string(p));
    }
    json_t *o = json_pack("{s:I,s:o,s:s,s:f,s:I}", "id", (json_int_t)r->id, "match", match,
                          "action", sim_fault_action_name(r->action), "probability", r->probability,
                          "fired", (json_int_t)r->fired);
    if (r->action == SIM_FAULT_STATUS)
        json_object_set_new(o, "status", json_integer(r->status));
    if (r->action == SIM_FAULT_LATENCY || r->action == SIM_FAULT_TIMEOUT)
        json_object_set_new(o, "ms", json_integer(r->ms));
    json_object_set_new(o, "remaining", r->count < 0 ? json_null() : json_integer(r->count));
    return o;
}
