/* SPDX-License-Identifier: Apache-2.0
 *
 * store_test.h: helpers shared by the store unit tests: a store in a fresh
 * temporary directory, removed afterwards.
 */
#ifndef AB_TEST_STORE_TEST_H
#define AB_TEST_STORE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "store/store.h"

struct test_db {
    char dir[256];
    char path[512];
    struct config_store cfg;
    struct store *s;
};

static inline void test_db_open(struct test_db *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/ab-store-XXXXXX");
    if (!mkdtemp(t->dir))
        abort();
    snprintf(t->path, sizeof(t->path), "%s/test.db", t->dir);
    t->cfg.backend = "sqlite";
    t->cfg.data_dir = t->dir;
    t->cfg.path = "test.db";
    t->cfg.synchronous = "full";
    char err[256];
    if (store_open(&t->cfg, &t->s, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        abort();
    }
}

static inline void test_db_close(struct test_db *t)
{
    store_close(t->s);
    t->s = NULL;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", t->dir);
}

#endif
