from ..schema import CUSTOM_FIELD_OBJECT_TYPES
from .full_scan import FullScanStream


class CustomFields(FullScanStream):
    """GET /custom_field/<object type>/ for every object type, in one table with an
    `object_type` column. No date filter exists."""
    tap_stream_id = "custom_fields"
    path = "custom_field"
    replication_key = "date_updated"
    page_size = 1000
    local_fields = ("object_type",)   # ours, not Close's: don't ask Close for it

    def collections(self, ctx):
        for object_type in CUSTOM_FIELD_OBJECT_TYPES:
            yield f"{self.path}/{object_type}", {}, {"object_type": object_type}
