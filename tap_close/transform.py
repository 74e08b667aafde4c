"""Record handling compiled once per stream.

singer-python's Transformer walks the schema for every value of every record; on Close's
wide, nested records that costs several times the JSON parsing itself. Here the schema is
turned once into a tree of small converter functions: a record then costs one dict pass
per object level, and a value that already has its declared type (nearly all of them) is
returned after one `type()` check.

Records are converted in place. Rules: only selected fields are kept; date-times become RFC 3339 UTC; values are coerced to
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
_PASS = object()     # marks a field whose values pass unchanged


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
            return _datetime(path, report)
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
        items = schema.get("items") or {}
        if _is_plain_string(items):
            return _string_array(_plain_string(path + "[]", report), path, report)
        return _array(_compile(items, path + "[]", report), path, report)
    return None


def _is_close_utc(value: str) -> bool:
    """Close's usual form, `2013-02-08T06:17:00.583000+00:00`: made RFC 3339 `Z` by slicing."""
    return len(value) == 32 and value[26:] == "+00:00" and value[10] == "T" and value[19] == "."


def _datetime(path, report) -> Converter:
    # Fields of an object take the fast path inline (see _general_object); this converter
    # serves the other forms and date-times outside objects.
    def convert(value):
        if type(value) is str:
            if _is_close_utc(value):
                return value[:26] + "Z"
            try:
                return normalize_datetime(value)
            except ValueError:
                pass
        report.mismatch(path, value, "date-time")
        return value
    return convert


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


def _is_plain_string(schema: dict) -> bool:
    return _types(schema) == ["string"] and "format" not in schema


def _string_array(item: Converter, path, report) -> Converter:
    # Id lists and e-mail lists are long and nearly always strings already: check each
    # element inline and call a converter only for the rare one that is not.
    def convert(value):
        if type(value) is not list:
            report.mismatch(path, value, "array")
            return value
        for element in value:
            if type(element) is not str and element is not None:
                return [v if type(v) is str or v is None else item(v) for v in value]
        return value
    return convert


def _string_object(schema: dict, path: str, report: _Reporter) -> Converter:
    """Small objects of strings only (e-mails, phones, URLs, addresses): one pass over the
    values, the general converter only when something is off."""
    known = frozenset(schema["properties"])
    general = None

    def convert(value):
        nonlocal general
        if type(value) is dict and value.keys() <= known:
            for field_value in value.values():
                if type(field_value) is not str and field_value is not None:
                    break
            else:
                return value
        if general is None:
            general = _general_object(schema, path, report, frozenset())
        return general(value)
    return convert


def compile_object(schema: dict, path: str, report: _Reporter, deselected: frozenset = frozenset()) -> Converter:
    """`deselected` names fields the catalog knows but the user did not select: dropped quietly.

    Records are converted in place (the tap owns the dicts it parsed), in one pass over the
    record's own keys: a wide schema costs nothing for the fields a record does not have.
    """
    properties = schema.get("properties", {})
    if properties and not deselected and all(_is_plain_string(sub) for sub in properties.values()):
        return _string_object(schema, path, report)
    return _general_object(schema, path, report, deselected)


def _general_object(schema: dict, path: str, report: _Reporter, deselected: frozenset) -> Converter:
    properties = schema.get("properties", {})
    # Plain strings (most fields) need only a type check, and Close's usual date-time form
    # only a rewrite: both are done inline, by set membership, without a call. Every other
    # field has its converter in `converters` (or _PASS when any value is fine).
    strings, datetimes, converters = set(), {}, {}
    for name, sub in properties.items():
        sub_path = f"{path}.{name}" if path else name
        if _is_plain_string(sub):
            strings.add(name)
        elif _types(sub) == ["string"] and sub.get("format") == "date-time":
            datetimes[name] = _datetime(sub_path, report)
        else:
            converters[name] = _compile(sub, sub_path, report) or _PASS
    string_converters = {name: _plain_string(f"{path}.{name}" if path else name, report) for name in strings}
    strings = frozenset(strings)
    known = strings | datetimes.keys() | converters.keys()

    def convert(value):
        if type(value) is not dict:
            report.mismatch(path or "record", value, "object")
            return value
        unknown = None
        for key, field_value in value.items():
            if key in strings:
                if type(field_value) is not str and field_value is not None:
                    value[key] = string_converters[key](field_value)
            elif field_value is None:
                if key not in known:
                    unknown = [key] if unknown is None else unknown + [key]
            elif key in datetimes:
                # Close's usual form (see _is_close_utc), checked here without a call: a lead
                # has dozens of timestamps.
                if (type(field_value) is str and len(field_value) == 32 and field_value[26:] == "+00:00"
                        and field_value[10] == "T" and field_value[19] == "."):
                    value[key] = field_value[:26] + "Z"
                else:
                    value[key] = datetimes[key](field_value)
            else:
                kind = converters.get(key)
                if kind is None:
                    unknown = [key] if unknown is None else unknown + [key]
                elif kind is not _PASS:
                    value[key] = kind(field_value)
        if unknown:
            for key in unknown:
                if key not in deselected:
                    report.unknown(f"{path}.{key}" if path else key)
                del value[key]
        return value
    return convert


class RecordTransformer:
    """Compiled once per stream from the selected schema; `transform(record)` per record."""

    def __init__(self, stream: str, schema: dict, deselected: frozenset = frozenset()):
        self.report = _Reporter(stream)
        self.transform = compile_object(schema, "", self.report, deselected)

    @property
    def mismatches(self) -> int:
        return self.report.mismatches
