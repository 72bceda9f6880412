/* SPDX-License-Identifier: Apache-2.0
 *
 * conf.c: the schema-driven YAML engine. See conf.h and docs/internals/config.md.
 *
 * Parsing uses the libyaml event API with an explicit stack (no recursion
 * on input depth while building). Decoding recurses over the schema, whose
 * depth is fixed by the static tables, not by the input: a document nested
 * deeper than the schema is cut off by type errors at the schema's leaves.
 */
#include "core/conf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"

#define CONF_MAX_DEPTH 64         /* nesting levels accepted by the parser */
#define CONF_MAX_MAP_KEYS 4096    /* keys in one mapping (duplicate check is quadratic) */
#define CONF_MAX_NODES 200000     /* nodes in one document */
#define CONF_MAX_ERRORS 1000      /* errors kept; more are counted in one last error */
#define CONF_FILE_SUBST_MAX 65536 /* bytes read for one ${file:} */

struct conf_err {
    struct conf_err *next;
    unsigned line, column;
    const char *message;
    const char *hint;
};

struct conf_subst {
    struct conf_subst *next;
    const void *field;
    const char *ref;
};

struct conf_ctx {
    struct arena *arena;     /* tree, decoded values, substitutions */
    struct arena *err_arena; /* errors; created on the first one */
    const char *file;
    unsigned flags;
    struct conf_err *errs; /* newest first */
    size_t n_errs;
    size_t n_dropped;
    struct conf_subst *substs;
    size_t n_nodes;
};

/* ---- context and errors ------------------------------------------------ */

struct conf_ctx *conf_ctx_new(struct arena *a, const char *file, unsigned flags)
{
    struct conf_ctx *c = arena_zalloc(a, sizeof(*c));
    c->arena = a;
    c->file = arena_strdup(a, file);
    c->flags = flags;
    return c;
}

struct arena *conf_arena(const struct conf_ctx *c)
{
    return c->arena;
}

size_t conf_error_count(const struct conf_ctx *c)
{
    return c->n_errs + c->n_dropped;
}

void conf_error(struct conf_ctx *c, unsigned line, unsigned column, const char *hint,
                const char *fmt, ...)
{
    if (c->n_errs >= CONF_MAX_ERRORS) {
        c->n_dropped++;
        return;
    }
    if (!c->err_arena)
        c->err_arena = arena_new(0, 0);
    struct conf_err *e = arena_zalloc(c->err_arena, sizeof(*e));
    va_list ap;
    va_start(ap, fmt);
    e->message = arena_vprintf(c->err_arena, fmt, ap);
    va_end(ap);
    e->hint = hint ? arena_strdup(c->err_arena, hint) : NULL;
    e->line = line;
    e->column = column;
    e->next = c->errs;
    c->errs = e;
    c->n_errs++;
}

/* Forget every error recorded so far (a syntax error replaces them). */
static void conf_errors_reset(struct conf_ctx *c)
{
    arena_free(c->err_arena);
    c->err_arena = NULL;
    c->errs = NULL;
    c->n_errs = 0;
    c->n_dropped = 0;
}

static int error_cmp(const void *pa, const void *pb)
{
    const struct config_error *a = pa, *b = pb;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->column != b->column)
        return a->column < b->column ? -1 : 1;
    return 0;
}

void conf_take_errors(struct conf_ctx *c, struct config_errors *errs)
{
    memset(errs, 0, sizeof(*errs));
    if (!c->n_errs)
        return;
    if (c->n_dropped)
        conf_error(c, UINT_MAX, 0, NULL, "%zu more errors not shown", c->n_dropped);
    struct arena *a = c->err_arena;
    const char *file = arena_strdup(a, c->file);
    size_t n = c->n_errs;
    struct config_error *items = arena_zalloc(a, n * sizeof(*items));
    size_t i = n;
    for (struct conf_err *e = c->errs; e; e = e->next) /* newest first */
        items[--i] = (struct config_error){file, e->line, e->column, e->message, e->hint};
    /* Insertion sort: stable, and error lists are short. */
    for (size_t k = 1; k < n; k++) {
        struct config_error tmp = items[k];
        size_t j = k;
        while (j > 0 && error_cmp(&items[j - 1], &tmp) > 0) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = tmp;
    }
    if (n && items[n - 1].line == UINT_MAX)
        items[n - 1].line = 0; /* the "more errors" line has no position */
    errs->items = items;
    errs->n = n;
    errs->priv = a;
    c->err_arena = NULL;
    c->errs = NULL;
    c->n_errs = 0;
    c->n_dropped = 0;
}

const char *conf_path(struct conf_ctx *c, const char *parent, const char *key)
{
    if (!parent || !*parent)
        return arena_strdup(c->arena, key);
    return arena_printf(c->arena, "%s.%s", parent, key);
}

const char *conf_suggest(struct conf_ctx *c, const char *value, const char *const *allowed,
                         const char *prefix)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; allowed && allowed[i]; i++) {
        size_t d = str_edit_distance(value, allowed[i], 2);
        if (d < best_d && d < strlen(allowed[i])) {
            best_d = d;
            best = allowed[i];
        }
    }
    if (best)
        return arena_printf(c->arena, "did you mean '%s'?", best);
    struct buf b;
    buf_init(&b, 4096);
    enum ab_rc rc = buf_append_str(&b, prefix);
    for (size_t i = 0; !rc && allowed && allowed[i]; i++)
        rc = buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
    const char *out = arena_strdup(c->arena, buf_str(&b));
    buf_cleanup(&b);
    return out;
}

static const char *kind_name(const struct conf_node *n)
{
    switch (n->kind) {
    case CONF_NODE_MAP: return "a mapping";
    case CONF_NODE_SEQ: return "a list";
    case CONF_NODE_SCALAR: break;
    }
    return n->is_null ? "nothing" : "a scalar";
}

static bool is_reference(const char *t)
{
    size_t n = strlen(t);
    return n >= 3 && t[0] == '$' && t[1] == '{' && t[n - 1] == '}';
}

const char *conf_shown(struct conf_ctx *c, const struct conf_node *node, bool secret)
{
    if (node->kind != CONF_NODE_SCALAR || node->is_null)
        return kind_name(node);
    if (is_reference(node->text))
        return arena_printf(c->arena, "the value of %s", node->text);
    if (secret)
        return "a secret value";
    return arena_printf(c->arena, "'%s'", node->text);
}

/* ---- parsing ------------------------------------------------------------ */

const struct conf_node *conf_map_get(const struct conf_node *map, const char *key)
{
    if (!map || map->kind != CONF_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n_pairs; i++)
        if (strcmp(map->pairs[i].key, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

struct frame {
    struct conf_node *node;
    size_t cap;
    bool have_key; /* map: a key is waiting for its value */
    bool bad_key;  /* map: that key was not a scalar */
    struct conf_pair key;
};

struct builder {
    struct conf_ctx *c;
    struct frame stack[CONF_MAX_DEPTH];
    size_t depth;
    struct conf_node *root;
};

static void *grow(struct arena *a, void *old, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return old;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = arena_alloc(a, ncap * size);
    if (n)
        memcpy(p, old, n * size);
    *cap = ncap;
    return p;
}

static struct conf_node *node_new(struct builder *b, enum conf_node_kind kind, yaml_mark_t m)
{
    struct conf_node *n = arena_zalloc(b->c->arena, sizeof(*n));
    n->kind = kind;
    n->line = (unsigned)m.line + 1;
    n->column = (unsigned)m.column + 1;
    b->c->n_nodes++;
    return n;
}

/* Attach a finished node to the collection on top of the stack. */
static void attach(struct builder *b, struct conf_node *n)
{
    struct conf_ctx *c = b->c;
    if (!b->depth) {
        b->root = n;
        return;
    }
    struct frame *f = &b->stack[b->depth - 1];
    struct conf_node *p = f->node;
    if (p->kind == CONF_NODE_SEQ) {
        p->items = grow(c->arena, p->items, p->n_items, &f->cap, sizeof(*p->items));
        p->items[p->n_items++] = n;
        return;
    }
    if (!f->have_key) {
        f->have_key = true;
        f->bad_key = n->kind != CONF_NODE_SCALAR;
        if (f->bad_key)
            conf_error(c, n->line, n->column, "write keys as plain strings",
                       "a key must be a scalar, found %s", kind_name(n));
        f->key = (struct conf_pair){n->text, n->line, n->column, NULL};
        return;
    }
    f->have_key = false;
    if (f->bad_key)
        return;
    for (size_t i = 0; i < p->n_pairs; i++) {
        if (strcmp(p->pairs[i].key, f->key.key) == 0) {
            conf_error(c, f->key.line, f->key.column,
                       arena_printf(c->arena, "the first '%s' is at line %u; keep one", f->key.key,
                                    p->pairs[i].line),
                       "duplicate key '%s'", f->key.key);
            return;
        }
    }
    if (p->n_pairs >= CONF_MAX_MAP_KEYS) {
        if (p->n_pairs == CONF_MAX_MAP_KEYS)
            conf_error(c, f->key.line, f->key.column, NULL, "more than %d keys in one mapping",
                       CONF_MAX_MAP_KEYS);
        return;
    }
    n->key_line = f->key.line;
    n->key_column = f->key.column;
    f->key.value = n;
    p->pairs = grow(c->arena, p->pairs, p->n_pairs, &f->cap, sizeof(*p->pairs));
    p->pairs[p->n_pairs++] = f->key;
}

static void no_anchor(struct conf_ctx *c, const yaml_char_t *anchor, yaml_mark_t m)
{
    if (anchor)
        conf_error(c, (unsigned)m.line + 1, (unsigned)m.column + 1,
                   "write the value out in full where it is needed",
                   "anchors (&%s) are not supported", (const char *)anchor);
}

static bool plain_null(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

/* Line and column of byte offset off in text (reader errors give offsets). */
static void offset_position(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void syntax_error(struct conf_ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
    unsigned line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_position(text, len, p->problem_offset, &line, &col);
    } else {
        line = (unsigned)p->problem_mark.line + 1;
        col = (unsigned)p->problem_mark.column + 1;
    }
    const char *hint = NULL;
    if (p->context && p->error != YAML_READER_ERROR)
        hint =
            arena_printf(c->arena, "%s at line %u, column %u", p->context,
                         (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    conf_errors_reset(c);
    conf_error(c, line, col, hint, "YAML syntax error: %s",
               p->problem ? p->problem : "cannot parse the document");
}

enum ab_rc conf_parse(struct conf_ctx *c, const char *text, size_t len,
                      const struct conf_node **root)
{
    yaml_parser_t p;
    yaml_event_t ev;
    struct builder *b = arena_zalloc(c->arena, sizeof(*b));
    enum ab_rc rc = AB_OK;
    unsigned docs = 0;
    bool done = false;

    b->c = c;
    *root = NULL;
    if (!yaml_parser_initialize(&p))
        xmalloc_oom(sizeof(p)); /* libyaml fails only when out of memory */
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            syntax_error(c, &p, text, len);
            rc = AB_EPARSE;
            break;
        }
        unsigned line = (unsigned)ev.start_mark.line + 1;
        unsigned col = (unsigned)ev.start_mark.column + 1;
        struct conf_node *n = NULL;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                conf_error(c, line, col, "put everything in one document",
                           "a configuration file holds one YAML document; "
                           "a second one starts here");
                done = true;
            }
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT: {
            bool map = ev.type == YAML_MAPPING_START_EVENT;
            no_anchor(c, map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor,
                      ev.start_mark);
            if (b->depth == CONF_MAX_DEPTH || c->n_nodes >= CONF_MAX_NODES) {
                conf_errors_reset(c);
                conf_error(c, line, col, "simplify the document",
                           b->depth == CONF_MAX_DEPTH ? "nested deeper than %d levels"
                                                      : "more than %d values",
                           b->depth == CONF_MAX_DEPTH ? CONF_MAX_DEPTH : CONF_MAX_NODES);
                rc = AB_EPARSE;
                done = true;
                break;
            }
            n = node_new(b, map ? CONF_NODE_MAP : CONF_NODE_SEQ, ev.start_mark);
            b->stack[b->depth++] = (struct frame){.node = n};
            break;
        }
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            n = b->stack[--b->depth].node;
            attach(b, n);
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            size_t vl = ev.data.scalar.length;
            no_anchor(c, ev.data.scalar.anchor, ev.start_mark);
            if (c->n_nodes >= CONF_MAX_NODES) {
                conf_errors_reset(c);
                conf_error(c, line, col, "simplify the document", "more than %d values",
                           CONF_MAX_NODES);
                rc = AB_EPARSE;
                done = true;
                break;
            }
            n = node_new(b, CONF_NODE_SCALAR, ev.start_mark);
            if (memchr(v, '\0', vl)) {
                conf_error(c, line, col, NULL, "a value may not contain NUL characters");
                vl = strlen(v);
            }
            n->text = arena_strndup(c->arena, v, vl);
            n->is_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && plain_null(v, vl);
            attach(b, n);
            break;
        }
        case YAML_ALIAS_EVENT:
            conf_error(c, line, col, "write the value out in full where it is needed",
                       "aliases (*%s) are not supported", (const char *)ev.data.alias.anchor);
            n = node_new(b, CONF_NODE_SCALAR, ev.start_mark);
            n->text = "";
            n->is_null = true;
            attach(b, n);
            break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    if (!rc)
        *root = b->root;
    return rc;
}

/* ---- substitution ------------------------------------------------------ */

static bool env_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* Read a small file whole; NULL with errno set on failure (EFBIG when it is
 * larger than CONF_FILE_SUBST_MAX, EINVAL when it contains NUL). */
static char *read_small_file(struct arena *a, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = arena_alloc(a, CONF_FILE_SUBST_MAX + 1);
    size_t n = fread(data, 1, CONF_FILE_SUBST_MAX + 1, f);
    int err = ferror(f) ? errno : 0;
    (void)fclose(f);
    if (err) {
        errno = err ? err : EIO;
        return NULL;
    }
    if (n > CONF_FILE_SUBST_MAX) {
        errno = EFBIG;
        return NULL;
    }
    if (memchr(data, '\0', n)) {
        errno = EINVAL;
        return NULL;
    }
    data[n] = '\0';
    if (n && data[n - 1] == '\n') {
        data[--n] = '\0';
        if (n && data[n - 1] == '\r')
            data[--n] = '\0';
    }
    return data;
}

static const char *substitute(struct conf_ctx *c, const struct conf_node *node, const char *path)
{
    const char *t = node->text;
    size_t n = strlen(t);
    static const char hint_syntax[] = "write ${env:NAME} or ${file:/path/to/file}";
    if (c->flags & CONF_NO_SUBST) {
        conf_error(c, node->line, node->column, NULL,
                   "'%s': ${env:} and ${file:} references are disabled here", path);
        return NULL;
    }
    const char *value = NULL;
    if (str_has_prefix(t, "${env:")) {
        char *name = arena_strndup(c->arena, t + 6, n - 7);
        if (!env_name_ok(name)) {
            conf_error(c, node->line, node->column, hint_syntax,
                       "'%s': '%s' is not a valid environment variable name", path, name);
            return NULL;
        }
        value = getenv(name);
        if (!value) {
            conf_error(c, node->line, node->column,
                       arena_printf(c->arena, "set %s in the environment of assetbridge", name),
                       "'%s': environment variable %s is not set", path, name);
            return NULL;
        }
        value = arena_strdup(c->arena, value);
    } else if (str_has_prefix(t, "${file:")) {
        char *fpath = arena_strndup(c->arena, t + 7, n - 8);
        if (!*fpath) {
            conf_error(c, node->line, node->column, hint_syntax, "'%s': empty file name", path);
            return NULL;
        }
        value = read_small_file(c->arena, fpath);
        if (!value) {
            const char *why = errno == EFBIG    ? "larger than 64 KiB"
                              : errno == EINVAL ? "contains NUL bytes"
                                                : strerror(errno);
            conf_error(c, node->line, node->column,
                       "check that the file exists and is readable by the assetbridge user",
                       "'%s': cannot read file '%s': %s", path, fpath, why);
            return NULL;
        }
    } else {
        conf_error(c, node->line, node->column, hint_syntax, "'%s': unknown reference %s", path, t);
        return NULL;
    }
    log_add_secret(value);
    return value;
}

const char *conf_scalar(struct conf_ctx *c, const struct conf_node *node, const char *path,
                        const char *expected, const void *field)
{
    if (node->kind != CONF_NODE_SCALAR) {
        conf_error(c, node->line, node->column, NULL, "'%s' must be %s, found %s", path, expected,
                   kind_name(node));
        return NULL;
    }
    if (!is_reference(node->text))
        return node->text;
    const char *v = substitute(c, node, path);
    if (v && field) {
        struct conf_subst *s = arena_alloc(c->arena, sizeof(*s));
        s->field = field;
        s->ref = node->text;
        s->next = c->substs;
        c->substs = s;
    }
    return v;
}

const char *conf_subst_ref(const struct conf_ctx *c, const void *field)
{
    for (const struct conf_subst *s = c->substs; s; s = s->next)
        if (s->field == field)
            return s->ref;
    return NULL;
}

/* ---- decoding ------------------------------------------------------------ */

static const char *type_expected(enum conf_type t)
{
    switch (t) {
    case CONF_STRING: return "a string";
    case CONF_INT: return "an integer";
    case CONF_BOOL: return "a boolean (true or false)";
    case CONF_NUMBER: return "a number";
    case CONF_DURATION: return "a duration";
    case CONF_SIZE: return "a size";
    case CONF_ENUM: return "one of the allowed values";
    case CONF_MAP:
    case CONF_DICT: return "a mapping";
    case CONF_CUSTOM: break;
    }
    return "a value";
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE"};
    static const char *const f[] = {"false", "False", "FALSE"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, t[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(s, f[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool parse_number(const char *s, double *out)
{
    if (!*s || *s == ' ' || *s == '\t')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Decode scalar text s (node is where it came from, NULL for a default)
 * into the field of a scalar-typed entry. */
static void decode_scalar_text(struct conf_ctx *c, const struct conf_entry *e, const char *s,
                               const struct conf_node *node, const char *path, void *field)
{
    int64_t i64;
    bool b;
    double d;
    const char *hint = NULL;
    bool ok = true;

    switch (e->type) {
    case CONF_STRING:
        memcpy(field, &s, sizeof(s));
        if (e->flags & CONF_SECRET)
            log_add_secret(s);
        return;
    case CONF_INT:
        ok = str_to_i64(s, &i64) == AB_OK;
        if (ok)
            memcpy(field, &i64, sizeof(i64));
        break;
    case CONF_BOOL:
        ok = parse_bool(s, &b);
        if (ok)
            memcpy(field, &b, sizeof(b));
        break;
    case CONF_NUMBER:
        ok = parse_number(s, &d);
        if (ok)
            memcpy(field, &d, sizeof(d));
        break;
    case CONF_DURATION:
        ok = duration_parse(s, &i64) == AB_OK && i64 >= 0;
        if (ok)
            memcpy(field, &i64, sizeof(i64));
        hint = "write a number and a unit (500ms, 30s, 5m, 2h, 7d) or ISO 8601 (PT1H30M)";
        break;
    case CONF_SIZE:
        ok = config_parse_size(s, &i64) == AB_OK;
        if (ok)
            memcpy(field, &i64, sizeof(i64));
        hint = "write bytes or a binary unit: 512, 64KiB, 1MiB, 1GiB";
        break;
    case CONF_ENUM:
        for (size_t k = 0; e->values && e->values[k]; k++) {
            if (strcmp(s, e->values[k]) == 0) {
                memcpy(field, &e->values[k], sizeof(e->values[k]));
                return;
            }
        }
        if (!node) {
            conf_error(c, 0, 0, NULL, "internal: bad default '%s' for '%s'", s, path);
            return;
        }
        conf_error(c, node->line, node->column, conf_suggest(c, s, e->values, "allowed values: "),
                   "'%s' has an invalid value %s", path,
                   conf_shown(c, node, e->flags & CONF_SECRET));
        return;
    case CONF_MAP:
    case CONF_DICT:
    case CONF_CUSTOM: return;
    }
    if (ok)
        return;
    if (!node) {
        conf_error(c, 0, 0, NULL, "internal: bad default '%s' for '%s'", s, path);
        return;
    }
    conf_error(c, node->line, node->column, hint, "'%s' must be %s, found %s", path,
               type_expected(e->type), conf_shown(c, node, e->flags & CONF_SECRET));
}

static void decode_map(struct conf_ctx *c, const struct conf_entry *me,
                       const struct conf_node *node, const char *path, void *base)
{
    const struct conf_entry *entries = me->entries;
    const struct conf_node *anchor = node;
    if (node && node->kind == CONF_NODE_SCALAR && node->is_null)
        node = NULL; /* "key:" with nothing: an empty mapping */
    if (node && node->kind != CONF_NODE_MAP) {
        conf_error(c, node->line, node->column, NULL, "'%s' must be a mapping, found %s", path,
                   conf_shown(c, node, false));
        node = NULL;
        anchor = NULL; /* do not pile "missing" errors on top */
    }
    for (size_t i = 0; node && i < node->n_pairs; i++) {
        const struct conf_pair *p = &node->pairs[i];
        bool known = false;
        for (const struct conf_entry *e = entries; e && e->name && !known; e++)
            known = strcmp(e->name, p->key) == 0;
        if (known)
            continue;
        const char *hint = me->unknown_hint;
        if (!hint) {
            size_t n = 0;
            for (const struct conf_entry *e = entries; e && e->name; e++)
                n++;
            const char **names = arena_alloc(c->arena, (n + 1) * sizeof(*names));
            for (size_t k = 0; k < n; k++)
                names[k] = entries[k].name;
            names[n] = NULL;
            hint = n ? conf_suggest(c, p->key, names, "allowed keys here: ")
                     : "no keys are allowed here";
        }
        conf_error(c, p->line, p->column, hint, "unknown key '%s'", conf_path(c, path, p->key));
    }
    for (const struct conf_entry *e = entries; e && e->name; e++) {
        const struct conf_node *child = conf_map_get(node, e->name);
        const char *cpath = conf_path(c, path, e->name);
        if (!child && anchor && (e->flags & CONF_REQUIRED)) {
            unsigned line = anchor->key_line ? anchor->key_line : anchor->line;
            unsigned col = anchor->key_line ? anchor->key_column : anchor->column;
            conf_error(c, line, col, e->doc, "missing required key '%s'", cpath);
        }
        conf_decode_entry(c, e, child, cpath, base);
    }
}

static void decode_dict(struct conf_ctx *c, const struct conf_entry *e,
                        const struct conf_node *node, const char *path, void *base)
{
    char *b = base;
    void *arr = NULL;
    size_t k = 0;
    if (node && node->kind != CONF_NODE_MAP && !(node->kind == CONF_NODE_SCALAR && node->is_null))
        conf_error(c, node->line, node->column, NULL, "'%s' must be a mapping, found %s", path,
                   conf_shown(c, node, false));
    else if (node && node->kind == CONF_NODE_MAP && node->n_pairs)
        arr = arena_zalloc(c->arena, node->n_pairs * e->elem_size);
    for (size_t i = 0; arr && i < node->n_pairs; i++) {
        const struct conf_pair *p = &node->pairs[i];
        const char *ipath = conf_path(c, path, p->key);
        if (e->values) {
            bool known = false;
            for (size_t v = 0; e->values[v] && !known; v++)
                known = strcmp(e->values[v], p->key) == 0;
            if (!known) {
                conf_error(c, p->line, p->column,
                           conf_suggest(c, p->key, e->values, "allowed keys here: "),
                           "unknown key '%s'", ipath);
                continue;
            }
        }
        char *elem = (char *)arr + k * e->elem_size;
        memcpy(elem + e->name_offset, &p->key, sizeof(p->key));
        conf_decode_entry(c, e->item, p->value, ipath, elem);
        k++;
    }
    memcpy(b + e->offset, &arr, sizeof(arr));
    memcpy(b + e->count_offset, &k, sizeof(k));
}

void conf_decode_entry(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                       const char *path, void *base)
{
    char *field = (char *)base + e->offset;
    bool absent = !node || (node->kind == CONF_NODE_SCALAR && node->is_null);
    bool scalar = e->type != CONF_MAP && e->type != CONF_DICT && e->type != CONF_CUSTOM;
    size_t before = conf_error_count(c);
    switch (e->type) {
    case CONF_MAP: decode_map(c, e, node, path, field); break;
    case CONF_DICT: decode_dict(c, e, node, path, base); break;
    case CONF_CUSTOM: e->decode(c, e, absent ? NULL : node, path, base); break;
    default:
        if (absent) {
            if (node && (e->flags & CONF_REQUIRED))
                conf_error(c, node->line, node->column, e->doc, "'%s' has no value", path);
            if (e->def)
                decode_scalar_text(c, e, e->def, NULL, path, field);
            break;
        }
        const char *s = conf_scalar(c, node, path, type_expected(e->type), field);
        if (s)
            decode_scalar_text(c, e, s, node, path, field);
        break;
    }
    /* A scalar that failed to decode is not checked again; mappings are, so
     * cross-references among their valid parts are still reported. */
    if (e->check && (!scalar || conf_error_count(c) == before))
        e->check(c, e, node, path, base);
}

void conf_decode(struct conf_ctx *c, const struct conf_entry *entries, const struct conf_node *root,
                 void *base)
{
    const struct conf_entry top = {.name = "", .type = CONF_MAP, .entries = entries};
    if (root && root->kind != CONF_NODE_MAP && !(root->kind == CONF_NODE_SCALAR && root->is_null)) {
        conf_error(c, root->line, root->column, "start the file with keys such as 'server:'",
                   "the configuration must be a mapping, found %s", kind_name(root));
        root = NULL;
    } else if (!root || root->kind == CONF_NODE_SCALAR) {
        /* An empty document is an empty mapping; missing keys point at 1:1. */
        struct conf_node *empty = arena_zalloc(c->arena, sizeof(*empty));
        empty->kind = CONF_NODE_MAP;
        empty->line = empty->column = 1;
        root = empty;
    }
    decode_map(c, &top, root, "", base);
}

/* ---- printing ------------------------------------------------------------ */

static bool plain_safe(const char *s)
{
    if (!*s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.' || *s == '/'))
            return false;
    return true;
}

void conf_print_quoted(FILE *out, const char *s)
{
    (void)fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            (void)fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            (void)fputs("\\n", out);
        else if (ch == '\t')
            (void)fputs("\\t", out);
        else if (ch < 0x20 || ch == 0x7f)
            (void)fprintf(out, "\\x%02x", ch);
        else
            (void)fputc(ch, out);
    }
    (void)fputc('"', out);
}

void conf_print_key(FILE *out, const char *key)
{
    if (plain_safe(key) && strcmp(key, "null") != 0 && strcmp(key, "true") != 0 &&
        strcmp(key, "false") != 0)
        (void)fputs(key, out);
    else
        conf_print_quoted(out, key);
}

static void print_duration(FILE *out, int64_t ms)
{
    static const struct {
        int64_t div;
        const char *unit;
    } u[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; ms && i < sizeof(u) / sizeof(u[0]); i++) {
        if (ms % u[i].div == 0) {
            (void)fprintf(out, "%" PRId64 "%s", ms / u[i].div, u[i].unit);
            return;
        }
    }
    (void)fprintf(out, "%" PRId64 "ms", ms);
}

static void print_size(FILE *out, int64_t n)
{
    static const struct {
        int64_t div;
        const char *unit;
    } u[] = {{INT64_C(1) << 40, "TiB"},
             {INT64_C(1) << 30, "GiB"},
             {INT64_C(1) << 20, "MiB"},
             {INT64_C(1) << 10, "KiB"}};
    for (size_t i = 0; n && i < sizeof(u) / sizeof(u[0]); i++) {
        if (n % u[i].div == 0) {
            (void)fprintf(out, "%" PRId64 "%s", n / u[i].div, u[i].unit);
            return;
        }
    }
    (void)fprintf(out, "%" PRId64, n);
}

static void print_value(const struct conf_ctx *c, const struct conf_entry *e, const void *base,
                        FILE *out, int indent)
{
    const char *field = (const char *)base + e->offset;
    const char *ref = e->type == CONF_MAP || e->type == CONF_DICT || e->type == CONF_CUSTOM
                          ? NULL
                          : conf_subst_ref(c, field);
    const char *s;
    int64_t i64;
    bool b;
    double d;

    if (ref) {
        (void)fputc(' ', out);
        conf_print_quoted(out, ref);
        (void)fputc('\n', out);
        return;
    }
    switch (e->type) {
    case CONF_STRING:
    case CONF_ENUM:
        memcpy(&s, field, sizeof(s));
        (void)fputc(' ', out);
        if (!s)
            (void)fputs("null", out);
        else if (e->flags & CONF_SECRET)
            (void)fputs("\"[redacted]\"", out);
        else if (e->type == CONF_ENUM)
            (void)fputs(s, out);
        else
            conf_print_quoted(out, s);
        break;
    case CONF_INT:
        memcpy(&i64, field, sizeof(i64));
        (void)fprintf(out, " %" PRId64, i64);
        break;
    case CONF_BOOL:
        memcpy(&b, field, sizeof(b));
        (void)fputs(b ? " true" : " false", out);
        break;
    case CONF_NUMBER:
        memcpy(&d, field, sizeof(d));
        (void)fprintf(out, " %.15g", d);
        break;
    case CONF_DURATION:
        memcpy(&i64, field, sizeof(i64));
        (void)fputc(' ', out);
        print_duration(out, i64);
        break;
    case CONF_SIZE:
        memcpy(&i64, field, sizeof(i64));
        (void)fputc(' ', out);
        print_size(out, i64);
        break;
    case CONF_MAP:
        if (!e->entries || !e->entries[0].name) {
            (void)fputs(" {}", out);
            break;
        }
        (void)fputc('\n', out);
        conf_print(c, e->entries, field, out, indent + 2);
        return;
    case CONF_DICT: {
        const char *arr;
        size_t n;
        memcpy(&arr, field, sizeof(arr));
        memcpy(&n, (const char *)base + e->count_offset, sizeof(n));
        if (!n) {
            (void)fputs(" {}", out);
            break;
        }
        (void)fputc('\n', out);
        for (size_t i = 0; i < n; i++) {
            const char *elem = arr + i * e->elem_size;
            const char *name;
            memcpy(&name, elem + e->name_offset, sizeof(name));
            (void)fprintf(out, "%*s", indent + 2, "");
            conf_print_key(out, name);
            (void)fputc(':', out);
            print_value(c, e->item, elem, out, indent + 2);
        }
        return;
    }
    case CONF_CUSTOM: e->print(c, e, base, out, indent); return;
    }
    (void)fputc('\n', out);
}

void conf_print(const struct conf_ctx *c, const struct conf_entry *entries, const void *base,
                FILE *out, int indent)
{
    for (const struct conf_entry *e = entries; e && e->name; e++) {
        (void)fprintf(out, "%*s", indent, "");
        conf_print_key(out, e->name);
        (void)fputc(':', out);
        print_value(c, e, base, out, indent);
    }
}
