/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_config.c: libFuzzer driver for the configuration loader (libyaml
 * parsing, the schema decoder, error collection and printing). Substitution
 * is disabled so ${file:} cannot read arbitrary files and ${env:} cannot
 * make runs depend on the environment. Everything is freed each run.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = NULL;
    struct config_errors errs;
    FILE *sink = fopen("/dev/null", "w");
    if (config_load_buffer_ex("fuzz.yaml", (const char *)data, size, CONFIG_LOAD_NO_SUBST, &cfg,
                              &errs) == AB_OK) {
        if (sink)
            config_print(cfg, sink);
        config_free(cfg);
    } else if (sink) {
        config_errors_print(&errs, sink);
    }
    config_errors_cleanup(&errs);
    if (sink)
        fclose(sink);
    log_clear_secrets(); /* secret-key values were registered */
    return 0;
}
