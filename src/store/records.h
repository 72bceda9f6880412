/* SPDX-License-Identifier: Apache-2.0
 *
 * records.h: the idempotent upsert of records that come from a provider.
 *
 * Every record a connector pulls is keyed by (tenant, provider, entity,
 * native id) and carries its canonical JSON, and where the provider gives
 * them a revision number and a last-modified time. The store keeps the last
 * version it took per key (source_records) and:
 *   - an identical document (same content digest) changes nothing and emits
 *     nothing (only the time it was last seen moves);
 *   - a revision or last-modified older than the stored one is a conflict:
 *     refused, recorded in the sync log and the audit, nothing changed;
 *     without either, pull order and the digest decide, and equal times with
 *     different content count as an update;
 *   - an asset record goes through the identity map: its link, else its
 *     serial number, else a new asset (asset_ref = the serial number when
 *     that is free and valid, otherwise a ULID). A native id that would map
 *     to two assets, or a serial number that collides, becomes a mapping
 *     exception that holds the whole change for a person: never a merge;
 *   - other entities are kept as canonical objects (objects table) whose
 *     asset reference is resolved through the provider's links;
 *   - a record the connector could not map fully (mapping_exception set,
 *     e.g. a status with no common status) is held as a mapping exception
 *     (reason unmapped_value), never stored with a guessed value.
 * The change, its events and its audit record commit together.
 */
#ifndef AB_STORE_RECORDS_H
#define AB_STORE_RECORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "store/journal.h"
#include "store/store.h"

struct store_record {
    const char *tenant;
    const char *provider; /* provider id (config name) */
    const char *entity;   /* "asset", "calibration", "maintenance_plan", "work_order", ... */
    const char *native_id;
    const json_t *doc;             /* canonical JSON of the entity */
    int64_t source_revision;       /* INT64_MIN when the provider gives none */
    int64_t source_modified_at;    /* ms; INT64_MIN when none */
    const char *mapping_exception; /* NULL, or why the connector could not map the record
                                      fully (an unmapped status): it is then held */
};

enum store_upsert_outcome {
    STORE_UPSERT_CREATED,
    STORE_UPSERT_UPDATED,
    STORE_UPSERT_UNCHANGED,
    STORE_UPSERT_CONFLICT,  /* stale: refused and recorded */
    STORE_UPSERT_EXCEPTION, /* held as a mapping exception */
};

const char *store_upsert_outcome_name(enum store_upsert_outcome o);

struct store_upsert_result {
    enum store_upsert_outcome outcome;
    const char *subject;      /* asset_ref or object id (arena) */
    const char *exception_id; /* STORE_UPSERT_EXCEPTION */
    char message[200];        /* why, for conflicts and exceptions */
};

/* Upsert one record in the running write job. Strings in res live in a.
 * Returns AB_OK for every outcome above; AB_EINVAL when the document is not a
 * valid canonical entity (message says which field); storage failures. */
enum ab_rc store_record_upsert(struct store_tx *tx, const struct store_record *rec, struct arena *a,
                               struct store_upsert_result *res /* OUT */) AB_MUST_CHECK;

/* Mark every record of (provider, entity) not seen since `since` as
 * missing_at_source (event asset.missing_at_source for assets, and an audit
 * record); never deletes. *marked gets the count. */
enum ab_rc store_records_mark_missing(struct store_tx *tx, const char *tenant, const char *provider,
                                      const char *entity, int64_t since,
                                      int64_t *marked /* OUT */) AB_MUST_CHECK;

enum store_resolve_action { STORE_RESOLVE_LINK, STORE_RESOLVE_CREATE, STORE_RESOLVE_IGNORE };

/* Resolve an open mapping exception: link the held record's native id to
 * target (LINK), create a new asset for it (CREATE; target may name the new
 * asset_ref, else one is chosen), or drop it (IGNORE). LINK and CREATE then
 * apply the held change. AB_ENOTFOUND for an unknown id, AB_ECONFLICT when it
 * is not open or the link conflicts. Audited by actor. */
enum ab_rc store_mapping_exception_resolve(struct store_tx *tx, const char *tenant, const char *id,
                                           enum store_resolve_action action, const char *target,
                                           const char *actor, struct arena *a,
                                           struct store_upsert_result *res /* OUT */) AB_MUST_CHECK;

#endif
