"""Discovery: check the key, read the account's custom field definitions, and build the
catalog with each stream's schema (custom fields typed) and standard metadata."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from .catalog import catalog_entry
from .errors import AuthError
from .schema import CUSTOM_FIELD_OBJECT_TYPES, custom_fields_by_object_type
from .streams import STREAMS
from .streams.paging import offset_pages

LOGGER = logging.getLogger("tap_close")


def _definitions(client, object_type: str) -> list[dict]:
    path = f"custom_field/{object_type}"
    try:
        return [d for page in offset_pages(client, path, {}, 1000) for d in page]
    except AuthError as exc:
        if exc.status != 403:
            raise
        # A key whose role cannot read these definitions still gets the static schemas.
        LOGGER.warning("cannot read %s custom fields (403); their values will not be typed columns",
                       object_type)
        return []


def fetch_custom_field_definitions(client) -> dict[str, list[dict]]:
    # Five small lists: ask for them together (discovery runs before every Meltano run).
    with ThreadPoolExecutor(max_workers=len(CUSTOM_FIELD_OBJECT_TYPES)) as pool:
        found = pool.map(lambda object_type: _definitions(client, object_type), CUSTOM_FIELD_OBJECT_TYPES)
        return dict(zip(CUSTOM_FIELD_OBJECT_TYPES, found))


def discover(client) -> dict:
    client.check_access()
    custom = custom_fields_by_object_type(fetch_custom_field_definitions(client))
    return {"streams": [catalog_entry(stream, stream.schema(custom)) for stream in STREAMS.values()]}
