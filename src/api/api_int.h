/* SPDX-License-Identifier: Apache-2.0
 *
 * api_int.h: what the API modules share inside src/api: each module's route
 * table, assembled by routes.c.
 */
#ifndef AB_API_API_INT_H
#define AB_API_API_INT_H

#include <stddef.h>

#include "http/http.h"

extern const struct http_route api_ops_routes[]; /* ops.c: /healthz */
extern const size_t api_ops_routes_n;
extern const struct http_route api_test_routes[]; /* testclock.c: /_test/clock */
extern const size_t api_test_routes_n;

#endif
