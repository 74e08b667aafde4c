"""Record handling compiled once per stream.

singer-python's Transformer walks the schema for every value of every record; on Close's
wide, nested records that costs several times the JSON parsing itself. Here the schema is
turned once into a tree of small converter functions: a record then costs one dict pass
per object level, and a value that already has its declared type (nearly all of them) is
returned after one `type()` check.

Rules: only selected fields are kept; date-times become RFC 3339 UTC; values are coerced to
their declared type where that is lossless (numeric strings, ints for numbers, ...); a value
that does not fit is logged (once per field) and passed on unchanged, never a crash.
Fields a record has but the schema lacks are dropped and named once in a warning (typically
a custom field created after discovery: re-run discovery to pick it up).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from .timeutil import normalize_date, normalize_datetime

LOGGER = logging.getLogger("tap_close")
Converter = Callable[[Any], Any]


class _Reporter:
    """Logs each kind of problem once per stream, so a bad column cannot flood the log."""

    def __init__(self, stream: str):
        self.stream = stream
        self.seen: set[tuple[str, str]] = set()
        self.mismatches = 0

    def mismatch(self, path: str, value: Any, expected: str) -> None:
        self.mismatches += 1
        if ("mismatch", path) not in self.seen:
            self.seen.add(("mismatch", path))
            LOGGER.warning("%s: value of %s does not fit %s (%s %.40r); passed on unchanged",
                           self.stream, path, expected, type(value).__name__, value)

    def unknown(self, path: str) -> None:
        if ("unknown", path) not in self.seen:
            self.seen.add(("unknown", path))
            LOGGER.warning("%s: field %s is not in the catalog's schema and is left out; "
                           "run discovery again to include it", self.stream, path)


def _types(schema: dict) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else [t for t in declared if t != "null"]


def _compile(schema: dict, path: str, report: _Reporter) -> Converter | None:
    """A converter for one value, or None when any value passes as it is."""
    types = _types(schema)
    fmt = schema.get("format")
    if len(types) != 1:
        return None  # untyped or union: pass through (e.g. event `data`)
    kind = types[0]
    if kind == "string":
        if fmt == "date-time":
            return _string_converter(normalize_datetime, path, "date-time", report)
        if fmt == "date":
            return _string_converter(normalize_date, path, "date", report)
        return _plain_string(path, report)
    if kind == "integer":
        return _integer(path, report)
    if kind == "number":
        return _number(path, report)
    if kind == "boolean":
        return _boolean(path, report)
    if kind == "object":
        if "properties" not in schema:
            return None  # an open object: kept verbatim
        return compile_object(schema, path, report)
    if kind == "array":
        item = _compile(schema.get("items") or {}, path + "[]", report)
        return _array(item, path, report)
    return None


def _string_converter(parse: Callable[[str], str], path, expected, report) -> Converter:
    def convert(value):
        if type(value) is str:
            try:
                return parse(value)
            except ValueError:
                pass
        report.mismatch(path, value, expected)
        return value
    return convert


def _plain_string(path, report) -> Converter:
    def convert(value):
        if type(value) is str:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        report.mismatch(path, value, "string")
        return value
    return convert


def _integer(path, report) -> Converter:
    def convert(value):
        if type(value) is int:
            return value
        if type(value) is float and value.is_integer():
            return int(value)
        if type(value) is str:
            try:
                return int(value.strip())
            except ValueError:
                pass
        report.mismatch(path, value, "integer")
        return value
    return convert


def _number(path, report) -> Converter:
    def convert(value):
        if type(value) is int or type(value) is float:
            return value
        if type(value) is str:
            try:
                number = float(value.strip())
            except ValueError:
                number = None
            if number is not None and number == number and abs(number) != float("inf"):
                return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        report.mismatch(path, value, "number")
        return value
    return convert


_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(path, report) -> Converter:
    def convert(value):
        if type(value) is bool:
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        if type(value) is str and value.strip().lower() in _TRUE:
            return _TRUE[value.strip().lower()]
        report.mismatch(path, value, "boolean")
        return value
    return convert


def _array(item: Converter | None, path, report) -> Converter:
    def convert(value):
        if type(value) is not list:
            report.mismatch(path, value, "array")
            return value
        if item is None:
            return value
        return [None if v is None else item(v) for v in value]
    return convert


def compile_object(schema: dict, path: str, report: _Reporter, deselected: frozenset = frozenset()) -> Converter:
    """`deselected` names fields the catalog knows but the user did not select: dropped quietly."""
    properties = schema.get("properties", {})
    converters = {name: _compile(sub, f"{path}.{name}" if path else name, report)
                  for name, sub in properties.items()}
    known = set(properties) | deselected

    def convert(value):
        if type(value) is not dict:
            report.mismatch(path or "record", value, "object")
            return value
        out = {}
        for key, field_value in value.items():
            if key in converters:
                conv = converters[key]
                out[key] = field_value if conv is None or field_value is None else conv(field_value)
            elif key not in known:
                report.unknown(f"{path}.{key}" if path else key)
        return out
    return convert


class RecordTransformer:
    """Compiled once per stream from the selected schema; `transform(record)` per record."""

    def __init__(self, stream: str, schema: dict, deselected: frozenset = frozenset()):
        self.report = _Reporter(stream)
        self.transform = compile_object(schema, "", self.report, deselected)

    @property
    def mismatches(self) -> int:
        return self.report.mismatches
