from functools import partial

from ..schema import CUSTOM_FIELD_OBJECT_TYPES
from .base import Unit
from .full_scan import FullScanStream


class CustomFields(FullScanStream):
    """GET /custom_field/<object type>/ for every object type, in one table with an
    `object_type` column. No date filter exists.

    The search streams read some of the same lists in the same run, to name every custom field
    in their `_fields` (search.py): the lists come from the run's one view of the definitions
    (custom_field_definitions.CurrentCustomFields), so each is read once per run, by whichever
    stream needs it first. A unit per object type lets the sync read the six lists at once."""
    tap_stream_id = "custom_fields"
    path = "custom_field"
    replication_key = "date_updated"
    page_size = 1000
    local_fields = ("object_type",)   # ours, not Close's: don't ask Close for it

    def definition_lists(self, every_field: bool) -> tuple[str, ...]:
        return CUSTOM_FIELD_OBJECT_TYPES

    def collections(self, ctx):
        for object_type in CUSTOM_FIELD_OBJECT_TYPES:
            yield f"{self.path}/{object_type}", {}, {"object_type": object_type}

    def read_units(self, ctx):
        if ctx.current_custom_fields is None:   # planned on its own: the lists one after the other
            yield from super().read_units(ctx)
            return
        last = CUSTOM_FIELD_OBJECT_TYPES[-1]
        for object_type in CUSTOM_FIELD_OBJECT_TYPES:
            yield Unit(label=f"{object_type} definitions",
                       fetch=partial(self._fetch_shared, ctx, object_type, object_type == last))

    def _fetch_shared(self, ctx, object_type, last, unit):
        # Read whole, without `_fields`: the writer drops the fields the user deselected.
        records = self.emitted(ctx, ctx.current_custom_fields.definitions(object_type), {"object_type": object_type})
        if records:
            yield records
        if last:
            # Only the last unit carries the bookmark, and a bookmark moves only over units
            # written in order: it moves once every list is written.
            self.read_whole(ctx, unit)
