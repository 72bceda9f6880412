/* SPDX-License-Identifier: Apache-2.0
 *
 * event.h: domain events (asset.created, meter.reading, work_order.closed,
 * ...) as stored per tenant with a sequence number and delivered through
 * webhooks, /v1/events and MQTT. Types are strings: the table below lists the
 * known ones, but any syntactically valid type is accepted so that later
 * features can add types without touching this layer.
 */
#ifndef AB_MODEL_EVENT_H
#define AB_MODEL_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"
#include "model/model.h"

#define MODEL_EVENT_TYPE_MAX 64  /* bytes of an event type */
#define MODEL_SUBJECT_MAX 256    /* bytes of a subject */
#define MODEL_CORRELATION_MAX 64 /* bytes of a correlation id */

/* True when s is in the table of known event types. Thread-safe. */
bool model_event_type_known(const char *s);

/* True when s has event-type syntax: two or more dot-separated segments of
 * [a-z0-9_], each starting with a letter, 1..MODEL_EVENT_TYPE_MAX bytes
 * ("calibration.overdue"). Thread-safe. */
bool model_event_type_valid(const char *s);

/* The known types (NULL past the end), in table order. */
const char *model_event_type_at(size_t i);

struct model_event {
    const char *tenant;         /* required, identifier syntax */
    int64_t seq;                /* per-tenant sequence, > 0; 0 until the store assigns it */
    const char *type;           /* required, model_event_type_valid() */
    const char *subject;        /* required, "kind/id" ("asset/FX-1001") */
    json_t *payload;            /* object or NULL; one reference held by the arena */
    const char *correlation_id; /* printable ASCII */
    int64_t occurred_at;        /* required */
};

/* Parse and validate an event (strict). Errors as model_asset_from_json.
 * Thread-safe on distinct arenas. */
enum ab_rc model_event_from_json(struct arena *a, const json_t *in,
                                 struct model_event *out /* OUT */,
                                 struct model_error *err /* OUT */) AB_MUST_CHECK;

/* New JSON object for in (caller owns it); a NULL payload is written as {}. */
json_t *model_event_to_json(const struct model_event *in);

#endif
