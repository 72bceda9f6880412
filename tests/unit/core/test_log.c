/* SPDX-License-Identifier: Apache-2.0
 *
 * test_log.c: unit tests for src/core/log.c: JSON lines, levels, and above
 * all that secrets never reach the output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* Run fn with the logger writing into a pipe; return what it wrote. */
static char *capture(void (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    log_configure(LOG_DEBUG, LOG_FORMAT_JSON, p[1]);
    fn();
    log_configure(LOG_INFO, LOG_FORMAT_JSON, 2);
    close(p[1]);
    static char out[65536];
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    close(p[0]);
    out[n] = '\0';
    return out;
}

static void emit_fields(void)
{
    log_info("01JCORR", "asset synced", LOG_STR("asset_ref", "FX-1001"), LOG_INT("count", 42),
             LOG_BOOL("retired", 0), LOG_STR("note", "quote \" and\nnewline"));
}

static void test_json_line_with_fields(void **state)
{
    (void)state;
    char *out = capture(emit_fields);
    size_t len = strlen(out);
    assert_true(len > 0 && out[len - 1] == '\n');
    assert_ptr_equal(strchr(out, '\n'), out + len - 1); /* exactly one line */
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "asset synced");
    assert_string_equal(json_string_value(json_object_get(o, "correlation_id")), "01JCORR");
    assert_string_equal(json_string_value(json_object_get(o, "asset_ref")), "FX-1001");
    assert_int_equal(json_integer_value(json_object_get(o, "count")), 42);
    assert_true(json_is_false(json_object_get(o, "retired")));
    assert_string_equal(json_string_value(json_object_get(o, "note")), "quote \" and\nnewline");
    assert_non_null(json_object_get(o, "ts"));
    json_decref(o);
}

static void emit_secrets(void)
{
    log_add_secret("s3cr3t-token-value");
    log_warn(NULL, "auth failed with token s3cr3t-token-value",
             LOG_STR("header", "Basic s3cr3t-token-value"), LOG_SECRET("password"),
             LOG_STR("corr", "fine"));
}

static void test_secrets_never_printed(void **state)
{
    (void)state;
    char *out = capture(emit_secrets);
    assert_null(strstr(out, "s3cr3t"));
    assert_non_null(strstr(out, "auth failed with token [redacted]"));
    assert_non_null(strstr(out, "\"header\":\"Basic [redacted]\""));
    assert_non_null(strstr(out, "\"password\":\"[redacted]\""));
    char *scrubbed = log_scrub("x=s3cr3t-token-value;y=s3cr3t-token-value");
    assert_string_equal(scrubbed, "x=[redacted];y=[redacted]");
    free(scrubbed);
    log_clear_secrets();
}

static void test_level_filter(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    log_configure(LOG_WARN, LOG_FORMAT_JSON, p[1]);
    log_info(NULL, "hidden");
    log_error(NULL, "shown");
    log_configure(LOG_INFO, LOG_FORMAT_JSON, 2);
    close(p[1]);
    char out[4096];
    ssize_t n = read(p[0], out, sizeof(out) - 1);
    close(p[0]);
    assert_true(n > 0);
    out[n] = '\0';
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "shown"));
    enum log_level l;
    assert_true(log_level_parse("debug", &l) && l == LOG_DEBUG);
    assert_false(log_level_parse("verbose", &l));
}

static void emit_long(void)
{
    static char big[10000];
    memset(big, 'a', sizeof(big) - 1);
    log_info(NULL, "long value", LOG_STR("v", big));
}

static void test_long_value_cut_visibly(void **state)
{
    (void)state;
    char *out = capture(emit_long);
    assert_non_null(strstr(out, "...[truncated]"));
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    assert_non_null(o); /* still one valid JSON line */
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_line_with_fields),
        cmocka_unit_test(test_secrets_never_printed),
        cmocka_unit_test(test_level_filter),
        cmocka_unit_test(test_long_value_cut_visibly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
