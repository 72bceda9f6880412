/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook_sig.c: webhook signatures (HMAC-SHA256 through OpenSSL's
 * EVP_MAC). See webhook_sig.h.
 */
#include "core/webhook_sig.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

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
    /* the timestamp comes from the sender: any int64, so the distance is
     * computed without overflowing */
    int64_t d;
    if (!signature || tolerance_s < 0 || __builtin_sub_overflow(now_s, timestamp, &d) ||
        d > tolerance_s || d < -tolerance_s)
        return false;
    char want[WEBHOOK_SIG_MAX];
    if (webhook_sign(secret, timestamp, body, body_len, want))
        return false;
    size_t n = strlen(want);
    return strlen(signature) == n && CRYPTO_memcmp(want, signature, n) == 0;
}
