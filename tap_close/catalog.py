"""The Singer catalog: built by discovery, read back from `--catalog`/`--properties`, and
turned into what sync needs (selected streams, their selected fields and schemas)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import orjson

from .errors import InputError


def automatic_fields(stream) -> set[str]:
    return set(stream.key_properties) | set(stream.bookmark_properties)


def stream_metadata(stream, schema: dict) -> list[dict]:
    automatic = automatic_fields(stream)
    top = {
        "table-key-properties": list(stream.key_properties),
        "forced-replication-method": "INCREMENTAL" if stream.replication_key else "FULL_TABLE",
        "inclusion": "available",
        "selected-by-default": stream.selected_by_default,
    }
    if stream.replication_key:
        top["valid-replication-keys"] = [stream.replication_key]
    entries = [{"breadcrumb": [], "metadata": top}]
    for name in schema["properties"]:
        entries.append({
            "breadcrumb": ["properties", name],
            "metadata": {
                "inclusion": "automatic" if name in automatic else "available",
                "selected-by-default": True,
            },
        })
    return entries


def catalog_entry(stream, schema: dict) -> dict:
    return {
        "tap_stream_id": stream.tap_stream_id,
        "stream": stream.tap_stream_id,
        "key_properties": list(stream.key_properties),
        "schema": schema,
        "metadata": stream_metadata(stream, schema),
    }


@dataclass
class SelectedStream:
    """A stream the user selected, with the schema restricted to its selected fields."""
    tap_stream_id: str
    schema: dict
    fields: tuple[str, ...]          # selected top-level properties, in schema order
    deselected: frozenset[str]       # fields the catalog declares but the user left out
    replication_method: str          # INCREMENTAL, or FULL_TABLE when the catalog asks for it


def _metadata_map(entry: dict) -> dict[tuple, dict]:
    result = {}
    for item in entry.get("metadata") or []:
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise InputError(f"catalog stream {entry.get('tap_stream_id')!r} has a malformed metadata entry")
        result[tuple(item.get("breadcrumb") or [])] = item["metadata"]
    return result


def _stream_selected(entry: dict, meta: dict) -> bool:
    top = meta.get((), {})
    if "selected" in top:
        return top["selected"] is True
    return entry.get("schema", {}).get("selected") is True  # legacy form


def selected_streams(catalog: dict, known: dict) -> list[SelectedStream]:
    """Validate a catalog and return the selected streams in catalog order."""
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise InputError("catalog must be a JSON object with a 'streams' list")
    chosen = []
    for entry in catalog["streams"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise InputError("catalog has a stream entry without a 'tap_stream_id'")
        meta = _metadata_map(entry)
        if not _stream_selected(entry, meta):
            continue
        stream_id = entry["tap_stream_id"]
        if stream_id not in known:
            raise InputError(f"catalog selects unknown stream {stream_id!r} "
                             f"(known: {', '.join(sorted(known))})")
        schema = entry.get("schema")
        if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
            raise InputError(f"catalog stream {stream_id!r} has no schema properties")
        stream = known[stream_id]
        automatic = automatic_fields(stream)
        fields = []
        for name in schema["properties"]:
            field_meta = meta.get(("properties", name), {})
            if name in automatic or field_meta.get("inclusion") == "automatic":
                fields.append(name)
            elif field_meta.get("inclusion") == "unsupported" or field_meta.get("selected") is False:
                continue
            else:
                fields.append(name)
        missing = [name for name in automatic if name not in schema["properties"]]
        if missing:
            raise InputError(f"catalog stream {stream_id!r} lacks required properties: {', '.join(missing)}")
        restricted = _copy_json({key: value for key, value in schema.items() if key not in ("selected", "properties")})
        restricted["properties"] = _copy_json({name: schema["properties"][name] for name in fields})
        method = meta.get((), {}).get("replication-method") or "INCREMENTAL"
        if not stream.replication_key:
            method = "FULL_TABLE"   # nothing to be incremental on
        chosen.append(SelectedStream(
            tap_stream_id=stream_id,
            schema=restricted,
            fields=tuple(fields),
            deselected=frozenset(schema["properties"]) - set(fields),
            replication_method="FULL_TABLE" if method == "FULL_TABLE" else "INCREMENTAL",
        ))
    return chosen


def _copy_json(value):
    """A deep copy of JSON data: a JSON round trip is several times faster than deepcopy on
    the large schemas, and deepcopy still takes what orjson cannot (integers beyond 64 bits)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except TypeError:
        return copy.deepcopy(value)


def select_defaults(catalog: dict) -> dict:
    """Mark the streams selected by default as selected: what a run without `--catalog` syncs."""
    catalog = copy.deepcopy(catalog)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = item["metadata"].get("selected-by-default", True)
    return catalog
