/* SPDX-License-Identifier: Apache-2.0
 *
 * testclock.c: /_test/clock, the handle tests use to move time. These routes
 * are mounted only when the service was started with --fake-clock (see
 * api_routes_new); a production service does not have them at all.
 *
 *   GET  /_test/clock                    -> {"now":"..."}
 *   POST /_test/clock {"advance":"P30D"} -> {"now":"...","advanced_ms":N}
 */
#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "http/json.h"

static json_t *now_json(void)
{
    char now[TIME_RFC3339_MAX];
    time_format_rfc3339(clock_now_ms(), now);
    return json_pack("{s:s}", "now", now);
}

static void clock_get(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)req;
    (void)ctx;
    http_resp_json(resp, 200, now_json());
}

static void clock_post(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    json_t *body;
    char err[JSON_ERR_MAX];
    enum ab_rc rc = json_parse_object(req->arena, req->body, req->body_len, &body, err);
    if (rc) {
        http_resp_error(req, resp, 400, "validation", NULL, err);
        return;
    }
    json_t *adv = json_object_get(body, "advance");
    if (!adv) {
        http_resp_error(req, resp, 422, "validation", "advance",
                        "required: an ISO 8601 duration such as \"P30D\"");
        return;
    }
    if (!json_is_string(adv)) {
        http_resp_error(req, resp, 400, "validation", "advance",
                        "must be a string (ISO 8601 duration)");
        return;
    }
    int64_t ms;
    if (duration_parse_iso8601(json_string_value(adv), &ms)) {
        http_resp_error(req, resp, 422, "validation", "advance",
                        "not an ISO 8601 duration of weeks, days, hours, minutes or seconds (e.g. "
                        "\"P30D\", \"PT1H\")");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v) {
        if (strcmp(key, "advance") != 0) {
            http_resp_error(req, resp, 422, "validation", key, "unknown field");
            return;
        }
    }
    clock_advance_ms(ms);
    log_info(req->correlation_id, "fake clock advanced", LOG_INT("advance_ms", ms));
    json_t *o = now_json();
    json_object_set_new(o, "advanced_ms", json_integer(ms));
    http_resp_json(resp, 200, o);
}

const struct http_route api_test_routes[] = {
    {"GET", "/_test/clock", clock_get, 0, 0},
    {"POST", "/_test/clock", clock_post, 4096, 0},
    {NULL, NULL, NULL, 0, 0},
};
