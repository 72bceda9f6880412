/* SPDX-License-Identifier: Apache-2.0
 *
 * id.c: ULID generation. See id.h.
 */
#include "core/id.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t ulid_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms = -1;
static unsigned char last_rand[10];

void id_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "assetbridge: getrandom failed: %s\n", strerror(errno));
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}

/* Add one to the 80-bit big-endian number; returns false on wrap. */
static int incr80(unsigned char r[10])
{
    for (int i = 9; i >= 0; i--)
        if (++r[i] != 0)
            return 1;
    return 0;
}

void id_ulid_new(char out[ID_ULID_LEN + 1])
{
    unsigned char b[16];
    int64_t now = clock_now_ms();
    if (now < 0)
        now = 0;

    pthread_mutex_lock(&ulid_lock);
    if (now <= last_ms) {
        now = last_ms;
        if (!incr80(last_rand)) {
            now = ++last_ms; /* 2^80 ids in one ms: borrow the next ms */
            id_random_bytes(last_rand, sizeof(last_rand));
        }
    } else {
        id_random_bytes(last_rand, sizeof(last_rand));
        /* keep headroom so increments within this ms cannot wrap */
        last_rand[0] &= 0x7f;
    }
    last_ms = now;
    uint64_t t = (uint64_t)now;
    for (int i = 5; i >= 0; i--) {
        b[i] = (unsigned char)(t & 0xff);
        t >>= 8;
    }
    memcpy(b + 6, last_rand, 10);
    pthread_mutex_unlock(&ulid_lock);

    /* 128 bits -> 26 base32 digits (the first carries 3 bits) */
    int bit = -2; /* 130 bits of output for 128 of input: pad 2 zero bits */
    for (int i = 0; i < ID_ULID_LEN; i++) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++, bit++) {
            v <<= 1;
            if (bit >= 0)
                v |= (b[bit / 8] >> (7 - bit % 8)) & 1;
        }
        out[i] = crockford[v];
    }
    out[ID_ULID_LEN] = '\0';
}

int64_t id_ulid_time_ms(const char *s)
{
    if (strlen(s) != ID_ULID_LEN)
        return -1;
    uint64_t t = 0;
    for (int i = 0; i < ID_ULID_LEN; i++) {
        const char *c = strchr(crockford, s[i]);
        if (!c || !s[i])
            return -1;
        if (i < 10)
            t = (t << 5) | (uint64_t)(c - crockford);
    }
    if (s[0] > '7')
        return -1;     /* would overflow 128 bits */
    return (int64_t)t; /* first 10 chars = 50 bits, top 2 always zero */
}
