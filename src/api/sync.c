/* SPDX-License-Identifier: Apache-2.0
 *
 * sync.c: the /v1 routes of the sync engine (being written; see api_int.h).
 */
#include "api/api_int.h"

const struct http_route api_sync_routes[] = {
    {NULL, NULL, NULL, 0, 0},
};
