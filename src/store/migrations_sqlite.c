/* SPDX-License-Identifier: Apache-2.0
 *
 * migrations_sqlite.c: the SQLite schema, as an ordered list of migrations.
 * Entry i (a NULL-terminated list of statements) brings a database from
 * version i to i + 1 (PRAGMA user_version);
 * store.c applies the missing ones in one transaction at open and refuses a
 * database newer than the list. Never edit a released entry: append one.
 * docs/internals/store.md explains each table.
 *
 * Conventions: times are INTEGER milliseconds since the Unix epoch (UTC);
 * JSON documents are TEXT; every table is STRICT; tables keyed by natural
 * keys are WITHOUT ROWID.
 */
#include <stddef.h>

#include "store/store_int.h"

/* 0 -> 1: the canonical model, identity map, readings, events, outbox, audit,
 * mapping exceptions, sync state */
static const char *const v1[] = {
    /* counters that never go back (reading ids) */
    "CREATE TABLE counters ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) STRICT, WITHOUT ROWID",
    "INSERT INTO counters(name, value) VALUES ('reading_id', 1)",
    "CREATE TABLE tenants ("
    "  tenant TEXT PRIMARY KEY,"
    "  next_event_seq INTEGER NOT NULL DEFAULT 1,"
    "  created_at INTEGER NOT NULL) STRICT, WITHOUT ROWID",
    "CREATE TABLE assets ("
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  asset_ref TEXT NOT NULL,"
    "  site TEXT,"
    "  serial_number TEXT,"
    "  type TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  parent_ref TEXT,"
    "  doc TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, asset_ref)) STRICT, WITHOUT ROWID",
    "CREATE INDEX assets_serial ON assets(tenant, serial_number)",
    "CREATE INDEX assets_site ON assets(tenant, site, asset_ref)",
    "CREATE TABLE asset_links ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  native_id TEXT NOT NULL,"
    "  asset_ref TEXT NOT NULL,"
    "  linked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, provider, native_id),"
    "  FOREIGN KEY (tenant, asset_ref) REFERENCES assets(tenant, asset_ref)) STRICT, WITHOUT ROWID",
    "CREATE INDEX asset_links_ref ON asset_links(tenant, asset_ref)",
    "CREATE TABLE objects ("
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  kind TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  asset_ref TEXT,"
    "  status TEXT,"
    "  due_at INTEGER,"
    "  doc TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  revision INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, kind, id)) STRICT, WITHOUT ROWID",
    "CREATE INDEX objects_asset ON objects(tenant, asset_ref, kind)",
    "CREATE INDEX objects_due ON objects(tenant, kind, due_at)",
    "CREATE TABLE source_records ("
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  provider TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  native_id TEXT NOT NULL,"
    "  subject TEXT,"
    "  doc TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  source_revision INTEGER,"
    "  source_modified_at INTEGER,"
    "  sync_state TEXT NOT NULL,"
    "  last_synced_at INTEGER,"
    "  missing_at_source INTEGER NOT NULL DEFAULT 0,"
    "  seen_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, provider, entity, native_id)) STRICT, WITHOUT ROWID",
    "CREATE TABLE meters ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  asset_ref TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  unit TEXT,"
    "  kind TEXT NOT NULL,"
    "  value REAL NOT NULL DEFAULT 0,"
    "  last_read_at INTEGER,"
    "  last_source TEXT,"
    "  reading_count INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant, asset_ref, type),"
    "  FOREIGN KEY (tenant, asset_ref) REFERENCES assets(tenant, asset_ref)) STRICT",
    "CREATE TABLE readings ("
    "  id INTEGER PRIMARY KEY,"
    "  meter_id INTEGER NOT NULL REFERENCES meters(id),"
    "  read_at INTEGER NOT NULL,"
    "  amount REAL NOT NULL,"
    "  is_increment INTEGER NOT NULL,"
    "  total REAL NOT NULL,"
    "  source INTEGER NOT NULL,"
    "  flags INTEGER NOT NULL DEFAULT 0,"
    "  ingested_at INTEGER NOT NULL) STRICT",
    "CREATE INDEX readings_meter_time ON readings(meter_id, read_at)",
    /* rows in arrival (rowid) order, so retention prunes from the front
     * without an index on created_at */
    "CREATE TABLE idempotency_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  reading_id INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (tenant, key)) STRICT",
    "CREATE TABLE events ("
    "  tenant TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  occurred_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, seq)) STRICT, WITHOUT ROWID",
    "CREATE INDEX events_time ON events(occurred_at)",
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT,"
    "  payload TEXT NOT NULL,"
    "  idempotency_key TEXT NOT NULL,"
    "  coalesce_key TEXT,"
    "  state TEXT NOT NULL,"
    "  priority INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  lease_until INTEGER,"
    "  last_error TEXT,"
    "  correlation_id TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  UNIQUE (tenant, idempotency_key)) STRICT",
    "CREATE INDEX outbox_ready ON outbox(state, priority, next_attempt_at)",
    "CREATE INDEX outbox_done ON outbox(state, updated_at)",
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  before_digest TEXT,"
    "  after_digest TEXT,"
    "  correlation_id TEXT,"
    "  detail TEXT,"
    "  at INTEGER NOT NULL) STRICT",
    "CREATE INDEX audit_subject ON audit(tenant, subject, at)",
    "CREATE INDEX audit_correlation ON audit(tenant, correlation_id)",
    "CREATE INDEX audit_actor ON audit(tenant, actor, at)",
    "CREATE TABLE mapping_exceptions ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  native_id TEXT,"
    "  reason TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  candidates TEXT NOT NULL,"
    "  change TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  resolution TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  resolved_at INTEGER) STRICT",
    "CREATE INDEX mapping_exceptions_open ON mapping_exceptions(tenant, state, created_at)",
    "CREATE TABLE sync_state ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  watermark TEXT,"
    "  page_token TEXT,"
    "  last_success_at INTEGER,"
    "  last_error TEXT,"
    "  last_error_at INTEGER,"
    "  pulled INTEGER NOT NULL DEFAULT 0,"
    "  pushed INTEGER NOT NULL DEFAULT 0,"
    "  failed INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (tenant, provider, entity)) STRICT, WITHOUT ROWID",
    "CREATE TABLE sync_log ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  native_id TEXT,"
    "  level TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  at INTEGER NOT NULL) STRICT",
    "CREATE INDEX sync_log_time ON sync_log(tenant, at)",
    "CREATE TABLE status_maps ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  source_value TEXT NOT NULL,"
    "  common_value TEXT NOT NULL,"
    "  PRIMARY KEY (tenant, provider, kind, source_value)) STRICT, WITHOUT ROWID",
    "CREATE TABLE attachments ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  owner_kind TEXT NOT NULL,"
    "  owner_id TEXT NOT NULL,"
    "  file_name TEXT NOT NULL,"
    "  media_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  content BLOB,"
    "  path TEXT,"
    "  provider_ref TEXT,"
    "  created_at INTEGER NOT NULL) STRICT",
    "CREATE INDEX attachments_owner ON attachments(tenant, owner_kind, owner_id)",
    NULL,
};

/* 1 -> 2: API keys (hashed) and webhook subscriptions */
static const char *const v2[] = {
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  name TEXT,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  scopes TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER) STRICT",
    "CREATE INDEX api_keys_tenant ON api_keys(tenant, created_at)",
    "CREATE TABLE webhook_subscriptions ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  url TEXT NOT NULL,"
    "  event_types TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL) STRICT",
    "CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions(tenant, created_at)",
    NULL,
};

/* 2 -> 3: the outbox lifecycle of the sync engine: dead-letter details
 * (error class, the provider's scrubbed response, the owner's action, when
 * it died), a claim index per provider, and the last usage total each
 * provider acknowledged per meter (usage coalescing) */
static const char *const v3[] = {
    "ALTER TABLE outbox ADD COLUMN last_response TEXT",
    "ALTER TABLE outbox ADD COLUMN owner_action TEXT",
    "ALTER TABLE outbox ADD COLUMN dead_at INTEGER",
    "ALTER TABLE outbox ADD COLUMN error_class TEXT",
    "CREATE INDEX outbox_claim ON outbox(tenant, provider, state, priority, id)",
    "CREATE INDEX outbox_coalesce ON outbox(tenant, provider, coalesce_key, state)"
    " WHERE coalesce_key IS NOT NULL",
    "CREATE TABLE usage_acks ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  meter_key TEXT NOT NULL,"
    "  total REAL NOT NULL,"
    "  acked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, provider, meter_key)) STRICT, WITHOUT ROWID",
    NULL,
};

/* 3 -> 4: jobs (sync and reconcile runs started through the API or the
 * reconcile schedule: state, progress, result) and job_seen, the scratch set
 * of native ids a running reconciliation has seen at the provider (cleared
 * when it ends), so that finding the hub's extra records needs no memory per
 * record */
static const char *const v4[] = {
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL REFERENCES tenants(tenant),"
    "  kind TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  entity TEXT,"
    "  params TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  pages INTEGER NOT NULL DEFAULT 0,"
    "  records INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER,"
    "  result TEXT,"
    "  error TEXT,"
    "  created_by TEXT,"
    "  correlation_id TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  updated_at INTEGER NOT NULL) STRICT",
    "CREATE INDEX jobs_tenant ON jobs(tenant, id)",
    "CREATE INDEX jobs_state ON jobs(state, id)",
    "CREATE INDEX jobs_last ON jobs(tenant, provider, entity, kind, id)",
    "CREATE TABLE job_seen ("
    "  job_id TEXT NOT NULL,"
    "  native_id TEXT NOT NULL,"
    "  PRIMARY KEY (job_id, native_id)) STRICT, WITHOUT ROWID",
    NULL,
};

/* 4 -> 5: the waiting and in-flight items of a subject in id order, so that
 * a claim (with several workers per provider) never takes an item while an
 * earlier one of the same subject is still pending or in flight */
static const char *const v5[] = {
    "CREATE INDEX outbox_subject ON outbox(tenant, provider, subject, id)"
    " WHERE state IN ('pending', 'in_flight')",
    NULL,
};

/* 5 -> 6: usage baselines: per (provider, native id, hub meter), the
 * provider's own total when the hub linked the asset minus the hub meter's
 * value then, so the provider is sent baseline + the hub's total (usage.c,
 * baselines.c) */
static const char *const v6[] = {
    "CREATE TABLE usage_baselines ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  native_id TEXT NOT NULL,"
    "  meter TEXT NOT NULL,"
    "  asset_ref TEXT NOT NULL,"
    "  provider_total REAL NOT NULL,"
    "  hub_value REAL NOT NULL,"
    "  baseline REAL NOT NULL,"
    "  captured_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, provider, native_id, meter)) STRICT, WITHOUT ROWID",
    NULL,
};

/* 6 -> 7: a pulled asset whose parent (named by the provider's native id)
 * the hub does not know yet waits here; the link that brings the parent in
 * sets the child's parent */
static const char *const v7[] = {
    "CREATE TABLE pending_parents ("
    "  tenant TEXT NOT NULL,"
    "  provider TEXT NOT NULL,"
    "  parent_native_id TEXT NOT NULL,"
    "  child_ref TEXT NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, provider, parent_native_id, child_ref)) STRICT, WITHOUT ROWID",
    "CREATE INDEX pending_parents_child ON pending_parents(tenant, child_ref)",
    NULL,
};

/* 7 -> 8: the rules engine's state (src/rules, store/rules.h): per (kind,
 * subject, rule id) the occurrence being watched (a due date, a reading),
 * the state reached in it (events are emitted on entering a state, once)
 * and the idempotency key of the request opened for it */
static const char *const v8[] = {
    "CREATE TABLE rule_state ("
    "  tenant TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  rule_id TEXT NOT NULL,"
    "  occurrence TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  request_key TEXT,"
    "  detail TEXT,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, kind, subject, rule_id)) STRICT, WITHOUT ROWID",
    "CREATE INDEX objects_updated ON objects(tenant, kind, updated_at)",
    "CREATE INDEX meters_updated ON meters(tenant, updated_at)",
    NULL,
};

/* 8 -> 9: calibration interval suggestions (src/rules/suggest.c,
 * store/suggestions.h): the as-found history of each asset's calibrations as
 * the rules engine saw them (one row per asset, performed_at and source),
 * and the suggestions made from it; at most one open suggestion per asset
 * and kind */
static const char *const v9[] = {
    "CREATE TABLE calibration_history ("
    "  tenant TEXT NOT NULL,"
    "  asset_ref TEXT NOT NULL,"
    "  performed_at INTEGER NOT NULL,"
    "  source TEXT NOT NULL,"
    "  as_found TEXT NOT NULL,"
    "  recorded_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, asset_ref, performed_at, source)) STRICT, WITHOUT ROWID",
    "CREATE TABLE suggestions ("
    "  tenant TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  asset_ref TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  current_days INTEGER NOT NULL,"
    "  suggested_days INTEGER NOT NULL,"
    "  direction TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  evidence TEXT,"
    "  basis_at INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  decided_at INTEGER,"
    "  decided_by TEXT,"
    "  PRIMARY KEY (tenant, id)) STRICT, WITHOUT ROWID",
    "CREATE UNIQUE INDEX suggestions_open ON suggestions(tenant, asset_ref, kind)"
    " WHERE state = 'open'",
    "CREATE INDEX suggestions_state ON suggestions(tenant, state, id)",
    "CREATE INDEX suggestions_asset ON suggestions(tenant, asset_ref, kind, state)",
    NULL,
};

/* 9 -> 10: the closed loop (src/rules/loop.c): the provider's id of what a
 * delivered item created (an SAP notification opened for a rule), and when
 * the request a rule_state row opened was closed (NULL: still open); the
 * partial index finds the open requests the rules engine watches */
static const char *const v10[] = {
    "ALTER TABLE outbox ADD COLUMN result_native_id TEXT",
    "ALTER TABLE rule_state ADD COLUMN request_closed_at INTEGER",
    "CREATE INDEX rule_state_open_requests ON rule_state(tenant, kind, subject, rule_id)"
    " WHERE request_key IS NOT NULL AND request_closed_at IS NULL",
    NULL,
};

const char *const *const store_sqlite_migrations[] = {v1, v2, v3, v4, v5, v6, v7, v8, v9, v10};

const int store_sqlite_n_migrations =
    (int)(sizeof(store_sqlite_migrations) / sizeof(store_sqlite_migrations[0]));
