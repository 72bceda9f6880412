/* SPDX-License-Identifier: Apache-2.0
 *
 * auth.c: API keys, scopes and the validated-key cache. See auth.h.
 */
#include "api/auth.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/str.h"
#include "store/apikeys.h"

static const struct {
    const char *name;
    unsigned bit;
} scope_names[] = {
    {"read", SCOPE_READ},
    {"ingest", SCOPE_INGEST},
    {"write", SCOPE_WRITE},
    {"admin", SCOPE_ADMIN},
};

bool api_scopes_parse(const char *s, unsigned *out, char *bad, size_t badlen)
{
    unsigned mask = 0;
    const char *p = s;
    bad[0] = '\0';
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++) {
            if (strlen(scope_names[i].name) == len && memcmp(scope_names[i].name, p, len) == 0) {
                mask |= scope_names[i].bit;
                found = true;
            }
        }
        if (!found) {
            snprintf(bad, badlen, "%.*s", (int)(len < 40 ? len : 40), p);
            return false;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *out = mask;
    return mask != 0;
}

unsigned api_scopes_effective(unsigned granted)
{
    unsigned m = granted;
    if (m & SCOPE_ADMIN)
        m |= SCOPE_READ | SCOPE_INGEST | SCOPE_WRITE;
    if (m & SCOPE_WRITE)
        m |= SCOPE_READ | SCOPE_INGEST;
    return m;
}

void api_scopes_format(unsigned mask, char *out, size_t outlen)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++) {
        if (!(mask & scope_names[i].bit))
            continue;
        int w = snprintf(out + n, outlen - n, "%s%s", n ? "," : "", scope_names[i].name);
        if (w < 0 || (size_t)w >= outlen - n)
            break;
        n += (size_t)w;
    }
}

const char *api_scope_name(unsigned scope)
{
    for (size_t i = 0; i < sizeof(scope_names) / sizeof(scope_names[0]); i++)
        if (scope_names[i].bit == scope)
            return scope_names[i].name;
    return "none";
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

void api_key_hash(const char *key, char hash[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL);
    hex(md, 32, hash);
}

void api_key_generate(char key[API_KEY_LEN + 1], char hash[65])
{
    unsigned char raw[32];
    id_random_bytes(raw, sizeof(raw));
    hex(raw, sizeof(raw), key + 4); /* terminates the key */
    for (size_t i = 0; i < sizeof(API_KEY_PREFIX) - 1; i++)
        key[i] = API_KEY_PREFIX[i];
    api_key_hash(key, hash);
}

/* ---- the cache ------------------------------------------------------------ */

#define CACHE_SLOTS 256

struct cache_entry {
    char hash[65];
    struct api_principal p;
    int64_t expires;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry cache[CACHE_SLOTS];

static size_t slot_of(const char *hash)
{
    size_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 16 + (size_t)(hash[i] <= '9' ? hash[i] - '0' : hash[i] - 'a' + 10);
    return h % CACHE_SLOTS;
}

void api_auth_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    memset(cache, 0, sizeof(cache));
    pthread_mutex_unlock(&cache_lock);
}

enum ab_rc api_authenticate(struct store *s, const char *authorization, struct api_principal *p,
                            char *why, size_t whylen)
{
    if (!authorization) {
        snprintf(why, whylen,
                 "missing Authorization header (use: Authorization: Bearer <API key>)");
        return AB_EAUTH;
    }
    if (strncmp(authorization, "Bearer ", 7) != 0) {
        snprintf(why, whylen, "the Authorization header must be 'Bearer <API key>'");
        return AB_EAUTH;
    }
    const char *key = authorization + 7;
    while (*key == ' ')
        key++;
    if (strlen(key) != API_KEY_LEN || strncmp(key, API_KEY_PREFIX, 4) != 0) {
        snprintf(why, whylen, "malformed API key");
        return AB_EAUTH;
    }
    char hash[65];
    api_key_hash(key, hash);
    int64_t now = clock_mono_ms();
    size_t slot = slot_of(hash);
    pthread_mutex_lock(&cache_lock);
    if (strcmp(cache[slot].hash, hash) == 0 && cache[slot].expires > now) {
        *p = cache[slot].p;
        pthread_mutex_unlock(&cache_lock);
        return AB_OK;
    }
    pthread_mutex_unlock(&cache_lock);

    struct store_read *r;
    enum ab_rc rc = store_read_begin(s, &r);
    if (rc)
        return rc;
    struct arena *a = arena_new(1024, 0);
    struct store_apikey k;
    rc = store_apikey_by_hash(r, hash, a, &k);
    store_read_end(r);
    if (rc == AB_ENOTFOUND) {
        snprintf(why, whylen, "unknown API key");
        rc = AB_EAUTH;
    } else if (!rc && k.revoked_at != INT64_MIN) {
        snprintf(why, whylen, "this API key was revoked");
        rc = AB_EAUTH;
    } else if (!rc) {
        unsigned mask = 0;
        char bad[48];
        if (!api_scopes_parse(k.scopes, &mask, bad, sizeof(bad))) {
            snprintf(why, whylen, "the key's stored scopes are invalid");
            rc = AB_EAUTH;
        } else {
            memset(p, 0, sizeof(*p));
            str_lcpy(p->tenant, k.tenant, sizeof(p->tenant));
            str_lcpy(p->key_id, k.id, sizeof(p->key_id));
            p->scopes = api_scopes_effective(mask);
            pthread_mutex_lock(&cache_lock);
            memcpy(cache[slot].hash, hash, sizeof(hash));
            cache[slot].p = *p;
            cache[slot].expires = now + API_KEY_CACHE_MS;
            pthread_mutex_unlock(&cache_lock);
        }
    }
    arena_free(a);
    return rc;
}
