/* SPDX-License-Identifier: Apache-2.0
 *
 * digest.c: canonical JSON text and its SHA-256 (OpenSSL EVP). See digest.h.
 */
#include "model/digest.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "core/xmalloc.h"

static const char *const excluded[] = {
    "sync_state", "last_synced_at", "revision", "created_at", "updated_at",
};

bool model_digest_key_excluded(const char *key)
{
    if (key[0] == '_')
        return true;
    for (size_t i = 0; i < sizeof(excluded) / sizeof(excluded[0]); i++)
        if (strcmp(excluded[i], key) == 0)
            return true;
    return false;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum ab_rc put_string(struct buf *out, const char *s, size_t n)
{
    enum ab_rc rc = buf_append_char(out, '"');
    if (!rc)
        rc = str_json_escape(out, s, n);
    if (!rc)
        rc = buf_append_char(out, '"');
    return rc;
}

static enum ab_rc put_real(struct buf *out, double d)
{
    if (d == 0)
        return buf_append_char(out, '0'); /* also -0 */
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        return buf_printf(out, "%lld", (long long)d);
    return buf_printf(out, "%.17g", d);
}

static enum ab_rc canon(const json_t *v, struct buf *out, int depth)
{
    enum ab_rc rc = AB_OK;
    if (depth > MODEL_DIGEST_MAX_DEPTH)
        return AB_ETOOLARGE;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), k = 0;
        const char **keys = xmalloc((n ? n : 1) * sizeof(*keys));
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)v, key, val) {
            if (depth > 0 || !model_digest_key_excluded(key))
                keys[k++] = key;
        }
        qsort(keys, k, sizeof(*keys), key_cmp);
        rc = buf_append_char(out, '{');
        for (size_t i = 0; i < k && !rc; i++) {
            if (i)
                rc = buf_append_char(out, ',');
            if (!rc)
                rc = put_string(out, keys[i], strlen(keys[i]));
            if (!rc)
                rc = buf_append_char(out, ':');
            if (!rc)
                rc = canon(json_object_get(v, keys[i]), out, depth + 1);
        }
        if (!rc)
            rc = buf_append_char(out, '}');
        free(keys);
        return rc;
    }
    case JSON_ARRAY:
        rc = buf_append_char(out, '[');
        for (size_t i = 0; i < json_array_size(v) && !rc; i++) {
            if (i)
                rc = buf_append_char(out, ',');
            if (!rc)
                rc = canon(json_array_get(v, i), out, depth + 1);
        }
        if (!rc)
            rc = buf_append_char(out, ']');
        return rc;
    case JSON_STRING: return put_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return buf_printf(out, "%lld", (long long)json_integer_value(v));
    case JSON_REAL: return put_real(out, json_real_value(v));
    case JSON_TRUE: return buf_append_str(out, "true");
    case JSON_FALSE: return buf_append_str(out, "false");
    case JSON_NULL: return buf_append_str(out, "null");
    }
    return AB_EINTERNAL;
}

enum ab_rc model_canonical_json(const json_t *v, struct buf *out)
{
    return v ? canon(v, out, 0) : buf_append_str(out, "null");
}

enum ab_rc model_digest(const json_t *canonical, char out[MODEL_DIGEST_HEX_LEN + 1])
{
    struct buf text;
    buf_init(&text, MODEL_DIGEST_MAX_BYTES);
    enum ab_rc rc = model_canonical_json(canonical, &text);
    if (rc)
        goto out;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(buf_str(&text), text.len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        rc = AB_EINTERNAL;
        goto out;
    }
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[MODEL_DIGEST_HEX_LEN] = '\0';
out:
    buf_cleanup(&text);
    return rc;
}
