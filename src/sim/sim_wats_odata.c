/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_wats_odata.c: the OData $filter/$orderby subset of the `wats`
 * simulator, compiled to SQLite SQL with bound parameters. See
 * sim_wats_odata.h. A recursive-descent parser over a small lexer; each
 * rule returns the SQL text of what it parsed (arena strings) and appends
 * literals to the parameter list in the order their `?` appear.
 */
#include "sim/sim_wats_odata.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timefmt.h"

enum tok_kind {
    T_END,
    T_IDENT,
    T_STRING,
    T_INT,
    T_DOUBLE,
    T_GUID,
    T_DATETIME,
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
};

struct tok {
    enum tok_kind k;
    size_t pos, len;  /* in the input */
    const char *text; /* T_IDENT, T_STRING (decoded), T_GUID (lower case) */
    int64_t i;        /* T_INT, T_DATETIME (ms) */
    double d;         /* T_DOUBLE */
};

struct parser {
    struct arena *a;
    const char *s;
    size_t n, pos;
    const struct odata_field *fields;
    size_t n_fields;
    struct odata_sql *out;
    char *err;
    bool failed;
    int depth;
    unsigned flags; /* ODATA_F_* */
};

/* An operand of a comparison: a property (maybe inside a string function),
 * a literal, or null. */
struct operand {
    enum { O_FIELD, O_LIT, O_NULL } kind;
    enum odata_type type;
    const char *sql; /* for O_FIELD; "?" for O_LIT */
    struct odata_param p;
    const struct odata_field *field;
    size_t pos;
};

static void fail(struct parser *p, size_t pos, const char *fmt, ...) AB_PRINTF(3, 4);

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->err, ODATA_ERR_MAX, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < ODATA_ERR_MAX - 1)
        snprintf(p->err + n, ODATA_ERR_MAX - (size_t)n, " (at position %zu)", pos);
}

static const char *type_name(enum odata_type t)
{
    switch (t) {
    case ODATA_STRING: return "Edm.String";
    case ODATA_INT: return "Edm.Int32";
    case ODATA_DOUBLE: return "Edm.Double";
    case ODATA_BOOL: return "Edm.Boolean";
    case ODATA_GUID: return "Edm.Guid";
    case ODATA_DATETIME: return "Edm.DateTimeOffset";
    case ODATA_XML: return "Edm.String (XML)";
    }
    return "?";
}

/* ---- lexer ------------------------------------------------------------------ */

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static bool is_hex(char c)
{
    return isxdigit((unsigned char)c) != 0;
}

bool odata_guid_normalize(const char *s, char out[37])
{
    static const int groups[] = {8, 4, 4, 4, 12};
    size_t k = 0;
    for (int g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, k++) {
            if (!is_hex(s[k]))
                return false;
            out[k] = (char)tolower((unsigned char)s[k]);
        }
        if (g < 4) {
            if (s[k] != '-')
                return false;
            out[k++] = '-';
        }
    }
    out[36] = '\0';
    return s[36] == '\0';
}

/* A GUID starting at s[0..n)? */
static bool lex_guid(const char *s, size_t n, char out[37])
{
    if (n < 36 || (n > 36 && ident_char(s[36])))
        return false;
    char tmp[37];
    memcpy(tmp, s, 36);
    tmp[36] = '\0';
    return odata_guid_normalize(tmp, out);
}

/* A date-time (RFC 3339, zone optional: UTC) or a date starting at s. */
static bool lex_datetime(const char *s, size_t n, size_t *len, int64_t *ms)
{
    if (n < 10 || !isdigit((unsigned char)s[0]) || s[4] != '-' || s[7] != '-')
        return false;
    size_t k = 0;
    while (
        k < n && k < 40 &&
        (isalnum((unsigned char)s[k]) || s[k] == ':' || s[k] == '.' || s[k] == '-' || s[k] == '+'))
        k++;
    char buf[48];
    if (k < 10)
        return false;
    if (k == 10) {
        snprintf(buf, sizeof(buf), "%.10sT00:00:00Z", s);
    } else {
        memcpy(buf, s, k);
        buf[k] = '\0';
        /* no zone: UTC */
        bool zone = buf[k - 1] == 'Z' || buf[k - 1] == 'z' ||
                    (k > 6 && (buf[k - 6] == '+' || buf[k - 6] == '-') && buf[k - 3] == ':');
        if (!zone && k + 1 < sizeof(buf)) {
            buf[k] = 'Z';
            buf[k + 1] = '\0';
        }
    }
    if (time_parse_rfc3339(buf, ms) != AB_OK)
        return false;
    *len = k;
    return true;
}

/* A V2 typed literal at s: prefix s[0..k) then '...' (ODATA_F_TYPED_LITERALS):
 * datetime'2024-01-31T00:00[:00[.fff]]' (UTC), datetimeoffset'<RFC 3339>',
 * guid'<GUID>'. No quote doubling: none of these values holds a quote. */
static bool lex_typed(struct parser *p, struct tok *t, const char *s, size_t k, size_t rest)
{
    size_t end = k + 1;
    while (end < rest && s[end] != '\'')
        end++;
    if (end >= rest) {
        fail(p, t->pos, "unterminated string literal");
        return false;
    }
    size_t vlen = end - k - 1;
    const char *v = s + k + 1;
    bool dt = k == 8 && strncasecmp(s, "datetime", 8) == 0;
    bool dto = k == 14 && strncasecmp(s, "datetimeoffset", 14) == 0;
    bool guid = k == 4 && strncasecmp(s, "guid", 4) == 0;
    char buf[48];
    if ((dt || dto) && vlen >= 16 && vlen < 40) {
        memcpy(buf, v, vlen);
        buf[vlen] = '\0';
        if (vlen == 16 && buf[10] == 'T') /* datetime'2024-01-31T00:00' */
            snprintf(buf + 16, sizeof(buf) - 16, ":00");
        size_t len;
        int64_t ms;
        bool zone = strpbrk(buf + 10, "Zz+") || strchr(buf + 11, '-');
        if ((dto || !zone) && lex_datetime(buf, strlen(buf), &len, &ms) && len == strlen(buf)) {
            t->k = T_DATETIME;
            t->i = ms;
            t->len = end + 1;
            p->pos += end + 1;
            return true;
        }
    } else if (guid && vlen == 36) {
        char g[37];
        if (lex_guid(v, vlen, g)) {
            t->k = T_GUID;
            t->text = arena_strdup(p->a, g);
            t->len = end + 1;
            p->pos += end + 1;
            return true;
        }
    }
    fail(p, t->pos, "invalid typed literal '%.*s'", (int)(end + 1 > 60 ? 60 : end + 1), s);
    return false;
}

/* Read the next token at p->pos (advancing). False on a lexical error. */
static bool lex(struct parser *p, struct tok *t)
{
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
        p->pos++;
    memset(t, 0, sizeof(*t));
    t->pos = p->pos;
    if (p->pos >= p->n) {
        t->k = T_END;
        return true;
    }
    const char *s = p->s + p->pos;
    size_t rest = p->n - p->pos;
    char c = s[0];
    if (c == '(' || c == ')' || c == ',') {
        t->k = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
        t->len = 1;
        p->pos++;
        return true;
    }
    if (c == '\'') {
        char *v = arena_alloc(p->a, rest + 1);
        size_t k = 1, o = 0;
        for (;;) {
            if (k >= rest) {
                fail(p, t->pos, "unterminated string literal");
                return false;
            }
            if (s[k] == '\'') {
                if (k + 1 < rest && s[k + 1] == '\'') {
                    v[o++] = '\'';
                    k += 2;
                    continue;
                }
                k++;
                break;
            }
            v[o++] = s[k++];
        }
        v[o] = '\0';
        t->k = T_STRING;
        t->text = v;
        t->len = k;
        p->pos += k;
        return true;
    }
    char g[37];
    if (lex_guid(s, rest, g)) {
        t->k = T_GUID;
        t->text = arena_strdup(p->a, g);
        t->len = 36;
        p->pos += 36;
        return true;
    }
    size_t len;
    int64_t ms;
    if (lex_datetime(s, rest, &len, &ms)) {
        t->k = T_DATETIME;
        t->i = ms;
        t->len = len;
        p->pos += len;
        return true;
    }
    if (isdigit((unsigned char)c) || (c == '-' && rest > 1 && isdigit((unsigned char)s[1]))) {
        size_t k = c == '-' ? 1 : 0;
        bool real = false;
        while (k < rest && isdigit((unsigned char)s[k]))
            k++;
        if (k + 1 < rest && s[k] == '.' && isdigit((unsigned char)s[k + 1])) {
            real = true;
            k++;
            while (k < rest && isdigit((unsigned char)s[k]))
                k++;
        }
        if (k < rest && (s[k] == 'e' || s[k] == 'E')) {
            size_t e = k + 1;
            if (e < rest && (s[e] == '+' || s[e] == '-'))
                e++;
            if (e < rest && isdigit((unsigned char)s[e])) {
                real = true;
                k = e;
                while (k < rest && isdigit((unsigned char)s[k]))
                    k++;
            }
        }
        if (k < rest && ident_char(s[k])) {
            fail(p, t->pos, "malformed number literal");
            return false;
        }
        char num[64];
        if (k >= sizeof(num)) {
            fail(p, t->pos, "number literal too long");
            return false;
        }
        memcpy(num, s, k);
        num[k] = '\0';
        errno = 0;
        char *end;
        if (real) {
            t->k = T_DOUBLE;
            t->d = strtod(num, &end);
        } else {
            t->k = T_INT;
            t->i = strtoll(num, &end, 10);
        }
        if (errno || *end) {
            fail(p, t->pos, "number literal '%s' out of range", num);
            return false;
        }
        t->len = k;
        p->pos += k;
        return true;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        size_t k = 0;
        while (k < rest && ident_char(s[k]))
            k++;
        if ((p->flags & ODATA_F_TYPED_LITERALS) && k < rest && s[k] == '\'')
            return lex_typed(p, t, s, k, rest);
        t->k = T_IDENT;
        t->text = arena_strndup(p->a, s, k);
        t->len = k;
        p->pos += k;
        return true;
    }
    fail(p, t->pos, "syntax error: unexpected character '%c'", isprint((unsigned char)c) ? c : '?');
    return false;
}

static bool peek(struct parser *p, struct tok *t)
{
    size_t save = p->pos;
    bool ok = lex(p, t);
    p->pos = save;
    return ok;
}

static bool kw(const struct tok *t, const char *word)
{
    return t->k == T_IDENT && strcasecmp(t->text, word) == 0;
}

/* ---- parser ------------------------------------------------------------------ */

static const struct odata_field *find_field(struct parser *p, const char *name)
{
    bool exact = p->flags & ODATA_F_CASE_SENSITIVE;
    for (size_t i = 0; i < p->n_fields; i++)
        if ((exact ? strcmp : strcasecmp)(p->fields[i].name, name) == 0)
            return &p->fields[i];
    return NULL;
}

static bool push_param(struct parser *p, const struct odata_param *v, size_t pos)
{
    if (p->out->n_params >= ODATA_PARAMS_MAX) {
        fail(p, pos, "the filter has too many literals (at most %d)", ODATA_PARAMS_MAX);
        return false;
    }
    p->out->params[p->out->n_params++] = *v;
    return true;
}

static const char *parse_or(struct parser *p);

/* prop, tolower(prop), toupper(prop), trim(prop), or a literal. */
static bool parse_operand(struct parser *p, struct operand *o)
{
    struct tok t;
    if (!lex(p, &t))
        return false;
    memset(o, 0, sizeof(*o));
    o->pos = t.pos;
    o->sql = "?";
    o->kind = O_LIT;
    switch (t.k) {
    case T_STRING:
        o->type = ODATA_STRING;
        o->p = (struct odata_param){.kind = ODATA_P_TEXT, .text = t.text};
        return true;
    case T_INT:
        o->type = ODATA_INT;
        o->p = (struct odata_param){.kind = ODATA_P_INT, .i = t.i};
        return true;
    case T_DOUBLE:
        o->type = ODATA_DOUBLE;
        o->p = (struct odata_param){.kind = ODATA_P_DOUBLE, .d = t.d};
        return true;
    case T_GUID:
        o->type = ODATA_GUID;
        o->p = (struct odata_param){.kind = ODATA_P_TEXT, .text = t.text};
        return true;
    case T_DATETIME:
        o->type = ODATA_DATETIME;
        o->p = (struct odata_param){.kind = ODATA_P_INT, .i = t.i};
        return true;
    case T_IDENT: break;
    case T_END:
        fail(p, t.pos,
             "syntax error: the expression ends where a property or a literal was "
             "expected");
        return false;
    default: fail(p, t.pos, "syntax error: expected a property or a literal"); return false;
    }
    if (kw(&t, "true") || kw(&t, "false")) {
        o->type = ODATA_BOOL;
        o->p = (struct odata_param){.kind = ODATA_P_INT, .i = kw(&t, "true")};
        return true;
    }
    if (kw(&t, "null")) {
        o->kind = O_NULL;
        o->sql = "NULL";
        return true;
    }
    struct tok n;
    if (!peek(p, &n))
        return false;
    if (n.k == T_LPAREN) {
        const char *fn = kw(&t, "tolower")   ? "lower"
                         : kw(&t, "toupper") ? "upper"
                         : kw(&t, "trim")    ? "trim"
                                             : NULL;
        if (!fn) {
            fail(p, t.pos, "unknown or unsupported function '%s'", t.text);
            return false;
        }
        if (++p->depth > ODATA_DEPTH_MAX) {
            fail(p, t.pos, "the filter is nested too deeply");
            return false;
        }
        (void)lex(p, &n);
        struct operand in;
        if (!parse_operand(p, &in))
            return false;
        p->depth--;
        if (in.kind != O_FIELD || in.type != ODATA_STRING) {
            fail(p, in.pos, "function '%s' takes a string property", t.text);
            return false;
        }
        if (!lex(p, &n))
            return false;
        if (n.k != T_RPAREN) {
            fail(p, n.pos, "syntax error: expected ')' after the argument of '%s'", t.text);
            return false;
        }
        o->kind = O_FIELD;
        o->type = ODATA_STRING;
        o->field = in.field;
        o->sql = arena_printf(p->a, "%s(%s)", fn, in.sql);
        return true;
    }
    const struct odata_field *f = find_field(p, t.text);
    if (!f) {
        fail(p, t.pos, "Could not find a property named '%s'", t.text);
        return false;
    }
    o->kind = O_FIELD;
    o->type = f->type;
    o->field = f;
    o->sql = f->sql;
    return true;
}

static bool numeric(enum odata_type t)
{
    return t == ODATA_INT || t == ODATA_DOUBLE;
}

static bool compatible(enum odata_type a, enum odata_type b)
{
    return a == b || (numeric(a) && numeric(b));
}

/* Emit an operand's SQL, pushing its parameter. */
static const char *emit(struct parser *p, const struct operand *o)
{
    if (o->kind == O_LIT && !push_param(p, &o->p, o->pos))
        return NULL;
    return o->sql;
}

/* xmlData eq '//Name' or '//Name[@Value='v']' */
static const char *xml_filter(struct parser *p, const struct operand *field,
                              const struct operand *lit)
{
    const char *x = lit->p.text;
    if (strncmp(x, "//", 2) != 0) {
        fail(p, lit->pos, "xmlData filters take an XPath of the form '//TagName'");
        return NULL;
    }
    x += 2;
    size_t k = 0;
    while (ident_char(x[k]) || x[k] == '-' || x[k] == '.')
        k++;
    if (k == 0 || !(isalpha((unsigned char)x[0]) || x[0] == '_')) {
        fail(p, lit->pos, "xmlData XPath: expected a tag name after '//'");
        return NULL;
    }
    struct odata_param name = {.kind = ODATA_P_TEXT, .text = arena_strndup(p->a, x, k)};
    if (x[k] == '\0') {
        if (!push_param(p, &name, lit->pos))
            return NULL;
        return arena_printf(p->a,
                            "EXISTS(SELECT 1 FROM json_each(%s) WHERE "
                            "json_extract(value, '$.key') = ?)",
                            field->sql);
    }
    const char *v = x + k;
    static const char pre[] = "[@Value='";
    size_t vl = strlen(v);
    if (strncmp(v, pre, sizeof(pre) - 1) != 0 || vl < sizeof(pre) + 1 ||
        strcmp(v + vl - 2, "']") != 0) {
        fail(p, lit->pos,
             "xmlData XPath: only '//TagName' and '//TagName[@Value='v']' are supported");
        return NULL;
    }
    struct odata_param val = {
        .kind = ODATA_P_TEXT,
        .text = arena_strndup(p->a, v + sizeof(pre) - 1, vl - (sizeof(pre) - 1) - 2),
    };
    if (strchr(val.text, '\'')) {
        fail(p, lit->pos, "xmlData XPath: a quote inside the value is not supported");
        return NULL;
    }
    if (!push_param(p, &name, lit->pos) || !push_param(p, &val, lit->pos))
        return NULL;
    return arena_printf(p->a,
                        "EXISTS(SELECT 1 FROM json_each(%s) WHERE json_extract(value, '$.key') = "
                        "? AND json_extract(value, '$.value') = ?)",
                        field->sql);
}

static const char *comparison(struct parser *p, const struct operand *l, const char *op,
                              const struct operand *r, size_t op_pos)
{
    if ((l->kind == O_FIELD && l->type == ODATA_XML) ||
        (r->kind == O_FIELD && r->type == ODATA_XML)) {
        const struct operand *f = l->kind == O_FIELD && l->type == ODATA_XML ? l : r;
        const struct operand *v = f == l ? r : l;
        if (strcmp(op, "eq") != 0) {
            fail(p, op_pos, "'%s' only supports the 'eq' operator", f->field->name);
            return NULL;
        }
        if (v->kind != O_LIT || v->type != ODATA_STRING || f->sql != f->field->sql) {
            fail(p, v->pos, "'%s' must be compared with an XPath string literal", f->field->name);
            return NULL;
        }
        return xml_filter(p, f, v);
    }
    if (l->kind == O_NULL || r->kind == O_NULL) {
        const struct operand *o = l->kind == O_NULL ? r : l;
        if (o->kind == O_NULL)
            return strcmp(op, "eq") == 0 ? "1" : "0";
        if (strcmp(op, "eq") != 0 && strcmp(op, "ne") != 0)
            return "0"; /* an ordering against null is never true (and binds nothing) */
        const char *sql = emit(p, o);
        if (!sql)
            return NULL;
        if (strcmp(op, "eq") == 0)
            return arena_printf(p->a, "(%s IS NULL)", sql);
        return arena_printf(p->a, "(%s IS NOT NULL)", sql);
    }
    if (l->kind == O_LIT && r->kind == O_LIT) {
        fail(p, l->pos, "a comparison needs a property on one side");
        return NULL;
    }
    if (!compatible(l->type, r->type)) {
        fail(p, op_pos,
             "A binary operator with incompatible types was detected. Found operand types "
             "'%s' and '%s' for operator kind '%s'",
             type_name(l->type), type_name(r->type), op);
        return NULL;
    }
    const char *sop = strcmp(op, "eq") == 0   ? "="
                      : strcmp(op, "ne") == 0 ? "IS NOT"
                      : strcmp(op, "gt") == 0 ? ">"
                      : strcmp(op, "ge") == 0 ? ">="
                      : strcmp(op, "lt") == 0 ? "<"
                                              : "<=";
    const char *ls = emit(p, l);
    const char *rs = ls ? emit(p, r) : NULL;
    if (!rs)
        return NULL;
    return arena_printf(p->a, "COALESCE((%s %s %s), 0)", ls, sop, rs);
}

/* contains/startswith/endswith(prop, 'text') */
static const char *string_predicate(struct parser *p, const struct tok *fn)
{
    struct tok t;
    (void)lex(p, &t); /* '(' */
    struct operand a, b;
    if (!parse_operand(p, &a))
        return NULL;
    if (!lex(p, &t))
        return NULL;
    if (t.k != T_COMMA) {
        fail(p, t.pos, "syntax error: '%s' takes two arguments", fn->text);
        return NULL;
    }
    if (!parse_operand(p, &b))
        return NULL;
    if (!lex(p, &t))
        return NULL;
    if (t.k != T_RPAREN) {
        fail(p, t.pos, "syntax error: expected ')' to close '%s'", fn->text);
        return NULL;
    }
    if (a.kind != O_FIELD || a.type != ODATA_STRING || b.kind != O_LIT || b.type != ODATA_STRING) {
        fail(p, a.pos, "'%s' takes a string property and a string literal", fn->text);
        return NULL;
    }
    const char *as = emit(p, &a);
    if (!as || !emit(p, &b))
        return NULL;
    if (kw(fn, "contains"))
        return arena_printf(p->a, "COALESCE(instr(%s, ?) > 0, 0)", as);
    if (kw(fn, "startswith"))
        return arena_printf(p->a, "COALESCE(instr(%s, ?) = 1, 0)", as);
    if (!push_param(p, &b.p, b.pos)) /* endswith binds the literal twice */
        return NULL;
    return arena_printf(p->a, "COALESCE(substr(%s, -length(?)) = ?, 0)", as);
}

static const char *parse_primary(struct parser *p)
{
    struct tok t;
    if (!peek(p, &t))
        return NULL;
    if (++p->depth > ODATA_DEPTH_MAX) {
        fail(p, t.pos, "the filter is nested too deeply (at most %d levels)", ODATA_DEPTH_MAX);
        return NULL;
    }
    const char *out = NULL;
    if (t.k == T_LPAREN) {
        (void)lex(p, &t);
        const char *e = parse_or(p);
        if (!e)
            return NULL;
        if (!lex(p, &t))
            return NULL;
        if (t.k != T_RPAREN) {
            fail(p, t.pos, "syntax error: expected ')'");
            return NULL;
        }
        out = arena_printf(p->a, "(%s)", e);
    } else if (kw(&t, "not")) {
        (void)lex(p, &t);
        const char *e = parse_primary(p);
        if (!e)
            return NULL;
        out = arena_printf(p->a, "(NOT %s)", e);
    } else if (kw(&t, "contains") || kw(&t, "startswith") || kw(&t, "endswith")) {
        struct tok fn = t;
        (void)lex(p, &t);
        struct tok n;
        if (!peek(p, &n))
            return NULL;
        if (n.k != T_LPAREN) {
            fail(p, n.pos, "syntax error: expected '(' after '%s'", fn.text);
            return NULL;
        }
        out = string_predicate(p, &fn);
    } else {
        struct operand l, r;
        if (!parse_operand(p, &l))
            return NULL;
        struct tok op;
        if (!peek(p, &op))
            return NULL;
        static const char *const ops[] = {"eq", "ne", "gt", "ge", "lt", "le"};
        const char *which = NULL;
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (kw(&op, ops[i]))
                which = ops[i];
        if (which) {
            (void)lex(p, &op);
            if (!parse_operand(p, &r))
                return NULL;
            out = comparison(p, &l, which, &r, op.pos);
        } else if (kw(&op, "in")) {
            (void)lex(p, &op);
            if (l.kind != O_FIELD || l.type == ODATA_XML) {
                fail(p, l.pos, "'in' needs a property on its left");
                return NULL;
            }
            if (!lex(p, &t))
                return NULL;
            if (t.k != T_LPAREN) {
                fail(p, t.pos, "syntax error: expected '(' after 'in'");
                return NULL;
            }
            const char *list = "";
            for (;;) {
                if (!parse_operand(p, &r))
                    return NULL;
                if (r.kind != O_LIT || !compatible(l.type, r.type)) {
                    fail(p, r.pos, "'in' takes literals of the property's type (%s)",
                         type_name(l.type));
                    return NULL;
                }
                if (!emit(p, &r))
                    return NULL;
                list = *list ? arena_printf(p->a, "%s, ?", list) : "?";
                if (!lex(p, &t))
                    return NULL;
                if (t.k == T_RPAREN)
                    break;
                if (t.k != T_COMMA) {
                    fail(p, t.pos, "syntax error: expected ',' or ')' in the 'in' list");
                    return NULL;
                }
            }
            out = arena_printf(p->a, "COALESCE((%s IN (%s)), 0)", l.sql, list);
        } else if (l.kind == O_FIELD && l.type == ODATA_BOOL) {
            out = arena_printf(p->a, "COALESCE((%s = 1), 0)", l.sql);
        } else {
            if (op.k == T_END)
                fail(p, op.pos, "syntax error: the expression ends after an operand");
            else
                fail(p, op.pos,
                     "syntax error: expected a comparison operator (eq, ne, gt, ge, "
                     "lt, le, in)");
            return NULL;
        }
    }
    p->depth--;
    return out;
}

static const char *parse_and(struct parser *p)
{
    const char *l = parse_primary(p);
    while (l) {
        struct tok t;
        if (!peek(p, &t))
            return NULL;
        if (!kw(&t, "and"))
            break;
        (void)lex(p, &t);
        const char *r = parse_primary(p);
        if (!r)
            return NULL;
        l = arena_printf(p->a, "%s AND %s", l, r);
    }
    return l;
}

static const char *parse_or(struct parser *p)
{
    const char *l = parse_and(p);
    while (l) {
        struct tok t;
        if (!peek(p, &t))
            return NULL;
        if (!kw(&t, "or"))
            break;
        (void)lex(p, &t);
        const char *r = parse_and(p);
        if (!r)
            return NULL;
        l = arena_printf(p->a, "(%s OR %s)", l, r);
    }
    return l;
}

static bool blank(const char *text)
{
    for (; *text; text++)
        if (*text != ' ' && *text != '\t')
            return false;
    return true;
}

enum ab_rc odata_filter_compile(struct arena *a, const char *text, const struct odata_field *fields,
                                size_t n_fields, struct odata_sql *out, char err[ODATA_ERR_MAX])
{
    return odata_filter_compile_ex(a, text, fields, n_fields, 0, out, err);
}

enum ab_rc odata_filter_compile_ex(struct arena *a, const char *text,
                                   const struct odata_field *fields, size_t n_fields,
                                   unsigned flags, struct odata_sql *out, char err[ODATA_ERR_MAX])
{
    out->sql = "";
    out->n_params = 0;
    err[0] = '\0';
    if (!text || blank(text))
        return AB_OK;
    size_t n = strlen(text);
    if (n > ODATA_TEXT_MAX) {
        snprintf(err, ODATA_ERR_MAX, "the filter is longer than %d characters", ODATA_TEXT_MAX);
        return AB_EINVAL;
    }
    struct parser p = {.a = a,
                       .s = text,
                       .n = n,
                       .fields = fields,
                       .n_fields = n_fields,
                       .out = out,
                       .err = err,
                       .flags = flags};
    const char *sql = parse_or(&p);
    struct tok t;
    if (sql && lex(&p, &t) && t.k != T_END)
        fail(&p, t.pos, "syntax error: unexpected '%.*s'", (int)(t.len > 40 ? 40 : t.len),
             text + t.pos);
    if (!sql || p.failed) {
        if (!err[0])
            snprintf(err, ODATA_ERR_MAX, "invalid filter");
        out->sql = "";
        out->n_params = 0;
        return AB_EINVAL;
    }
    out->sql = sql;
    return AB_OK;
}

enum ab_rc odata_orderby_compile(struct arena *a, const char *text,
                                 const struct odata_field *fields, size_t n_fields,
                                 const char **out, char err[ODATA_ERR_MAX])
{
    return odata_orderby_compile_ex(a, text, fields, n_fields, 0, out, err);
}

enum ab_rc odata_orderby_compile_ex(struct arena *a, const char *text,
                                    const struct odata_field *fields, size_t n_fields,
                                    unsigned flags, const char **out, char err[ODATA_ERR_MAX])
{
    *out = "";
    err[0] = '\0';
    if (!text || blank(text))
        return AB_OK;
    size_t n = strlen(text);
    if (n > ODATA_TEXT_MAX) {
        snprintf(err, ODATA_ERR_MAX, "$orderby is longer than %d characters", ODATA_TEXT_MAX);
        return AB_EINVAL;
    }
    struct odata_sql dummy;
    struct parser p = {.a = a,
                       .s = text,
                       .n = n,
                       .fields = fields,
                       .n_fields = n_fields,
                       .out = &dummy,
                       .err = err,
                       .flags = flags};
    const char *sql = "";
    int terms = 0;
    for (;;) {
        struct tok t;
        if (!lex(&p, &t))
            return AB_EINVAL;
        if (t.k != T_IDENT) {
            fail(&p, t.pos, "syntax error in $orderby: expected a property name");
            return AB_EINVAL;
        }
        const struct odata_field *f = find_field(&p, t.text);
        if (!f) {
            fail(&p, t.pos, "Could not find a property named '%s'", t.text);
            return AB_EINVAL;
        }
        if (!f->orderable) {
            fail(&p, t.pos, "$orderby does not support the property '%s'", f->name);
            return AB_EINVAL;
        }
        if (++terms > 16) {
            fail(&p, t.pos, "$orderby has too many terms");
            return AB_EINVAL;
        }
        const char *dir = "ASC";
        if (!lex(&p, &t))
            return AB_EINVAL;
        if (kw(&t, "asc") || kw(&t, "desc")) {
            dir = kw(&t, "desc") ? "DESC" : "ASC";
            if (!lex(&p, &t))
                return AB_EINVAL;
        }
        const char *col = f->order_sql ? f->order_sql : f->sql;
        sql =
            *sql ? arena_printf(a, "%s, %s %s", sql, col, dir) : arena_printf(a, "%s %s", col, dir);
        if (t.k == T_END)
            break;
        if (t.k != T_COMMA) {
            fail(&p, t.pos, "syntax error in $orderby: expected ',' or the end");
            return AB_EINVAL;
        }
    }
    *out = sql;
    return AB_OK;
}

int odata_bind(sqlite3_stmt *st, const struct odata_sql *q, int first)
{
    int i = first;
    for (size_t k = 0; k < q->n_params; k++, i++) {
        const struct odata_param *v = &q->params[k];
        switch (v->kind) {
        case ODATA_P_TEXT: sqlite3_bind_text(st, i, v->text, -1, SQLITE_STATIC); break;
        case ODATA_P_INT: sqlite3_bind_int64(st, i, v->i); break;
        case ODATA_P_DOUBLE: sqlite3_bind_double(st, i, v->d); break;
        }
    }
    return i;
}
