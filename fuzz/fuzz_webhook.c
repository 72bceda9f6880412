/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_webhook.c: libFuzzer driver for the webhook checks of untrusted
 * values: subscription URLs (webhook_url_valid) and event types
 * (webhook_event_type_valid) from POST /v1/webhooks bodies, and the
 * delivery signature a receiver checks (webhook_verify, with the
 * timestamp and signature headers as sent). fuzz_api drives the same
 * checks through the subscription handler.
 *
 * Input: a selector byte, then the text.
 *   0  a URL. Oracle: a URL the API accepts is one libcurl (which delivers
 *      the webhooks) parses as http(s) with a host and no user info, so an
 *      accepted subscription can be delivered to.
 *   1  an event type. Oracle: the documented grammar ("*", or [a-z_]+ "."
 *      [a-z_.]+ of at most 64 characters).
 *   2  "SECRET\nTIMESTAMP\nSIGNATURE\nBODY". Oracles: verify never accepts
 *      a signature that differs from the one webhook_sign computes, nor a
 *      timestamp outside the tolerance; what sign produces verifies.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/webhook.h"
#include "core/arena.h"
#include "core/str.h"
#include "core/webhook_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S INT64_C(1795262400) /* 2026-11-21T12:00:00Z */
#define TOLERANCE_S 300

static void url(const char *s)
{
    const char *why = NULL;
    if (!webhook_url_valid(s, &why)) {
        if (!why || !*why)
            abort();
        return;
    }
    if (strlen(s) > WEBHOOK_URL_MAX)
        abort();
    CURLU *u = curl_url();
    if (!u)
        abort();
    char *scheme = NULL, *host = NULL, *user = NULL;
    if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0] ||
        curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER)
        abort(); /* accepted, but libcurl could not deliver to it as meant */
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
}

static bool type_grammar(const char *s)
{
    if (strcmp(s, "*") == 0)
        return true;
    size_t n = strlen(s), i = 0;
    if (n > 64)
        return false;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
        i++;
    if (i == 0 || i == n || s[i] != '.')
        return false;
    size_t rest = ++i;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || s[i] == '.'))
        i++;
    return i == n && i > rest;
}

/* Line k of s (a copy in a), or "" when absent; the last one asked for
 * with rest takes everything after it. */
static const char *line(struct arena *a, const char *s, size_t n, int k, bool rest,
                        size_t *len /* OUT */)
{
    const char *end = s + n;
    for (; k > 0 && s < end; k--) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    const char *nl = rest ? NULL : memchr(s, '\n', (size_t)(end - s));
    *len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    char *o = arena_alloc(a, *len + 1);
    memcpy(o, s, *len);
    o[*len] = '\0';
    return o;
}

static void signature(struct arena *a, const char *s, size_t n)
{
    size_t len, body_len;
    const char *secret = line(a, s, n, 0, false, &len);
    const char *ts_text = line(a, s, n, 1, false, &len);
    const char *sig = line(a, s, n, 2, false, &len);
    const char *body = line(a, s, n, 3, true, &body_len);
    int64_t ts;
    if (str_to_i64(ts_text, &ts) != AB_OK)
        ts = NOW_S;
    char good[WEBHOOK_SIG_MAX];
    if (webhook_sign(secret, ts, body, body_len, good) != AB_OK)
        abort();
    bool in_time = ts >= NOW_S - TOLERANCE_S && ts <= NOW_S + TOLERANCE_S;
    /* the fuzzed signature */
    bool ok = webhook_verify(secret, ts, body, body_len, sig, NOW_S, TOLERANCE_S);
    if (ok && (!in_time || strcmp(sig, good) != 0))
        abort();
    /* the right one */
    if (webhook_verify(secret, ts, body, body_len, good, NOW_S, TOLERANCE_S) != in_time)
        abort();
    /* one bit off */
    char bad[WEBHOOK_SIG_MAX];
    memcpy(bad, good, sizeof(bad));
    size_t at = body_len % (sizeof(bad) - 4) + 3;
    bad[at] = bad[at] == '0' ? '1' : '0';
    if (webhook_verify(secret, ts, body, body_len, bad, NOW_S, TOLERANCE_S))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct arena *a = arena_new(0, 0);
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    const char *text = arena_strndup(a, s, n);
    switch (data[0] % 3) {
    case 0: url(text); break;
    case 1:
        if (webhook_event_type_valid(text) != type_grammar(text))
            abort();
        break;
    default: signature(a, s, n); break;
    }
    arena_free(a);
    return 0;
}
