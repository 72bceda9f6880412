/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook.c: webhook signatures (HMAC-SHA256 through OpenSSL's EVP_MAC),
 * subscription secrets and the validation of subscription URLs and event
 * types. See webhook.h.
 */
#include "api/webhook.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "core/id.h"

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

enum ab_rc webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                        char out[WEBHOOK_SIG_MAX])
{
    out[0] = '\0';
    char ts[24];
    int tn = snprintf(ts, sizeof(ts), "%" PRId64 ".", timestamp);
    if (tn < 0 || (size_t)tn >= sizeof(ts))
        return AB_EINTERNAL;
    enum ab_rc rc = AB_EINTERNAL;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    unsigned char md[32];
    size_t md_len = 0;
    if (ctx && EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)tn) == 1 &&
        EVP_MAC_update(ctx, (const unsigned char *)body, body_len) == 1 &&
        EVP_MAC_final(ctx, md, &md_len, sizeof(md)) == 1 && md_len == sizeof(md)) {
        memcpy(out, "v1=", 3);
        hex(md, md_len, out + 3);
        rc = AB_OK;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

bool webhook_verify(const char *secret, int64_t timestamp, const char *body, size_t body_len,
                    const char *signature, int64_t now_s, int64_t tolerance_s)
{
    if (!signature || now_s - timestamp > tolerance_s || timestamp - now_s > tolerance_s)
        return false;
    char want[WEBHOOK_SIG_MAX];
    if (webhook_sign(secret, timestamp, body, body_len, want))
        return false;
    size_t n = strlen(want);
    return strlen(signature) == n && CRYPTO_memcmp(want, signature, n) == 0;
}

void webhook_secret_new(char out[2 * WEBHOOK_SECRET_BYTES + 1])
{
    unsigned char b[WEBHOOK_SECRET_BYTES];
    id_random_bytes(b, sizeof(b));
    hex(b, sizeof(b), out);
    OPENSSL_cleanse(b, sizeof(b));
}

static bool lower_or_underscore(char c)
{
    return (c >= 'a' && c <= 'z') || c == '_';
}

bool webhook_event_type_valid(const char *type)
{
    if (!type)
        return false;
    if (strcmp(type, "*") == 0)
        return true;
    size_t n = strlen(type);
    if (n == 0 || n > 64)
        return false;
    size_t i = 0;
    while (lower_or_underscore(type[i]))
        i++;
    if (i == 0 || type[i] != '.')
        return false;
    i++;
    size_t rest = 0;
    for (; type[i]; i++, rest++)
        if (!lower_or_underscore(type[i]) && type[i] != '.')
            return false;
    return rest > 0;
}

static bool host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

static bool hex_or_colon(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

bool webhook_url_valid(const char *url, const char **why)
{
    *why = "must be an absolute http:// or https:// URL with a host";
    if (!url)
        return false;
    size_t n = strlen(url);
    if (n > WEBHOOK_URL_MAX) {
        *why = "longer than 2048 characters";
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c == 0x7f) {
            *why = "must not contain spaces or control characters";
            return false;
        }
    }
    const char *p;
    if (strncmp(url, "https://", 8) == 0)
        p = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return false;
    size_t alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen)) {
        *why = "must not contain user information (put credentials elsewhere)";
        return false;
    }
    const char *host = p, *end = p + alen;
    const char *port = NULL;
    if (*host == '[') {
        const char *close = memchr(host, ']', alen);
        if (!close || close == host + 1)
            return false;
        for (const char *c = host + 1; c < close; c++)
            if (!hex_or_colon(*c))
                return false;
        if (close + 1 < end) {
            if (close[1] != ':')
                return false;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', alen);
        const char *hend = colon ? colon : end;
        if (hend == host)
            return false;
        for (const char *c = host; c < hend; c++)
            if (!host_char(*c))
                return false;
        if (colon)
            port = colon + 1;
    }
    if (port) {
        if (port == end || end - port > 5) {
            *why = "has an invalid port";
            return false;
        }
        long v = 0;
        for (const char *c = port; c < end; c++) {
            if (*c < '0' || *c > '9') {
                *why = "has an invalid port";
                return false;
            }
            v = v * 10 + (*c - '0');
        }
        if (v < 1 || v > 65535) {
            *why = "has an invalid port";
            return false;
        }
    }
    *why = NULL;
    return true;
}
