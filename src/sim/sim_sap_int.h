/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_sap_int.h: internals shared by the files of the `sap_pm` simulator
 * (sim_sap.c: options, Basic auth, sap-client, CSRF sessions, errors,
 * dispatch; sim_sap_entity.c: the entity sets, their JSON in the V2 and V4
 * dialects and the generic list/read/create/update engine; sim_sap_pm.c: PM
 * behaviour (notification actions, measurement documents, confirmations) and
 * seeding; sim_sap_url.c: paths and literals). Not for use outside
 * src/sim/sim_sap*.c. Everything runs under the simulator's lock (sim.h).
 *
 * Entities live in one table, sap_entities(set_name, key, data), data being
 * the entity's set properties as JSON in an internal form: strings as
 * strings, dates and date-times as ms since the epoch, times as ms of the
 * day, booleans as true/false, numbers as numbers. Filters and sorting read
 * json_extract(data, '$.Prop'), compiled by sim_wats_odata.c.
 */
#ifndef AB_SIM_SIM_SAP_INT_H
#define AB_SIM_SIM_SAP_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/result.h"
#include "http/http.h"
#include "sim/sim.h"
#include "sim/sim_sap_url.h"

#define SAP_DAY_MS (24LL * 3600 * 1000)
#define SAP_MAX_DATE_MS 253402214400000LL /* 9999-12-31T00:00:00Z: ValidityEndDate */

/* ---- options (docs/sim/sap_pm.md, "Switches") ---------------------------------------------- */

struct sap_cfg {
    char client[8];           /* sap-client= (default 100) */
    int64_t csrf_ttl_ms;      /* csrf-token-ttl= seconds (default 1800) */
    bool csrf_head_only;      /* csrf-fetch=head: only HEAD <service>/ hands out tokens */
    int64_t v2_page;          /* v2-page-size= (default 1000; 0: no __next) */
    int64_t v4_page;          /* v4-page-size= (default 0: no @odata.nextLink) */
    bool v4_message_object;   /* v4-error-message=object: {lang,value} as the specs say */
    bool v2_json_required;    /* v2-format=json-only: 406 without $format=json / Accept json */
    bool counter_diff_wins;   /* counter-precedence=difference */
    bool counter_decrease_ok; /* counter-decrease=accept */
    bool mdoc_key_required;   /* measurement-document-key=require */
    char final_phase[4];      /* final-confirmation-phase= (default 08) */
};

/* The options of this run (validated at start by sim_sap_configure). */
void sap_cfg_get(const struct sim *s, struct sap_cfg *out /* OUT */);

/* ---- entity sets --------------------------------------------------------------------------- */

enum sap_ftype {
    SF_STR,   /* Edm.String */
    SF_DATE,  /* V2 Edm.DateTime "/Date(ms)/"; V4 Edm.Date "2017-04-13" */
    SF_DTIME, /* V2 Edm.DateTimeOffset "/Date(ms+0000)/"; V4 RFC 3339 */
    SF_TIME,  /* V2 Edm.Time "PT15H51M04S"; V4 Edm.TimeOfDay "15:51:04" */
    SF_BOOL,
    SF_DEC,  /* Edm.Decimal: V2 a string, V4 a number */
    SF_DBL,  /* Edm.Double: V2 a string "1.728E5", V4 a number */
    SF_INT,  /* Edm.Int16/32 */
    SF_MSGS, /* V4 SAP__Messages: always [] */
};

#define SF_KEY 1u /* part of the key */
#define SF_C 2u   /* in the -create schema */
#define SF_U 4u   /* in the -update schema */
#define SF_N 8u   /* nullable */

struct sap_field {
    const char *name;
    enum sap_ftype type;
    int maxlen; /* strings: maxLength (0: none) */
    unsigned flags;
};

struct sap_ctx;

#define SAP_OP_READ 1u
#define SAP_OP_CREATE 2u
#define SAP_OP_UPDATE 4u

struct sap_set {
    const char *name;  /* entity set as in the URL: "Equipment" */
    const char *table; /* stored set (shared by services): "MaintenanceItem" */
    const char *type;  /* V2 __metadata.type after the namespace: "EquipmentType" */
    const struct sap_field *fields;
    size_t n_fields;
    unsigned ops; /* SAP_OP_* */
    /* Optional: complete and check a new entity e (internal form) before it
     * is stored: assign the key, defaults, derived values. False with the
     * answer filled when refused. */
    bool (*create)(struct sap_ctx *c, json_t *e);
    /* Optional: effect counted when an entity was created / updated. */
    const char *created_effect, *updated_effect;
};

struct sap_nav {
    const char *from;       /* set name */
    const char *nav;        /* "to_Schedules" */
    const char *to;         /* target set name (same service) */
    const char *from_field; /* key field of the source */
    const char *to_field;   /* field of the target holding it */
};

struct sap_service {
    const char *name; /* path segment: "API_EQUIPMENT", V4 "api_measuringpoint" */
    bool v4;
    const char *v4_name;               /* V4 "measuringpoint" */
    const char *ns;                    /* V2 namespace for __metadata.type: "API_EQUIPMENT" */
    const char *component;             /* innererror.application.component_id */
    const struct sap_set *const *sets; /* NULL-terminated */
};

/* One request in flight. */
struct sap_ctx {
    struct sim *s;
    struct http_request *req;
    struct http_response *resp;
    struct sap_cfg cfg;
    const struct sap_service *svc;
    const struct sap_set *set;
    struct sap_path path;
};

/* The service catalog (sim_sap_entity.c), NULL-terminated. */
extern const struct sap_service *const sap_services[];
extern const struct sap_nav sap_navs[];

/* The set called name in svc, or NULL. */
const struct sap_set *sap_set_find(const struct sap_service *svc, const char *name);

/* The field called name (exact case), or NULL. */
const struct sap_field *sap_field_find(const struct sap_set *set, const char *name);

/* The canonical stored key of entity e (internal form): key values joined
 * by '|', dates as ms. Arena string. */
const char *sap_key_of(struct arena *a, const struct sap_set *set, json_t *e);

/* The stored key addressed by the URL key predicate, or NULL with a 400/404
 * answered. */
const char *sap_key_from_path(struct sap_ctx *c);

/* Load entity (set table, key): new reference, or NULL when absent. */
json_t *sap_load(struct sim *s, const char *table, const char *key);

/* Store entity e under its key (insert or replace); AB_EINTERNAL on failure. */
enum ab_rc sap_store(struct sim *s, const struct sap_set *set, const char *key,
                     json_t *e) AB_MUST_CHECK;

/* The wire JSON of entity e (internal form) in the request's dialect, with
 * V2 __metadata; select (may be NULL) is the $select list. New reference. */
json_t *sap_entity_out(struct sap_ctx *c, const struct sap_set *set, json_t *e, const char *select);

/* Stamp a written entity of set: LastChangeDateTime (sim_stamp), change and
 * creation dates/times and users where the set has those properties. */
void sap_stamp(struct sap_ctx *c, const struct sap_set *set, json_t *e, bool created);

/* The set called name in any service, or NULL. */
const struct sap_set *sap_set_any(const char *name);

/* Answer entity e as a single entity (status 200 or 201). */
void sap_answer_entity(struct sap_ctx *c, const struct sap_set *set, json_t *e, int status);

/* Convert one wire value (request body) of field f into the internal form:
 * a new reference, or NULL with a reason in err. */
json_t *sap_value_in(const struct sap_ctx *c, const struct sap_field *f, json_t *v, char *err,
                     size_t errlen);

/* GET on c->set: a collection (with an optional navigation filter), or one
 * entity by key. Handles $filter $orderby $top $skip $skiptoken $select
 * $inlinecount/$count and server paging. */
void sap_get(struct sap_ctx *c, const char *nav_field, const char *nav_value);

/* POST (create) and PATCH (update) on c->set. */
void sap_create(struct sap_ctx *c);
void sap_update(struct sap_ctx *c);

/* Answer the SAP error body: V2 {"error":{"code","message":{"lang","value"},
 * "innererror"}}, V4 with a string message unless v4-error-message=object. */
void sap_fail(struct sap_ctx *c, int status, const char *code, const char *fmt, ...)
    AB_PRINTF(4, 5);

/* Add a response header (a full header table answers 500). */
void sap_header(struct sap_ctx *c, const char *name, const char *value);

/* Format ms as YYYY-MM-DD / HH:MM:SS into out (>= 16 bytes). */
void sap_fmt_date(int64_t ms, char *out, size_t n);
void sap_fmt_time(int64_t ms_of_day, char *out, size_t n);

/* ---- sim_sap_pm.c ---------------------------------------------------------------------------- */

bool sap_equipment_create(struct sap_ctx *c, json_t *e);
bool sap_notification_create(struct sap_ctx *c, json_t *e);
bool sap_mdoc_create(struct sap_ctx *c, json_t *e);
bool sap_confirmation_create(struct sap_ctx *c, json_t *e);

/* POST SetMaintNotifToInProcess / CompleteMaintNotification (V2 function
 * imports with query parameters). */
void sap_notif_action(struct sap_ctx *c, bool complete);

/* Fill a new state: n_assets equipment, each with measuring points and
 * readings, a plan with cycle, schedules and an item, and some orders and
 * notifications. */
enum ab_rc sap_seed(struct sim *s, struct sim_prng *rng, unsigned n_assets) AB_MUST_CHECK;

/* Next number of a counter (persisted in sap_counters). */
int64_t sap_next_number(struct sim *s, const char *name, int64_t first);

#endif
