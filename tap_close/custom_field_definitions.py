"""The account's custom field definitions (`GET /custom_field/{object type}/`): read by
discovery to type the catalog's custom field columns, and at sync time by streams that must
name every field they want (Close's search sends only the fields asked for), so that a
custom field created after discovery still arrives."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from .errors import AuthError
from .schema import CUSTOM_FIELD_OBJECT_TYPES, custom_fields_by_object_type
from .streams.paging import offset_pages

LOGGER = logging.getLogger("tap_close")


def read_definitions(client, object_type: str) -> list[dict]:
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
        found = pool.map(lambda object_type: read_definitions(client, object_type), CUSTOM_FIELD_OBJECT_TYPES)
        return dict(zip(CUSTOM_FIELD_OBJECT_TYPES, found))


class CurrentCustomFields:
    """One run's view of the definitions, each list read at most once, when first needed."""

    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()
        self._lists: dict[str, list[dict]] = {}

    def properties(self, object_type: str) -> dict[str, dict]:
        """{"custom.cf_…": property schema} of the fields on `object_type` (shared ones too)."""
        with self._lock:
            for listed in (object_type, "shared"):
                if listed not in self._lists:
                    self._lists[listed] = read_definitions(self.client, listed)
            lists = {listed: self._lists[listed] for listed in (object_type, "shared")}
        return custom_fields_by_object_type(lists).get(object_type, {})
