/* SPDX-License-Identifier: Apache-2.0
 *
 * conf.h: the schema-driven YAML engine behind config.h.
 *
 * conf_parse() turns a YAML document (libyaml event API) into a tree of
 * conf_node that remembers the 1-based line and column of every key and
 * value; aliases, anchors, duplicate keys and multiple documents are refused
 * with located errors. conf_decode() then walks a schema, a static const
 * table of struct conf_entry in the style of nginx commands (name, type,
 * flags, default, offsetof() into the target struct, one-line doc), and
 * writes typed values into a caller struct. Every problem is collected with
 * its position, the full key path and a hint; nothing stops at the first
 * error. ${env:NAME} and ${file:/path} scalars are substituted while
 * decoding; such values and values of CONF_SECRET keys are registered with
 * log_add_secret() and never appear in an error message. conf_print() writes
 * the decoded struct back as YAML with those values redacted.
 *
 * Only config.c is expected to call this; it owns the assetbridge schema.
 * The error type is config.h's struct config_error. A conf_ctx and
 * everything it hands out live in the caller's arena; not thread-safe.
 */
#ifndef AB_CORE_CONF_H
#define AB_CORE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/result.h"

/* ---- the document tree ------------------------------------------------- */

enum conf_node_kind { CONF_NODE_SCALAR, CONF_NODE_MAP, CONF_NODE_SEQ };

struct conf_pair;

struct conf_node {
    enum conf_node_kind kind;
    unsigned line, column;         /* where the value starts, 1-based */
    unsigned key_line, key_column; /* the key this node is the value of; 0 at the root */
    const char *text;              /* scalar: the text as written (before substitution) */
    bool is_null;                  /* scalar: plain empty, ~ or null */
    struct conf_pair *pairs;       /* map: in document order */
    size_t n_pairs;
    struct conf_node **items; /* sequence */
    size_t n_items;
};

struct conf_pair {
    const char *key;
    unsigned line, column; /* of the key */
    struct conf_node *value;
};

/* The value of key in map, or NULL (also when map is NULL or not a map). */
const struct conf_node *conf_map_get(const struct conf_node *map, const char *key);

/* ---- the schema -------------------------------------------------------- */

enum conf_type {
    CONF_STRING,   /* const char * */
    CONF_INT,      /* int64_t */
    CONF_BOOL,     /* bool */
    CONF_NUMBER,   /* double */
    CONF_DURATION, /* int64_t milliseconds, duration_parse() syntax */
    CONF_SIZE,     /* int64_t bytes, config_parse_size() syntax */
    CONF_ENUM,     /* const char * pointing into .values */
    CONF_MAP,      /* nested struct with fixed keys .entries, at .offset */
    CONF_DICT,     /* arbitrary keys -> array of .elem_size elements */
    CONF_CUSTOM,   /* decoded by .decode, printed by .print */
};

#define CONF_REQUIRED 0x1u /* absent or null is an error (pointing at the parent) */
#define CONF_SECRET 0x2u   /* printed as "[redacted]", registered with the logger */

struct conf_ctx;
struct conf_entry;

/* Decode node (NULL when the key is absent or null) for entry e into the
 * struct at base; the field is at base + e->offset. Report problems with
 * conf_error_at(). */
typedef void (*conf_decode_fn)(struct conf_ctx *c, const struct conf_entry *e,
                               const struct conf_node *node, const char *path, void *base);

/* Run after e has been decoded to check values against each other or the
 * system (cross-references, ranges, files). node is the value as written
 * (possibly a null scalar), NULL when the key is absent. Not called for a
 * scalar whose decoding already failed. */
typedef void (*conf_check_fn)(struct conf_ctx *c, const struct conf_entry *e,
                              const struct conf_node *node, const char *path, void *base);

/* Write the value of e in base as YAML after "name:" (a scalar on the same
 * line, or a newline and lines indented by indent + 2). */
typedef void (*conf_print_fn)(const struct conf_ctx *c, const struct conf_entry *e,
                              const void *base, FILE *out, int indent);

struct conf_entry {
    const char *name; /* key; NULL ends a table */
    enum conf_type type;
    unsigned flags;  /* CONF_REQUIRED, CONF_SECRET */
    const char *def; /* default, written as in the file; NULL: zero/NULL */
    size_t offset;   /* offsetof() of the field in the target struct */
    const char *doc; /* one line for docs and --help */

    const char *const *values;        /* ENUM: allowed values; DICT: allowed keys
                                         (NULL: any); NULL-terminated */
    const struct conf_entry *entries; /* MAP: the nested table */
    const char *unknown_hint;         /* MAP: hint for any unknown key, replacing
                                         the did-you-mean */

    const struct conf_entry *item; /* DICT: how one value is decoded; its offset
                                      is relative to the element */
    size_t elem_size;              /* DICT: sizeof one element */
    size_t name_offset;            /* DICT: offsetof the const char *name */
    size_t count_offset;           /* DICT: offsetof the size_t count in base */

    conf_decode_fn decode; /* CUSTOM */
    conf_print_fn print;   /* CUSTOM */
    conf_check_fn check;   /* any type; optional */
};

/* Ends a table of entries. */
#define CONF_END                                                                                   \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* ---- parsing and decoding --------------------------------------------- */

#define CONF_NO_SUBST 0x1u /* refuse ${env:} and ${file:} (fuzzing, untrusted text) */

/* A new context allocating from a (which must outlive it); file names the
 * source in errors. Errors go to a separate arena so they survive a. */
struct conf_ctx *conf_ctx_new(struct arena *a, const char *file, unsigned flags);

/* The arena the context allocates from. */
struct arena *conf_arena(const struct conf_ctx *c);

/* Parse text (len bytes, need not be terminated) into *root (NULL for an
 * empty document). A YAML syntax error is the only error reported and
 * returns AB_EPARSE; aliases, anchors, duplicate keys and extra documents
 * are reported as errors too but the tree is still returned (AB_OK) so the
 * schema can be checked as well. */
enum ab_rc conf_parse(struct conf_ctx *c, const char *text, size_t len,
                      const struct conf_node **root /* OUT */) AB_MUST_CHECK;

/* Decode map node root (NULL: empty document) against the table entries
 * into base, applying defaults and reporting every problem. */
void conf_decode(struct conf_ctx *c, const struct conf_entry *entries, const struct conf_node *root,
                 void *base);

/* Decode one entry: exposed for custom decoders that contain typed values. */
void conf_decode_entry(struct conf_ctx *c, const struct conf_entry *e, const struct conf_node *node,
                       const char *path, void *base);

/* The scalar text of node after ${env:}/${file:} substitution, or NULL
 * (error reported) when node is not a scalar or substitution fails. A
 * substituted value is registered as a secret and, when field is not NULL,
 * remembered so conf_print() shows the reference instead of the value. */
const char *conf_scalar(struct conf_ctx *c, const struct conf_node *node, const char *path,
                        const char *expected, const void *field);

/* "a.b" (or "b" when parent is empty), in the context's arena. */
const char *conf_path(struct conf_ctx *c, const char *parent, const char *key);

/* Record an error at line:column (0:0 for none); hint may be NULL. */
void conf_error(struct conf_ctx *c, unsigned line, unsigned column, const char *hint,
                const char *fmt, ...) AB_PRINTF(5, 6);

/* Hint text for value against the allowed list: "did you mean 'x'?" when
 * one is within edit distance 2, else "allowed: a, b, c" (prefix first). */
const char *conf_suggest(struct conf_ctx *c, const char *value, const char *const *allowed,
                         const char *prefix);

/* The value of node suitable for an error message: quoted text, or the
 * ${...} reference, or "a secret value" for secret keys, or "a mapping". */
const char *conf_shown(struct conf_ctx *c, const struct conf_node *node, bool secret);

/* Number of errors recorded so far. */
size_t conf_error_count(const struct conf_ctx *c);

/* Move the errors, sorted by position, into errs (which owns them after). */
void conf_take_errors(struct conf_ctx *c, struct config_errors *errs /* OUT */);

/* The ${...} text a field was substituted from, or NULL. */
const char *conf_subst_ref(const struct conf_ctx *c, const void *field);

/* ---- printing ---------------------------------------------------------- */

/* Write the struct at base as YAML following entries, indented by indent
 * spaces. Secret values print as "[redacted]" and substituted values as
 * their ${...} reference. */
void conf_print(const struct conf_ctx *c, const struct conf_entry *entries, const void *base,
                FILE *out, int indent);

/* Write s as a YAML double-quoted scalar. */
void conf_print_quoted(FILE *out, const char *s);

/* Write a key: plain when it is safe, else quoted. */
void conf_print_key(FILE *out, const char *key);

#endif
