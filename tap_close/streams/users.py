from .full_scan import FullScanStream


class Users(FullScanStream):
    """GET /user/: everyone in the organization. No date filter exists."""
    tap_stream_id = "users"
    path = "user"
    replication_key = "date_updated"
    page_size = 1000
