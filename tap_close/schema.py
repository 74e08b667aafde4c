"""Stream schemas: the static JSON files in `schemas/`, plus one typed `custom.cf_…`
property per custom field the account defines, discovered from the API."""

from __future__ import annotations

import copy
import json
import logging
from functools import lru_cache
from importlib import resources

LOGGER = logging.getLogger("tap_close")

# `custom_object_type`: the fields of custom object types (GET /custom_field/custom_object_type/,
# Close docs: developer.close.com/api/resources/custom-fields/custom-fields-custom-object).
CUSTOM_FIELD_OBJECT_TYPES = ("lead", "contact", "opportunity", "activity", "shared", "custom_object_type")
# Shared custom fields list the object types they are attached to; custom activity types
# carry activity custom fields, custom object types their instances' fields (Close docs: shared
# custom fields, association `object_type` `custom_object_type`).
SHARED_ASSOCIATION_TO_OBJECT_TYPE = {
    "lead": "lead", "contact": "contact", "opportunity": "opportunity",
    "custom_activity_type": "activity", "activity": "activity", "custom_object_type": "custom_object_type",
}

_CLOSE_TYPE_TO_SCHEMA = {
    "text": {"type": ["null", "string"]},
    "textarea": {"type": ["null", "string"]},
    "hidden": {"type": ["null", "string"]},
    "number": {"type": ["null", "number"]},
    "date": {"type": ["null", "string"], "format": "date"},
    "datetime": {"type": ["null", "string"], "format": "date-time"},
    "choices": {"type": ["null", "string"]},
    # References hold the id of the referenced user, contact or custom object.
    "user": {"type": ["null", "string"]},
    "contact": {"type": ["null", "string"]},
    "custom_object": {"type": ["null", "string"]},
}


@lru_cache(maxsize=None)
def _static_schema_text(name: str) -> str:
    return resources.files("tap_close").joinpath("schemas", f"{name}.json").read_text(encoding="utf-8")


def load_static_schema(name: str) -> dict:
    return json.loads(_static_schema_text(name))


def custom_field_property(definition: dict) -> dict:
    """The JSON Schema of one custom field's values, from its Close type."""
    close_type = definition.get("type")
    base = _CLOSE_TYPE_TO_SCHEMA.get(close_type)
    if base is None:
        LOGGER.warning("custom field %s has unknown Close type %r; declaring it as a string",
                       definition.get("id"), close_type)
        base = {"type": ["null", "string"]}
    prop = copy.deepcopy(base)
    if definition.get("accepts_multiple_values"):
        prop = {"type": ["null", "array"], "items": {k: v for k, v in base.items()}}
        prop["items"]["type"] = [t for t in base["type"] if t != "null"][0]
    name = definition.get("name")
    if name:
        prop["description"] = f"Custom field \"{name}\" ({close_type})"
    return prop


def definition_lists_of(object_type: str) -> tuple[str, str]:
    """The definition lists that type `object_type`'s custom fields: its own, and the shared
    fields (placed by association, custom_fields_by_object_type)."""
    return (object_type, "shared")


def custom_fields_by_object_type(definitions: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """{object type: {"custom.cf_…": property schema}}, shared fields placed by association."""
    result: dict[str, dict[str, dict]] = {t: {} for t in CUSTOM_FIELD_OBJECT_TYPES if t != "shared"}
    for object_type, fields in definitions.items():
        for definition in fields:
            field_id = definition.get("id")
            if not isinstance(field_id, str):
                continue
            if object_type == "shared":
                targets = {SHARED_ASSOCIATION_TO_OBJECT_TYPE.get(_association_type(a))
                           for a in definition.get("associations") or []}
                targets.discard(None)
            else:
                targets = {object_type}
            for target in targets:
                result.setdefault(target, {})[f"custom.{field_id}"] = custom_field_property(definition)
    return result


def _association_type(association) -> str | None:
    if isinstance(association, str):
        return association
    if isinstance(association, dict):
        return association.get("object_type")
    return None


def add_custom_fields(schema: dict, slots: dict[tuple[str, ...], str], custom: dict[str, dict[str, dict]]) -> dict:
    """Add typed custom field properties at each slot: () is the record itself,
    ("contacts",) the items of its `contacts` array, and so on."""
    schema = copy.deepcopy(schema)
    for path, object_type in slots.items():
        node = schema
        for step in path:
            node = node["properties"][step]
            if "items" in node:
                node = node["items"]
        node.setdefault("properties", {}).update(custom.get(object_type, {}))
    return schema
