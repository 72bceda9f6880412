/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sim_faults.c: libFuzzer driver for the simulator's fault-rule parser
 * (rules arrive from files and from POST /_sim/faults: untrusted JSON).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_fault_rule *rules;
    size_t n;
    char err[256];
    if (sim_fault_parse((const char *)data, size, &rules, &n, err, sizeof(err)) != AB_OK) {
        if (!err[0])
            abort(); /* a refusal always says why */
        return 0;
    }
    struct sim_fault_set set = {0};
    if (sim_fault_set_add(&set, rules, n) != AB_OK)
        abort();
    free(rules);
    struct sim_prng g;
    sim_prng_seed(&g, size);
    struct sim_fault_rule f;
    for (int i = 0; i < 4; i++) {
        if (sim_fault_pick(&set, &g, i % 2 ? "GET" : "POST", "/api/v1/assets", &f) &&
            (f.probability < 0 || f.probability > 1))
            abort();
    }
    for (size_t i = 0; i < set.n; i++) {
        json_t *j = sim_fault_to_json(&set.rules[i]);
        if (!j)
            abort();
        json_decref(j);
    }
    sim_fault_set_cleanup(&set);
    return 0;
}
