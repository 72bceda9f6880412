/* SPDX-License-Identifier: Apache-2.0
 *
 * events_int.h: the commit notification behind store_events_wait(), shared
 * by events.c (which implements it) and store.c (which owns one per store
 * and signals it after every group commit). Not for use outside src/store/.
 */
#ifndef AB_STORE_EVENTS_INT_H
#define AB_STORE_EVENTS_INT_H

#include <pthread.h>
#include <stdint.h>

#include "store/store.h"

/* A generation counter bumped after every successful group commit, and a
 * condition variable broadcast with it. The condition variable waits on
 * CLOCK_MONOTONIC, so moving the wall clock (or the fake clock) does not
 * stretch or cut a wait. */
struct store_events_notify {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    uint64_t gen; /* under lock */
};

void store_events_notify_init(struct store_events_notify *n);
void store_events_notify_cleanup(struct store_events_notify *n);

/* Called by the writer after a COMMIT succeeded: bump gen, wake all waiters. */
void store_events_notify_commit(struct store_events_notify *n);

/* The store's notification (store.c). */
struct store_events_notify *store_events_notify_of(struct store *s);

#endif
