"""The account's custom field definitions (`GET /custom_field/{object type}/`): read by
discovery to type the catalog's custom field columns, and at sync time by streams that must
name every field they want (Close's search sends only the fields asked for), so that a
custom field created after discovery still arrives, and by the `custom_fields` stream, whose
records they are."""

from __future__ import annotations

import copy
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from .errors import AuthError
from .schema import CUSTOM_FIELD_OBJECT_TYPES, custom_fields_by_object_type, definition_lists_of
from .streams.full_scan import in_parallel
from .streams.paging import offset_pages

LOGGER = logging.getLogger("tap_close")
DEFINITIONS_PAGE = 1000


def definitions_path(object_type: str) -> str:
    return f"custom_field/{object_type}"


def read_all_definitions(client, object_type: str) -> list[dict]:
    """Every definition of `object_type`, from the whole list; a 403 is raised."""
    return [d for page in offset_pages(client, definitions_path(object_type), {}, DEFINITIONS_PAGE) for d in page]


def _warn_refused(object_type: str) -> None:
    # A key whose role cannot read these definitions still gets the static schemas.
    LOGGER.warning("cannot read %s custom fields (403); their values will not be typed columns", object_type)


def read_definitions(client, object_type: str) -> list[dict]:
    """Every definition of `object_type`; none (with a warning) when the key may not read them."""
    try:
        return read_all_definitions(client, object_type)
    except AuthError as exc:
        if exc.status != 403:
            raise
        _warn_refused(object_type)
        return []


def fetch_custom_field_definitions(client) -> dict[str, list[dict]]:
    # Six small lists: ask for them together (discovery runs before every Meltano run).
    with ThreadPoolExecutor(max_workers=len(CUSTOM_FIELD_OBJECT_TYPES)) as pool:
        found = pool.map(lambda object_type: read_definitions(client, object_type), CUSTOM_FIELD_OBJECT_TYPES)
        return dict(zip(CUSTOM_FIELD_OBJECT_TYPES, found))


class CurrentCustomFields:
    """One run's view of the definitions: each list read at most once per run, when first
    needed, whoever needs it: the search streams for their `_fields` (`properties`) and the
    `custom_fields` stream for its records (`definitions`). Each list has its own lock, so
    different lists are read at once, and a caller needing a list being read waits for that
    read rather than ask Close again."""

    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()
        self._list_locks: dict[str, threading.Lock] = {}
        self._lists: dict[str, list[dict]] = {}
        self._refused: dict[str, AuthError] = {}   # lists Close answered 403 for: not asked again

    def _list(self, object_type: str) -> list[dict]:
        """The cached list (not a copy), read on first need; a 403 is raised every time."""
        with self._lock:
            list_lock = self._list_locks.setdefault(object_type, threading.Lock())
        with list_lock:
            if object_type not in self._lists and object_type not in self._refused:
                try:
                    self._lists[object_type] = read_all_definitions(self.client, object_type)
                except AuthError as exc:
                    if exc.status != 403:
                        raise
                    self._refused[object_type] = exc
                    _warn_refused(object_type)
        refused = self._refused.get(object_type)
        if refused is not None:   # a fresh exception for each caller: they run in several threads
            raise AuthError(str(refused), refused.status)
        return self._lists[object_type]

    def read(self, object_type: str) -> None:
        """Read the list now, if not yet (a list the key may not read is left out, warned)."""
        self._readable_list(object_type)

    def definitions(self, object_type: str) -> list[dict]:
        """The definitions of `object_type` as Close listed them, copied: records of the
        `custom_fields` stream, which the writer changes in place. A 403 is raised, as the
        stream reading the list itself would meet it."""
        return copy.deepcopy(self._list(object_type))

    def properties(self, object_type: str) -> dict[str, dict]:
        """{"custom.cf_…": property schema} of the fields on `object_type` (shared ones too);
        a list the key may not read adds none."""
        listed = definition_lists_of(object_type)
        if all(name in self._lists or name in self._refused for name in listed):
            lists = {name: self._readable_list(name) for name in listed}
        else:   # both lists at once: the stream's first search waits for them
            lists = dict(zip(listed, in_parallel(self._readable_list, listed)))
        return custom_fields_by_object_type(lists).get(object_type, {})

    def _readable_list(self, object_type: str) -> list[dict]:
        try:
            return self._list(object_type)
        except AuthError as exc:
            if exc.status != 403:
                raise
            return []
