"""Record handling compiled once per stream.

singer-python's Transformer walks the schema for every value of every record; on Close's
wide, nested records that costs several times the JSON parsing itself. Here the schema is
turned once into a tree of small converter functions: a record then costs one dict pass
per object level, and a value that already has its declared type (nearly all of them) is
returned after one `type()` check.

Records are converted in place. Rules:
- only selected fields are kept; date-times become RFC 3339 UTC; values are coerced to their
  declared type where that is lossless (numeric strings, ints for numbers, ...);
- every record that leaves here is valid for the stream's schema, and no value is dropped.
  When Close sends a value the schema does not allow (it changed a field after discovery):
  * inside an object column (a nested key of a lead's contacts, a custom activity type's
    fields, ...) the schema node is *widened* in place to allow it (its JSON type added, a
    format or pattern it breaks removed);
  * for a whole column (a top-level field, or the items of a top-level array) widening would
    change the column's type in the warehouse, which SQL targets refuse
    (meltanolabs-target-postgres cannot alter a column): the value goes to a new sibling
    column `<field>__<json type>` instead (`value__string`), and the field is null in that
    record. New columns are something every target accepts.
  Either way the change is warned once per field and `schema_changed` tells the writer to
  send the stream's SCHEMA again before the record (Singer allows a new SCHEMA mid-stream);
- a field the schema lacks (a custom field created after discovery, a key Close added) is
  declared from its first value and kept; deselected fields are dropped quietly.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

from .timeutil import is_date, is_rfc3339, normalize_date, normalize_datetime

LOGGER = logging.getLogger("tap_close")
Converter = Callable[[Any], Any]
_PASS = object()     # marks a field whose values pass unchanged

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               dict: "object", type(None): "null"}


def json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "string")


def _types(schema: dict) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else [t for t in declared if t != "null"]


def _fits_type(schema: dict, value: Any) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True                   # untyped: anything goes
    kinds = [declared] if isinstance(declared, str) else declared
    kind = json_type(value)
    return kind in kinds or (kind == "integer" and "number" in kinds)


def _allows_null(schema: dict) -> bool:
    return _fits_type(schema, None)


def _fits_string_rules(schema: dict, value: str) -> bool:
    fmt = schema.get("format")
    if fmt == "date-time" and not is_rfc3339(value):
        return False
    if fmt == "date" and not is_date(value):
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None


class _ColumnMisfit(Exception):
    """A whole column's value does not fit its type: the record level moves it aside."""


class _Reporter:
    """Widens schema nodes for values they do not allow (or moves whole-column misfits to a
    sibling column), logging each field once, and remembers that the stream's schema changed
    so that the writer re-sends it."""

    def __init__(self, stream: str):
        self.stream = stream
        self.seen: set[tuple[str, str]] = set()
        self.mismatches = 0
        self.schema_changed = False
        self.columns: set[int] = set()     # ids of the nodes that type a whole column

    def mark_column(self, node: dict) -> None:
        """A top-level property's node, and the items of a top-level array (a target types
        `ARRAY(item type)` columns by them)."""
        self.columns.add(id(node))
        if "array" in _types(node) and isinstance(node.get("items"), dict):
            self.mark_column(node["items"])

    def mismatch(self, node: dict, path: str, value: Any) -> Any:
        """`value` does not fit `node` after the lossless coercions: widen `node` to allow it,
        or, for a whole column, raise _ColumnMisfit (a null only ever widens: a nullable
        column has the same type in every target)."""
        self.mismatches += 1
        if value is not None and id(node) in self.columns:
            raise _ColumnMisfit
        before = _describe(node)
        if widen(node, value):
            self.schema_changed = True
            if ("widen", path) not in self.seen:
                self.seen.add(("widen", path))
                LOGGER.warning("%s: Close sent %s as %s %.60r, which the schema (%s) does not allow; "
                               "the stream's schema now allows it (%s) and is sent again",
                               self.stream, path, json_type(value), value, before, _describe(node))
        return value

    def sidecar(self, properties: dict, key: str, value: Any) -> str:
        """The sibling column that takes a value its field's column cannot hold."""
        kind = json_type(value)
        name = f"{key}__{kind}"
        if name not in properties:
            properties[name] = {"type": ["null", kind],
                                "description": f"Values of {key} that Close sent as {kind}, which {key}'s "
                                               f"declared type ({_describe(properties[key])}) does not allow."}
            self.schema_changed = True
        if ("sidecar", key, kind) not in self.seen:
            self.seen.add(("sidecar", key, kind))
            LOGGER.warning("%s: Close sent %s as %s %.60r, which its column (%s) cannot hold; such values "
                           "go to the new column %s (the stream's schema is sent again) and %s is null "
                           "in those records", self.stream, key, kind, value, _describe(properties[key]),
                           name, key)
        return name

    def adopt(self, properties: dict, key: str, value: Any, path: str) -> dict:
        """A field the schema lacks: declared from its value, so that it is kept, not dropped."""
        node = {"type": ["null", json_type(value)]} if value is not None else {"type": ["null", "string"]}
        properties[key] = node
        self.schema_changed = True
        if ("adopt", path) not in self.seen:
            self.seen.add(("adopt", path))
            LOGGER.warning("%s: field %s is not in the catalog's schema; it is kept and declared as %s "
                           "(run discovery again for its documented type)", self.stream, path, _describe(node))
        return node


def widen(node: dict, value: Any) -> bool:
    """Make `node` allow `value`: add its JSON type, drop a format or pattern a string breaks.
    Constraints of other types stay (JSON Schema applies `properties` only to objects, `items`
    only to arrays, `format` only to strings). True when the node changed."""
    changed = False
    if not _fits_type(node, value):
        declared = node.get("type")
        kinds = [declared] if isinstance(declared, str) else list(declared)
        node["type"] = kinds + [json_type(value)]
        changed = True
    if type(value) is str and not _fits_string_rules(node, value):
        node.pop("format", None)
        node.pop("pattern", None)
        changed = True
    return changed


def _describe(node: dict) -> str:
    declared = node.get("type", "any")
    text = "/".join(declared) if isinstance(declared, list) else str(declared)
    for rule in ("format", "pattern"):
        if rule in node:
            text += f", {rule} {node[rule]}"
    return text


def _compile(schema: dict, path: str, report: _Reporter) -> Converter | None:
    """A converter for one value, or None when any value passes as it is."""
    if "type" not in schema:
        return None   # untyped: anything is valid
    types = _types(schema)
    if len(types) != 1 or "pattern" in schema:
        return _checker(schema, path, report)   # a union (widened, or event `data`): check only
    kind = types[0]
    fmt = schema.get("format")
    if kind == "string":
        if fmt == "date-time":
            return _datetime(schema, path, report)
        if fmt == "date":
            return _date(schema, path, report)
        if fmt is not None:
            return _checker(schema, path, report)
        return _plain_string(schema, path, report)
    if kind == "integer":
        return _integer(schema, path, report)
    if kind == "number":
        return _number(schema, path, report)
    if kind == "boolean":
        return _boolean(schema, path, report)
    if kind == "object":
        if "properties" not in schema:
            return _checker(schema, path, report)  # an open object: kept verbatim if it is one
        return compile_object(schema, path, report)
    if kind == "array":
        items = schema.get("items") or {}
        if _is_plain_string(items):
            return _string_array(_plain_string(items, path + "[]", report), schema, path, report)
        return _array(_compile(items, path + "[]", report), schema, path, report)
    return _checker(schema, path, report)


def _checker(schema: dict, path: str, report: _Reporter) -> Converter:
    """No coercion: a value that the node does not allow widens it.

    Unions (`["null", "array", "object"]`) and patterned strings (a task's `date`) are checked
    on every value: the types and the pattern the node has now are looked up once, and a
    value they admit passes after a set lookup (and one regex search for a patterned
    string). Anything else is checked against the node as it is at that moment, which a
    widening may have changed since."""
    declared = schema.get("type")
    kinds = [declared] if isinstance(declared, str) else list(declared or [])
    # The Python types _fits_type admits for these JSON types (an integer is a number too).
    passing = {python for python, kind in _JSON_TYPES.items()
               if kind in kinds or (kind == "integer" and "number" in kinds)}
    pattern = schema.get("pattern")
    if "format" in schema or (pattern is not None and not isinstance(pattern, str)):
        passing.discard(str)      # every string goes the general way
    search = re.compile(pattern).search if isinstance(pattern, str) and str in passing else None

    def convert(value):
        kind = type(value)
        if kind in passing and (search is None or kind is not str or search(value) is not None):
            return value
        if _fits_type(schema, value) and (kind is not str or _fits_string_rules(schema, value)):
            return value
        return report.mismatch(schema, path, value)
    return convert


# Close's two other date-time forms: a whole second `2022-11-12T18:00:00+00:00` (25
# characters), naive UTC with a fraction `2023-04-07T10:01:14.670000` (26, event roots).
_CLOSE_OTHER_FORMS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00|\.\d{6})")


def _is_close_utc(value: str) -> bool:
    """Close's usual form, `2013-02-08T06:17:00.583000+00:00`: made RFC 3339 `Z` by slicing."""
    return len(value) == 32 and value[26:] == "+00:00" and value[10] == "T" and value[19] == "."


def _datetime(schema, path, report) -> Converter:
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
        return report.mismatch(schema, path, value)
    return convert


def _date(schema, path, report) -> Converter:
    # A date Close sends as `YYYY-MM-DD` is kept after is_date; anything else goes through
    # normalize_date (which raises for what is not a date).
    general = _string_converter(normalize_date, schema, path, report)

    def convert(value):
        if type(value) is str and is_date(value):
            return value
        return general(value)
    return convert


def _string_converter(parse: Callable[[str], str], schema, path, report) -> Converter:
    def convert(value):
        if type(value) is str:
            try:
                return parse(value)
            except ValueError:
                pass
        return report.mismatch(schema, path, value)
    return convert


def _plain_string(schema, path, report) -> Converter:
    def convert(value):
        if type(value) is str:
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        return report.mismatch(schema, path, value)
    return convert


def _integer(schema, path, report) -> Converter:
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
        return report.mismatch(schema, path, value)
    return convert


def _number(schema, path, report) -> Converter:
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
        return report.mismatch(schema, path, value)
    return convert


_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(schema, path, report) -> Converter:
    def convert(value):
        if type(value) is bool:
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        if type(value) is str and value.strip().lower() in _TRUE:
            return _TRUE[value.strip().lower()]
        return report.mismatch(schema, path, value)
    return convert


def _array(item: Converter | None, schema, path, report) -> Converter:
    items = schema.get("items") or {}
    objects = _types(items) == ["object"] and "properties" in items

    def convert(value):
        if type(value) is not list:
            return report.mismatch(schema, path, value)
        if item is None or not value:
            return value
        if None in value and not _allows_null(items):
            report.mismatch(items, path + "[]", None)
        if objects:
            # Objects are converted in place (compile_object): the list can be kept as well.
            for element in value:
                if element is not None:
                    item(element)
            return value
        return [None if v is None else item(v) for v in value]
    return convert


def _is_plain_string(schema: dict) -> bool:
    """A nullable string without format or pattern: the fast paths need only a type check."""
    return (_types(schema) == ["string"] and "format" not in schema and "pattern" not in schema
            and _allows_null(schema))


def _string_array(item: Converter, schema, path, report) -> Converter:
    # Id lists and e-mail lists are long and nearly always strings already: check each
    # element inline and call a converter only for the rare one that is not.
    def convert(value):
        if type(value) is not list:
            return report.mismatch(schema, path, value)
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
    properties = schema.setdefault("properties", {})
    # Plain strings (most fields) need only a type check, and Close's usual date-time form
    # only a rewrite: both are done inline, by set membership, without a call. Every other
    # field has its converter in `converters` (or _PASS when any value is fine).
    strings, datetimes, converters = set(), {}, {}
    # Nodes that do not allow null (rare: Close's schemas are nullable throughout) are checked
    # for null too; the others let null pass without a call.
    null_checked = {name: sub for name, sub in properties.items() if not _allows_null(sub)}
    for name, sub in properties.items():
        sub_path = f"{path}.{name}" if path else name
        if name in null_checked:
            converters[name] = _compile(sub, sub_path, report) or _PASS
        elif _is_plain_string(sub):
            strings.add(name)
        elif _types(sub) == ["string"] and sub.get("format") == "date-time" and "pattern" not in sub:
            datetimes[name] = _datetime(sub, sub_path, report)
        else:
            converters[name] = _compile(sub, sub_path, report) or _PASS
    string_converters = {name: _plain_string(properties[name], f"{path}.{name}" if path else name, report)
                         for name in strings}
    strings = frozenset(strings)
    close_other_form = _CLOSE_OTHER_FORMS.fullmatch
    if not path:    # the record itself: its properties are the target's columns
        for sub in properties.values():
            report.mark_column(sub)

    def adopt(key, field_value):
        """A key the schema lacks: dropped when deselected, else declared and kept."""
        if key in deselected:
            return None
        sub_path = f"{path}.{key}" if path else key
        node = properties.get(key) or report.adopt(properties, key, field_value, sub_path)
        if not path:
            report.mark_column(node)
        converters[key] = _compile(node, sub_path, report) or _PASS
        return converters[key]

    def convert(value):
        if type(value) is not dict:
            return report.mismatch(schema, path or "record", value)
        dropped = moved = None
        for key, field_value in value.items():
            try:
                if key in strings:
                    if type(field_value) is not str and field_value is not None:
                        value[key] = string_converters[key](field_value)
                elif key in datetimes:
                    if field_value is None:
                        continue
                    # Close's forms (tap_close/timeutil.py) are rewritten here without a call: a
                    # lead has dozens of timestamps. The usual one by its separators (see
                    # _is_close_utc), the other two (a whole second; naive UTC on events) after
                    # one regex match.
                    size = len(field_value) if type(field_value) is str else 0
                    if (size == 32 and field_value[26:] == "+00:00" and field_value[10] == "T"
                            and field_value[19] == "."):
                        value[key] = field_value[:26] + "Z"
                    elif (size == 25 or size == 26) and close_other_form(field_value):
                        value[key] = field_value[:19] + ".000000Z" if size == 25 else field_value + "Z"
                    else:
                        value[key] = datetimes[key](field_value)
                else:
                    kind = converters.get(key)
                    if kind is None:
                        kind = adopt(key, field_value)
                        if kind is None:
                            dropped = [key] if dropped is None else dropped + [key]
                            continue
                    if field_value is None:
                        if key in null_checked:
                            report.mismatch(null_checked[key], f"{path}.{key}" if path else key, None)
                    elif kind is not _PASS:
                        value[key] = kind(field_value)
            except _ColumnMisfit:       # only whole columns raise it, so only at the record level
                moved = [(key, field_value)] if moved is None else moved + [(key, field_value)]
        if dropped:
            for key in dropped:
                del value[key]
        if moved:
            for key, field_value in moved:
                value[key] = None
                value[report.sidecar(properties, key, field_value)] = field_value
        return value
    return convert


class RecordTransformer:
    """Compiled once per stream from the selected schema; `transform(record)` per record.

    The schema is widened in place when a record needs it: after a page, `schema_changed`
    says the writer must send the stream's SCHEMA again before that page's records."""

    def __init__(self, stream: str, schema: dict, deselected: frozenset = frozenset()):
        self.report = _Reporter(stream)
        self.schema = schema
        self.transform = compile_object(schema, "", self.report, deselected)

    @property
    def mismatches(self) -> int:
        return self.report.mismatches

    def take_schema_change(self) -> bool:
        """True once after the schema was widened."""
        changed, self.report.schema_changed = self.report.schema_changed, False
        return changed
