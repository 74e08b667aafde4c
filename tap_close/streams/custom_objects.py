"""Close's custom objects: the types (a small configuration table) and their instances.

`GET /custom_object/` lists one lead's instances only ("The `lead_id` parameter is required. If
you want to retrieve all Custom Object instances regardless of the lead, you will need to use
Advanced Filtering": Close docs, developer.close.com/api/resources/custom-objects/list), so the
instances are read org-wide through `POST /data/search/`, object type `custom_object`, like
contacts (search.py). Close logs `custom_object` created/updated/deleted events (Close docs,
developer.close.com/api/resources/events/list-of-event-types): their deletions become deletion
records (changes.py)."""

from .dimensions import DimensionStream
from .search import SearchStream


class CustomObjectTypes(DimensionStream):
    """GET /custom_object_type/: the types, each with its fields' metadata (`fields`) and the
    fields that reference it (`back_reference_fields`)."""
    tap_stream_id = "custom_object_types"
    path = "custom_object_type"


class CustomObjects(SearchStream):
    """Custom object instances of every type, ascending by `date_updated`; the fields of all
    the types (GET /custom_field/custom_object_type/, and shared fields associated with a type)
    are typed `custom.cf_…` columns."""
    tap_stream_id = "custom_objects"
    object_type = "custom_object"
    path = "data/search"
    custom_field_slots = {(): "custom_object_type"}
    event_object_types = ("custom_object",)
