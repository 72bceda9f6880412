/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conf.c: unit tests for src/core/conf.c, the schema-driven YAML engine,
 * against a small schema of its own: positions, structural errors, every
 * type, defaults, required keys, dicts, substitution and printing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/log.h"

struct item {
    const char *name;
    const char *value;
    int64_t weight;
};

struct inner {
    const char *scheme;
    const char *password;
};

struct target {
    const char *name;
    int64_t count;
    bool flag;
    double ratio;
    int64_t wait_ms;
    int64_t size;
    struct inner inner;
    struct item *items;
    size_t n_items;
};

static const char *const schemes[] = {"none", "basic", "bearer", NULL};

static const struct conf_entry inner_entries[] = {{.name = "scheme",
                                                   .type = CONF_ENUM,
                                                   .def = "none",
                                                   .values = schemes,
                                                   .offset = offsetof(struct inner, scheme),
                                                   .doc = "scheme"},
                                                  {.name = "password",
                                                   .type = CONF_STRING,
                                                   .flags = CONF_SECRET,
                                                   .offset = offsetof(struct inner, password),
                                                   .doc = "password"},
                                                  CONF_END};

static const struct conf_entry item_entries[] = {{.name = "value",
                                                  .type = CONF_STRING,
                                                  .flags = CONF_REQUIRED,
                                                  .offset = offsetof(struct item, value),
                                                  .doc = "add 'value:'"},
                                                 {.name = "weight",
                                                  .type = CONF_INT,
                                                  .def = "1",
                                                  .offset = offsetof(struct item, weight),
                                                  .doc = "weight"},
                                                 CONF_END};

static const struct conf_entry item_entry = {
    .name = "item", .type = CONF_MAP, .entries = item_entries};

static const struct conf_entry entries[] = {{.name = "name",
                                             .type = CONF_STRING,
                                             .def = "anon",
                                             .offset = offsetof(struct target, name),
                                             .doc = "name"},
                                            {.name = "count",
                                             .type = CONF_INT,
                                             .flags = CONF_REQUIRED,
                                             .offset = offsetof(struct target, count),
                                             .doc = "add 'count:'"},
                                            {.name = "flag",
                                             .type = CONF_BOOL,
                                             .def = "true",
                                             .offset = offsetof(struct target, flag),
                                             .doc = "flag"},
                                            {.name = "ratio",
                                             .type = CONF_NUMBER,
                                             .def = "0.5",
                                             .offset = offsetof(struct target, ratio),
                                             .doc = "ratio"},
                                            {.name = "wait",
                                             .type = CONF_DURATION,
                                             .def = "5m",
                                             .offset = offsetof(struct target, wait_ms),
                                             .doc = "wait"},
                                            {.name = "size",
                                             .type = CONF_SIZE,
                                             .def = "64KiB",
                                             .offset = offsetof(struct target, size),
                                             .doc = "size"},
                                            {.name = "inner",
                                             .type = CONF_MAP,
                                             .entries = inner_entries,
                                             .offset = offsetof(struct target, inner),
                                             .doc = "inner"},
                                            {.name = "items",
                                             .type = CONF_DICT,
                                             .item = &item_entry,
                                             .elem_size = sizeof(struct item),
                                             .name_offset = offsetof(struct item, name),
                                             .offset = offsetof(struct target, items),
                                             .count_offset = offsetof(struct target, n_items),
                                             .doc = "items"},
                                            CONF_END};

struct run {
    struct arena *arena;
    struct conf_ctx *ctx;
    struct target t;
    struct config_errors errs;
    enum ab_rc parse_rc;
};

static void run_text(struct run *r, const char *text, unsigned flags)
{
    memset(r, 0, sizeof(*r));
    r->arena = arena_new(0, 0);
    r->ctx = conf_ctx_new(r->arena, "t.yaml", flags);
    const struct conf_node *root = NULL;
    r->parse_rc = conf_parse(r->ctx, text, strlen(text), &root);
    if (r->parse_rc == AB_OK)
        conf_decode(r->ctx, entries, root, &r->t);
    conf_take_errors(r->ctx, &r->errs);
}

static void run_done(struct run *r)
{
    config_errors_cleanup(&r->errs);
    arena_free(r->arena);
}

/* Index of the first error whose message contains needle, or -1. */
static int find_error(const struct run *r, const char *needle)
{
    for (size_t i = 0; i < r->errs.n; i++)
        if (strstr(r->errs.items[i].message, needle))
            return (int)i;
    return -1;
}

static void test_decode_values_and_defaults(void **state)
{
    (void)state;
    struct run r;
    run_text(&r,
             "count: 42\n"
             "flag: false\n"
             "wait: 90s\n"
             "items:\n"
             "  a: {value: x}\n"
             "  b:\n"
             "    value: y\n"
             "    weight: 7\n",
             0);
    assert_int_equal(r.errs.n, 0);
    assert_string_equal(r.t.name, "anon");
    assert_int_equal(r.t.count, 42);
    assert_false(r.t.flag);
    assert_true(r.t.ratio == 0.5);
    assert_int_equal(r.t.wait_ms, 90000);
    assert_int_equal(r.t.size, 65536);
    assert_string_equal(r.t.inner.scheme, "none");
    assert_null(r.t.inner.password);
    assert_int_equal(r.t.n_items, 2);
    assert_string_equal(r.t.items[0].name, "a");
    assert_string_equal(r.t.items[0].value, "x");
    assert_int_equal(r.t.items[0].weight, 1);
    assert_string_equal(r.t.items[1].name, "b");
    assert_int_equal(r.t.items[1].weight, 7);
    run_done(&r);
}

static void test_node_positions(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct conf_ctx *c = conf_ctx_new(a, "p.yaml", 0);
    const struct conf_node *root;
    const char *text = "top:\n  key: value\n  other: [1, 2]\n";
    assert_int_equal(conf_parse(c, text, strlen(text), &root), AB_OK);
    const struct conf_node *top = conf_map_get(root, "top");
    assert_non_null(top);
    assert_int_equal(top->key_line, 1);
    assert_int_equal(top->key_column, 1);
    const struct conf_node *v = conf_map_get(top, "key");
    assert_int_equal(v->line, 2);
    assert_int_equal(v->column, 8);
    assert_int_equal(v->key_line, 2);
    assert_int_equal(v->key_column, 3);
    assert_string_equal(v->text, "value");
    const struct conf_node *seq = conf_map_get(top, "other");
    assert_int_equal(seq->kind, CONF_NODE_SEQ);
    assert_int_equal(seq->n_items, 2);
    assert_null(conf_map_get(top, "missing"));
    assert_int_equal(conf_error_count(c), 0);
    arena_free(a);
}

static void test_syntax_error_only(void **state)
{
    (void)state;
    struct run r;
    /* the duplicate key would be an error too, but a syntax error is alone */
    run_text(&r, "count: 1\ncount: 2\nname: [a, b\nflag: x\n", 0);
    assert_int_equal(r.parse_rc, AB_EPARSE);
    assert_int_equal(r.errs.n, 1);
    assert_non_null(strstr(r.errs.items[0].message, "YAML syntax error"));
    assert_int_equal(r.errs.items[0].line, 4);
    assert_true(r.errs.items[0].column >= 1);
    run_done(&r);
}

static void test_tab_indentation_error(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "count: 1\ninner:\n\tscheme: basic\n", 0);
    assert_int_equal(r.parse_rc, AB_EPARSE);
    assert_int_equal(r.errs.n, 1);
    assert_int_equal(r.errs.items[0].line, 3);
    run_done(&r);
}

static void test_unknown_keys_all_reported(void **state)
{
    (void)state;
    struct run r;
    run_text(&r,
             "count: 1\n"
             "nmae: x\n"
             "inner:\n"
             "  schme: basic\n"
             "  zzzzzzzz: 1\n",
             0);
    assert_int_equal(r.errs.n, 3);
    assert_int_equal(r.errs.items[0].line, 2);
    assert_int_equal(r.errs.items[0].column, 1);
    assert_string_equal(r.errs.items[0].message, "unknown key 'nmae'");
    assert_string_equal(r.errs.items[0].hint, "did you mean 'name'?");
    assert_int_equal(r.errs.items[1].line, 4);
    assert_int_equal(r.errs.items[1].column, 3);
    assert_string_equal(r.errs.items[1].message, "unknown key 'inner.schme'");
    assert_string_equal(r.errs.items[1].hint, "did you mean 'scheme'?");
    assert_int_equal(r.errs.items[2].line, 5);
    assert_string_equal(r.errs.items[2].hint, "allowed keys here: scheme, password");
    assert_string_equal(r.errs.items[2].file, "t.yaml");
    run_done(&r);
}

static void test_wrong_types(void **state)
{
    (void)state;
    struct run r;
    run_text(&r,
             "count: many\n"
             "flag: yes\n"
             "ratio: 1.5x\n"
             "name: {a: 1}\n"
             "inner: [1]\n",
             0);
    assert_int_equal(r.errs.n, 5);
    assert_string_equal(r.errs.items[0].message, "'count' must be an integer, found 'many'");
    assert_non_null(strstr(r.errs.items[1].message, "'flag' must be a boolean"));
    assert_non_null(strstr(r.errs.items[2].message, "'ratio' must be a number"));
    assert_string_equal(r.errs.items[3].message, "'name' must be a string, found a mapping");
    assert_int_equal(r.errs.items[3].line, 4);
    assert_int_equal(r.errs.items[3].column, 7);
    assert_string_equal(r.errs.items[4].message, "'inner' must be a mapping, found a list");
    run_done(&r);
}

static void test_missing_required_points_at_parent(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "name: n\nitems:\n  first:\n    weight: 2\n  second:\n", 0);
    assert_int_equal(r.errs.n, 3);
    /* top-level count: at the document */
    assert_string_equal(r.errs.items[0].message, "missing required key 'count'");
    assert_int_equal(r.errs.items[0].line, 1);
    /* items.first.value: at the key "first" */
    assert_string_equal(r.errs.items[1].message, "missing required key 'items.first.value'");
    assert_int_equal(r.errs.items[1].line, 3);
    assert_int_equal(r.errs.items[1].column, 3);
    assert_string_equal(r.errs.items[1].hint, "add 'value:'");
    /* "second:" with nothing is an empty mapping: value missing there */
    assert_string_equal(r.errs.items[2].message, "missing required key 'items.second.value'");
    assert_int_equal(r.errs.items[2].line, 5);
    run_done(&r);
}

static void test_enum_errors(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "count: 1\ninner:\n  scheme: bsic\n---\n", 0);
    assert_int_equal(r.errs.n, 2);
    assert_string_equal(r.errs.items[0].message, "'inner.scheme' has an invalid value 'bsic'");
    assert_string_equal(r.errs.items[0].hint, "did you mean 'basic'?");
    assert_int_equal(r.errs.items[1].line, 4); /* the second document */
    run_done(&r);

    run_text(&r, "count: 1\ninner:\n  scheme: kerberos\n", 0);
    assert_int_equal(r.errs.n, 1);
    assert_string_equal(r.errs.items[0].hint, "allowed values: none, basic, bearer");
    run_done(&r);
}

static void test_duplicate_alias_anchor(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "count: 1\nname: &a x\ncount: 2\nitems:\n  k: *a\n", 0);
    assert_int_equal(r.parse_rc, AB_OK);
    int dup = find_error(&r, "duplicate key 'count'");
    assert_true(dup >= 0);
    assert_int_equal(r.errs.items[dup].line, 3);
    assert_non_null(strstr(r.errs.items[dup].hint, "line 1"));
    int anchor = find_error(&r, "anchors (&a)");
    assert_true(anchor >= 0);
    assert_int_equal(r.errs.items[anchor].line, 2);
    int alias = find_error(&r, "aliases (*a)");
    assert_true(alias >= 0);
    assert_int_equal(r.errs.items[alias].line, 5);
    assert_int_equal(r.errs.items[alias].column, 6);
    /* the first count wins */
    assert_int_equal(r.t.count, 1);
    run_done(&r);
}

static void test_size_and_duration_errors(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "count: 1\nsize: 10MB\nwait: 5 minutes\n", 0);
    assert_int_equal(r.errs.n, 2);
    assert_string_equal(r.errs.items[0].message, "'size' must be a size, found '10MB'");
    assert_non_null(strstr(r.errs.items[0].hint, "64KiB"));
    assert_string_equal(r.errs.items[1].message, "'wait' must be a duration, found '5 minutes'");
    assert_non_null(r.errs.items[1].hint);
    run_done(&r);

    run_text(&r, "count: 1\nsize: 1GiB\nwait: PT1H30M\n", 0);
    assert_int_equal(r.errs.n, 0);
    assert_int_equal(r.t.size, INT64_C(1) << 30);
    assert_int_equal(r.t.wait_ms, 5400000);
    run_done(&r);
}

static void test_env_substitution(void **state)
{
    (void)state;
    struct run r;
    setenv("AB_TEST_CONF_PW", "env-secret-value", 1);
    setenv("AB_TEST_CONF_COUNT", "17", 1);
    unsetenv("AB_TEST_CONF_UNSET");
    run_text(&r, "count: ${env:AB_TEST_CONF_COUNT}\ninner:\n  password: ${env:AB_TEST_CONF_PW}\n",
             0);
    assert_int_equal(r.errs.n, 0);
    assert_int_equal(r.t.count, 17);
    assert_string_equal(r.t.inner.password, "env-secret-value");
    assert_string_equal(conf_subst_ref(r.ctx, &r.t.inner.password), "${env:AB_TEST_CONF_PW}");
    /* registered with the logger */
    char *scrubbed = log_scrub("x env-secret-value y");
    assert_string_equal(scrubbed, "x [redacted] y");
    free(scrubbed);
    run_done(&r);

    run_text(&r, "count: 1\nname: ${env:AB_TEST_CONF_UNSET}\nratio: ${nope:x}\n", 0);
    assert_int_equal(r.errs.n, 2);
    assert_string_equal(r.errs.items[0].message,
                        "'name': environment variable AB_TEST_CONF_UNSET is not set");
    assert_int_equal(r.errs.items[0].line, 2);
    assert_int_equal(r.errs.items[0].column, 7);
    assert_non_null(strstr(r.errs.items[1].message, "unknown reference"));
    run_done(&r);

    /* disabled substitution is an error, not a lookup */
    run_text(&r, "count: 1\nname: ${env:AB_TEST_CONF_PW}\n", CONF_NO_SUBST);
    assert_int_equal(r.errs.n, 1);
    assert_non_null(strstr(r.errs.items[0].message, "disabled"));
    assert_null(strstr(r.errs.items[0].message, "env-secret-value"));
    run_done(&r);
    log_clear_secrets();
}

static void test_file_substitution(void **state)
{
    (void)state;
    char path[] = "/tmp/ab_test_conf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char content[] = "file-secret-value\n";
    assert_int_equal(write(fd, content, sizeof(content) - 1), (ssize_t)(sizeof(content) - 1));
    close(fd);

    char text[256];
    snprintf(text, sizeof(text), "count: 1\ninner:\n  password: \"${file:%s}\"\n", path);
    struct run r;
    run_text(&r, text, 0);
    assert_int_equal(r.errs.n, 0);
    assert_string_equal(r.t.inner.password, "file-secret-value"); /* one newline stripped */
    run_done(&r);

    /* unreadable: the error names the path and the reason, never a value */
    unlink(path);
    run_text(&r, text, 0);
    assert_int_equal(r.errs.n, 1);
    assert_non_null(strstr(r.errs.items[0].message, path));
    assert_non_null(strstr(r.errs.items[0].message, "No such file or directory"));
    assert_null(strstr(r.errs.items[0].message, "file-secret-value"));
    assert_int_equal(r.errs.items[0].line, 3);
    run_done(&r);
    log_clear_secrets();
}

static void test_print_redacts(void **state)
{
    (void)state;
    setenv("AB_TEST_CONF_NAME", "name-from-env", 1);
    struct run r;
    run_text(&r,
             "count: 3\nname: ${env:AB_TEST_CONF_NAME}\ninner:\n  password: literal-secret\n"
             "items:\n  \"9x\": {value: v}\n",
             0);
    assert_int_equal(r.errs.n, 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    conf_print(r.ctx, entries, &r.t, f, 0);
    fclose(f);
    assert_non_null(strstr(out, "name: \"${env:AB_TEST_CONF_NAME}\"\n"));
    assert_null(strstr(out, "name-from-env"));
    assert_non_null(strstr(out, "  password: \"[redacted]\"\n"));
    assert_null(strstr(out, "literal-secret"));
    assert_non_null(strstr(out, "count: 3\n"));
    assert_non_null(strstr(out, "size: 64KiB\n"));
    assert_non_null(strstr(out, "wait: 5m\n"));
    assert_non_null(strstr(out, "  \"9x\":\n    value: \"v\"\n"));
    free(out);
    run_done(&r);
    log_clear_secrets();
}

static void test_empty_and_non_map_documents(void **state)
{
    (void)state;
    struct run r;
    run_text(&r, "", 0);
    assert_int_equal(r.errs.n, 1); /* count is required */
    run_done(&r);
    run_text(&r, "- a\n- b\n", 0);
    assert_true(find_error(&r, "must be a mapping") >= 0);
    run_done(&r);
    run_text(&r, "count: 1\n? [a, b]\n: c\n", 0);
    assert_true(find_error(&r, "a key must be a scalar") >= 0);
    run_done(&r);
}

static void test_deep_nesting_refused(void **state)
{
    (void)state;
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        text[n++] = '[';
    for (int i = 0; i < 100; i++)
        text[n++] = ']';
    text[n] = '\0';
    struct run r;
    run_text(&r, text, 0);
    assert_int_equal(r.parse_rc, AB_EPARSE);
    assert_int_equal(r.errs.n, 1);
    assert_non_null(strstr(r.errs.items[0].message, "nested deeper"));
    run_done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_values_and_defaults),
        cmocka_unit_test(test_node_positions),
        cmocka_unit_test(test_syntax_error_only),
        cmocka_unit_test(test_tab_indentation_error),
        cmocka_unit_test(test_unknown_keys_all_reported),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_missing_required_points_at_parent),
        cmocka_unit_test(test_enum_errors),
        cmocka_unit_test(test_duplicate_alias_anchor),
        cmocka_unit_test(test_size_and_duration_errors),
        cmocka_unit_test(test_env_substitution),
        cmocka_unit_test(test_file_substitution),
        cmocka_unit_test(test_print_redacts),
        cmocka_unit_test(test_empty_and_non_map_documents),
        cmocka_unit_test(test_deep_nesting_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
