"""Discovery: check the key, read the account's custom field definitions, and build the
catalog with each stream's schema (custom fields typed) and standard metadata."""

from __future__ import annotations

from .catalog import catalog_entry
from .custom_field_definitions import fetch_custom_field_definitions
from .schema import custom_fields_by_object_type
from .streams import STREAMS


def discover(client) -> dict:
    client.check_access()
    custom = custom_fields_by_object_type(fetch_custom_field_definitions(client))
    return {"streams": [catalog_entry(stream, stream.schema(custom)) for stream in STREAMS.values()]}
