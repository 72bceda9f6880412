/* SPDX-License-Identifier: Apache-2.0
 *
 * conn.c: the connector registry and the names of connector outcomes. The
 * registry lists every `const struct conn_ops` this build knows; connectors
 * (WATS, SAP PM, generic REST, ...) arrive with their own issues and add one
 * line each. Callers find a connector with conn_find(); see conn.h.
 */
#include "conn/conn.h"

#include "conn/conn_generic.h"
#include "conn/conn_sap_pm.h"
#include "conn/conn_wats.h"

#include <string.h>

/* One line per connector, in any order; NULL terminates. */
const struct conn_ops *const conn_registry[] = {
    &conn_generic, /* conn_generic.c: the generic REST provider (docs/sim/generic.md) */
    &conn_wats,    /* conn_wats.c: WATS (docs/connectors/wats.md) */
    &conn_sap_pm,  /* conn_sap_pm.c: SAP S/4HANA PM (docs/connectors/sap-pm.md) */
    NULL,
};

const struct conn_ops *conn_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; conn_registry[i]; i++)
        if (conn_registry[i]->abi == CONN_ABI_V1 && strcmp(conn_registry[i]->name, name) == 0)
            return conn_registry[i];
    return NULL;
}

const char *conn_outcome_name(enum conn_outcome o)
{
    static const char *const names[] = {"ok", "retryable", "permanent", "unknown"};
    return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "invalid";
}

const char *conn_resolution_name(enum conn_resolution r)
{
    static const char *const names[] = {"found", "not_found", "unknown"};
    return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "invalid";
}

const char *conn_check_name(enum conn_check c)
{
    static const char *const names[] = {"skipped", "ok", "failed"};
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : "invalid";
}
