/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_generic.h: the connector for the `generic` provider (the REST/JSON
 * EAM API of docs/sim/generic.md) and the pure mapping functions behind it,
 * exported so unit tests and tools can check the tables without a network.
 * The mappings are documented in docs/connectors/generic.md. Everything here
 * is thread-safe (the tables are constant).
 */
#ifndef AB_CONN_CONN_GENERIC_H
#define AB_CONN_CONN_GENERIC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn/conn.h"
#include "core/arena.h"
#include "core/result.h"

/* The connector (registered in conn_registry[] as "generic"). */
extern const struct conn_ops conn_generic;

/* Largest page the connector asks for (the contract allows 1..200). */
#define CONN_GENERIC_PAGE_SIZE 200

/* Native asset type -> canonical type name ("station", "fixture",
 * "instrument", "tool", "other"). Returns true when the table maps the type;
 * false (and *canonical = "other") for an unknown or NULL type. */
bool conn_generic_asset_type(const char *native, const char **canonical /* OUT */);

/* Native work-order status -> common status name. AB_ENOTFOUND (and
 * *common = NULL) when the status has no mapping: a mapping exception, never
 * a default. */
enum ab_rc conn_generic_wo_status_to_common(const char *native,
                                            const char **common /* OUT */) AB_MUST_CHECK;

/* Common status name -> native status. AB_ENOTFOUND (*native = NULL) for a
 * common status the provider cannot represent (draft, assigned, closed). */
enum ab_rc conn_generic_wo_status_to_native(const char *common,
                                            const char **native /* OUT */) AB_MUST_CHECK;

/* The outcome of a provider answer with HTTP status `status` (a 2xx is
 * CONN_OK). error_code is the body's "error" member or NULL; retry_after the
 * Retry-After header or NULL; now_ms the time to resolve an HTTP date
 * against. Sets out->outcome, out->error_class, out->retry_after_ms (-1 when
 * none) and a constant out->message; other fields are left alone. */
void conn_generic_http_outcome(int status, const char *error_code, const char *retry_after,
                               int64_t now_ms, struct conn_result *out /* OUT */);

/* The outcome of a transport failure rc of the HTTP client (not AB_OK);
 * sent says whether the request had gone out. Sets outcome, error_class and
 * a constant message. */
void conn_generic_transport_outcome(enum ab_rc rc, bool sent, struct conn_result *out /* OUT */);

/* Translate one native record of entity ("asset", "meter",
 * "maintenance_plan", "work_order") to a canonical record: native_id,
 * revision (the contract's version, -1 without one), modified_at (from
 * updated_at), doc (owned by a) and mapping_exception (arena string) when a
 * value has no mapping. AB_EINVAL when in is not a record of that entity (no
 * id); AB_EUNSUPPORTED for another entity. */
enum ab_rc conn_generic_record(const char *entity, const json_t *in, struct arena *a,
                               struct conn_record *out /* OUT */) AB_MUST_CHECK;

#endif
