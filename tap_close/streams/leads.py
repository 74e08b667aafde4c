from .search import SearchStream


class Leads(SearchStream):
    """Leads through Close's Advanced Filtering API, ascending by `date_updated` (search.py).
    Contacts, opportunities, addresses and tasks stay nested as Close returns them."""
    tap_stream_id = "leads"
    object_type = "lead"
    path = "data/search"
    custom_field_slots = {(): "lead", ("contacts",): "contact", ("opportunities",): "opportunity"}
    event_object_types = ("lead",)
