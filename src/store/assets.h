/* SPDX-License-Identifier: Apache-2.0
 *
 * assets.h: canonical assets and the identity map in the store.
 *
 * An asset is stored as its canonical JSON document plus indexed columns
 * (site, serial number, type, status, parent), a content digest and a
 * revision that grows by one on every change (the API's ETag). The identity
 * map links (provider, native id) pairs to assets; a reference resolves
 * against asset_ref, then serial numbers, then `provider:native_id`.
 *
 * Writes take a struct store_tx and emit their events and audit records in
 * the same transaction. An identical document is a no-op: no revision, no
 * event, no audit.
 */
#ifndef AB_STORE_ASSETS_H
#define AB_STORE_ASSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/asset.h"
#include "store/store.h"

#define STORE_DIGEST_LEN 64

struct store_asset_row {
    struct model_asset asset;
    int64_t revision;
    char digest[STORE_DIGEST_LEN + 1];
};

/* Read one asset by its exact asset_ref. AB_ENOTFOUND when absent. */
enum ab_rc store_asset_get(struct store_read *r, const char *tenant, const char *asset_ref,
                           struct arena *a, struct store_asset_row *out /* OUT */) AB_MUST_CHECK;
enum ab_rc store_asset_get_tx(struct store_tx *tx, const char *tenant, const char *asset_ref,
                              struct arena *a, struct store_asset_row *out /* OUT */) AB_MUST_CHECK;

struct store_put_result {
    bool created;
    bool changed; /* false: identical content, nothing written */
    int64_t revision;
    char digest[STORE_DIGEST_LEN + 1];
    char field[32];    /* on failure: the field at fault */
    char message[200]; /* on failure: why */
};

/* Create or replace asset (complete, already merged by the caller; its
 * tenant field is ignored in favour of tenant). if_revision > 0 requires the
 * stored revision to equal it (AB_ECONFLICT otherwise, also when the asset
 * does not exist). A serial number used by another asset of the tenant, an
 * unknown parent or a parent cycle are refused (AB_ECONFLICT / AB_EINVAL)
 * with field and message set. Emits asset.created, or asset.updated plus
 * asset.moved (site, line, cell or parent changed) and asset.retired (status
 * became retired or scrapped), and an audit record by actor. */
enum ab_rc store_asset_put(struct store_tx *tx, const char *tenant, const struct model_asset *asset,
                           int64_t if_revision, unsigned flags, const char *actor,
                           struct store_put_result *res /* OUT */) AB_MUST_CHECK;

/* flags of store_asset_put: STORE_PUT_SHARED_SERIAL allows a serial number
 * another asset has (a person decided so); STORE_PUT_MUST_CREATE refuses to
 * replace an existing asset (AB_ECONFLICT). */
#define STORE_PUT_SHARED_SERIAL 1u
#define STORE_PUT_MUST_CREATE 2u

struct store_asset_filter {
    const char *site, *type, *status; /* NULL: any */
    const char *provider;             /* linked to this provider */
    int64_t calibration_due_before;   /* INT64_MIN: any */
    const char *after;                /* cursor: asset_ref to continue after */
    size_t limit;
};

/* Assets in asset_ref order matching the filter. */
enum ab_rc store_assets_list(struct store_read *r, const char *tenant,
                             const struct store_asset_filter *f, struct arena *a,
                             struct store_asset_row **out /* OUT */,
                             size_t *n /* OUT */) AB_MUST_CHECK;

/* Resolve a reference (asset_ref, serial number, provider:native_id).
 * *asset_ref gets the asset; AB_EIDENTITY when none or several match, with
 * the candidates (up to 8) in candidates/n_candidates. */
enum ab_rc store_asset_resolve(struct store_read *r, const char *tenant, const char *reference,
                               struct arena *a, const char **asset_ref /* OUT */,
                               const char ***candidates /* OUT */,
                               size_t *n_candidates /* OUT */) AB_MUST_CHECK;

struct store_link {
    const char *provider;
    const char *native_id;
    const char *asset_ref;
    int64_t linked_at;
};

/* Link (provider, native_id) to asset_ref. Linking a pair already linked to
 * the same asset is a no-op; to another asset it is AB_ECONFLICT (an
 * identity conflict, never a silent re-link). AB_ENOTFOUND for an unknown
 * asset. Audited. */
enum ab_rc store_link_add(struct store_tx *tx, const char *tenant, const char *provider,
                          const char *native_id, const char *asset_ref,
                          const char *actor) AB_MUST_CHECK;

/* Remove a link of asset_ref; AB_ENOTFOUND when there is none. Audited. */
enum ab_rc store_link_remove(struct store_tx *tx, const char *tenant, const char *provider,
                             const char *native_id, const char *asset_ref,
                             const char *actor) AB_MUST_CHECK;

/* The links of an asset, by provider. */
enum ab_rc store_links_list(struct store_read *r, const char *tenant, const char *asset_ref,
                            struct arena *a, struct store_link **out /* OUT */,
                            size_t *n /* OUT */) AB_MUST_CHECK;

/* The asset linked to (provider, native_id); AB_ENOTFOUND when unlinked. */
enum ab_rc store_link_lookup(struct store_read *r, const char *tenant, const char *provider,
                             const char *native_id, struct arena *a,
                             const char **asset_ref /* OUT */) AB_MUST_CHECK;

/* The link of (provider, native_id) inside a write job (to tell a new link
 * from an existing one); AB_ENOTFOUND when unlinked. Strings live in a. */
enum ab_rc store_link_get_tx(struct store_tx *tx, const char *tenant, const char *provider,
                             const char *native_id, struct arena *a,
                             struct store_link *out /* OUT */) AB_MUST_CHECK;

/* ---- objects of an asset (calibration, plans, work orders) ---------------- */

#define STORE_OBJECTS_BY_ASSET_MAX 1000

/* A canonical object as the objects table keeps it. */
struct store_asset_object {
    const char *kind; /* "calibration", "maintenance_plan", "work_order", ... */
    const char *id;
    const char *asset_ref;
    const char *status; /* NULL when the object has none */
    int64_t due_at;     /* INT64_MIN when none */
    const char *doc;    /* canonical JSON text */
    int64_t revision;
    int64_t created_at, updated_at;
};

/* The objects of kind that refer to asset_ref, most recently updated first,
 * at most STORE_OBJECTS_BY_ASSET_MAX. Strings live in a; *n may be 0. */
enum ab_rc store_objects_by_asset(struct store_read *r, const char *tenant, const char *asset_ref,
                                  const char *kind, struct arena *a,
                                  struct store_asset_object **out /* OUT */,
                                  size_t *n /* OUT */) AB_MUST_CHECK;

#endif
