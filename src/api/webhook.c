/* SPDX-License-Identifier: Apache-2.0
 *
 * webhook.c: subscription secrets and the validation of subscription URLs
 * and event types. See webhook.h (signatures: core/webhook_sig.c).
 */
#include "api/webhook.h"

#include <openssl/crypto.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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
        if (!close || close == host + 1 || close - host - 1 >= INET6_ADDRSTRLEN)
            return false;
        for (const char *c = host + 1; c < close; c++)
            if (!hex_or_colon(*c))
                return false;
        /* an IPv6 literal the way libcurl will read it (the characters
         * alone let "[1]" through) */
        char lit[INET6_ADDRSTRLEN];
        struct in6_addr in6;
        memcpy(lit, host + 1, (size_t)(close - host - 1));
        lit[close - host - 1] = '\0';
        if (inet_pton(AF_INET6, lit, &in6) != 1) {
            *why = "has an invalid IPv6 address";
            return false;
        }
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
