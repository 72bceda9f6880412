/* SPDX-License-Identifier: Apache-2.0
 *
 * auth.h: API keys and scopes.
 *
 * A key is 256 random bits, written "abk_" + 64 hex digits, sent as
 * `Authorization: Bearer <key>`. Only its SHA-256 is stored. Scopes:
 *   read    read everything of the key's tenant
 *   ingest  post readings (the key a test station gets)
 *   write   read, ingest and change things
 *   admin   everything, including keys, webhooks and replays
 * Validated keys are cached for API_KEY_CACHE_MS, so a revocation takes
 * effect within that time on a running service. Thread-safe.
 */
#ifndef AB_API_AUTH_H
#define AB_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/result.h"
#include "store/store.h"

#define API_KEY_PREFIX "abk_"
#define API_KEY_LEN (4 + 64)
#define API_KEY_CACHE_MS 5000

enum api_scope {
    SCOPE_NONE = 0, /* no key needed */
    SCOPE_READ = 1u << 0,
    SCOPE_INGEST = 1u << 1,
    SCOPE_WRITE = 1u << 2,
    SCOPE_ADMIN = 1u << 3,
};

/* Parse "read,ingest" into a mask of the scopes as written; false (and
 * *bad = the offending word) when a word is not a scope or the list is empty. */
bool api_scopes_parse(const char *s, unsigned *out /* OUT */, char *bad, size_t badlen);

/* The scopes a key with `granted` effectively has (admin implies all;
 * write implies read and ingest). */
unsigned api_scopes_effective(unsigned granted);

/* "read,ingest,..." for a mask, in a fixed order. */
void api_scopes_format(unsigned mask, char *out, size_t outlen);

/* The name of the single scope a route requires ("read", ...). */
const char *api_scope_name(unsigned scope);

/* Make a new key: *key gets "abk_..." (API_KEY_LEN + 1 bytes), hash the hex
 * SHA-256 of it (65 bytes). */
void api_key_generate(char key[API_KEY_LEN + 1], char hash[65]);

/* Hex SHA-256 of a key as presented. */
void api_key_hash(const char *key, char hash[65]);

struct api_principal {
    char tenant[65];
    char key_id[27];
    unsigned scopes; /* effective */
};

/* Authenticate an Authorization header value. AB_OK fills p; AB_EAUTH with
 * a reason in why (missing, malformed, unknown, revoked) otherwise; storage
 * failures pass through. */
enum ab_rc api_authenticate(struct store *s, const char *authorization,
                            struct api_principal *p /* OUT */, char *why,
                            size_t whylen) AB_MUST_CHECK;

/* Forget cached keys (tests, and after a revocation in this process). */
void api_auth_cache_clear(void);

#endif
