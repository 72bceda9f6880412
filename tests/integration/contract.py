# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the simulator contract tests (test_sim_*_contract.py):
a small JSON-schema validator for the subset vendor API descriptions use,
and path-template matching.

Validator(spec, lenient_nulls=..., ignore=...) reads a Swagger 2.0 export
(#/definitions/...) or an OpenAPI 3.0 file (#/components/schemas/...) and
checks: type, properties, required, items, $ref, anyOf, enum, maxLength,
format (date-time loosely, date, time, uuid, int32, decimal strings),
nullable / x-nullable. Two readings of null:
- lenient_nulls=True (Swagger 2.0 exports, which carry no nullability
  markers): null is accepted for any property that is not required;
- lenient_nulls=False (OpenAPI 3.0): null only where nullable is true.
A bare {"type":"object"} without properties accepts any JSON (how some
exports render an untyped result). Properties the schema does not declare
are reported, except names listed in ignore (protocol annotations such as
OData V2's __metadata, which the vendor's schemas leave out).
Python 3 stdlib only."""
import json
import re

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")

CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


class Validator:
    def __init__(self, spec, lenient_nulls=True, ignore=()):
        self.spec = spec
        self.lenient_nulls = lenient_nulls
        self.ignore = set(ignore)
        if "definitions" in spec:
            self.prefix, self.defs = "#/definitions/", spec["definitions"]
        else:
            self.prefix = "#/components/schemas/"
            self.defs = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema):
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith(self.prefix) or seen > 32:
                raise ValueError("unsupported $ref " + ref)
            schema = self.defs[ref[len(self.prefix):]]
            seen += 1
        return schema

    def errors(self, value, schema, where="$", nullable=False):
        """A list of 'where: problem' strings (empty when value is valid)."""
        if isinstance(schema, str):
            schema = {"$ref": self.prefix + schema}
        schema = self.resolve(schema)
        if value is None:
            if (nullable and self.lenient_nulls) or schema.get("nullable") or \
                    schema.get("x-nullable"):
                return []
            return ["%s: null where %s is required" % (where, schema.get("type", "a value"))]
        if "anyOf" in schema:
            for alt in schema["anyOf"]:
                merged = dict(alt)
                if "format" in schema and "format" not in merged:
                    merged["format"] = schema["format"]
                if not self.errors(value, merged, where):
                    return []
            return ["%s: %s matches no alternative of anyOf" % (where, json.dumps(value)[:60])]
        t = schema.get("type")
        out = []
        if t == "object" and "properties" not in schema:
            return []  # untyped
        if t and not CHECKS[t](value):
            return ["%s: %s is not of type %s" % (where, json.dumps(value)[:60], t)]
        if "enum" in schema and value not in schema["enum"]:
            out.append("%s: %r not in enum %r" % (where, value, schema["enum"]))
        fmt = schema.get("format")
        if isinstance(value, str):
            if fmt == "uuid" and not UUID.match(value):
                out.append("%s: %r is not a uuid" % (where, value))
            if fmt == "date-time" and not DATE_TIME.match(value):
                out.append("%s: %r is not a date-time" % (where, value))
            if fmt == "date" and not DATE.match(value):
                out.append("%s: %r is not a date" % (where, value))
            if fmt == "time" and not TIME.match(value):
                out.append("%s: %r is not a time" % (where, value))
            if fmt == "decimal" and not DECIMAL.match(value):
                out.append("%s: %r is not a decimal" % (where, value))
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                out.append("%s: %r is longer than %d" % (where, value, schema["maxLength"]))
        if fmt == "int32" and CHECKS["integer"](value) and not -2**31 <= value < 2**31:
            out.append("%s: %r is out of int32 range" % (where, value))
        if t == "object":
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    out.append("%s: required property %r missing" % (where, name))
            for name, v in value.items():
                if name in self.ignore:
                    continue
                if name not in props:
                    out.append("%s: property %r is not in the schema" % (where, name))
                    continue
                out += self.errors(v, props[name], "%s.%s" % (where, name),
                                   nullable=name not in schema.get("required", []))
        if t == "array":
            for i, v in enumerate(value):
                out += self.errors(v, schema.get("items", {}), "%s[%d]" % (where, i))
        return out


def template_regex(template, allow_empty=False):
    """A regex matching request paths of a path template ('{x}' = one value,
    which may be empty with allow_empty: an OData key such as '')."""
    value = "[^/]*?" if allow_empty else "[^/]+?"
    return "^" + re.sub(r"\\\{[^/]+?\\\}", value, re.escape(template)) + "$"


def match_operation(spec, method, path, allow_empty=False):
    """The path template for a request path (literal paths first), or None."""
    path = path.split("?", 1)[0]
    paths = spec["paths"]
    if path in paths and method.lower() in paths[path]:
        return path
    for template, ops in paths.items():
        if method.lower() not in ops or "{" not in template:
            continue
        if re.match(template_regex(template, allow_empty), path) and not any(p == path for p in paths):
            return template
    return None
