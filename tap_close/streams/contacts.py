from .search import SearchStream


class Contacts(SearchStream):
    """Contacts through Close's Advanced Filtering API, ascending by `date_updated` (search.py):
    `GET /contact/` has no date filter, so this is the only incremental way to read them."""
    tap_stream_id = "contacts"
    object_type = "contact"
    path = "data/search"
    custom_field_slots = {(): "contact"}
    event_object_types = ("contact",)
