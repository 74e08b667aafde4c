from .full_scan import FullScanStream


class Contacts(FullScanStream):
    """GET /contact/: every contact, read whole every run.

    Close's contact list has no date filter and no sort order to page on, so a run reads the
    whole collection and emits the contacts changed since the bookmark. Off by default: the
    leads stream already carries each lead's contacts, nested and incremental.
    """
    tap_stream_id = "contacts"
    path = "contact"
    replication_key = "date_updated"
    page_size = 100
    selected_by_default = False
    custom_field_slots = {(): "contact"}
    event_object_types = ("contact",)
