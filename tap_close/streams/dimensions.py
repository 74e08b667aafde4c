"""Small configuration tables, a page each: read whole every run (FULL_TABLE). Close gives
statuses no timestamps at all, so there is nothing to be incremental on."""

from .full_scan import FullScanStream


class LeadStatuses(FullScanStream):
    """GET /status/lead/: the organization's lead statuses."""
    tap_stream_id = "lead_statuses"
    path = "status/lead"
    replication_key = None
    page_size = 100


class OpportunityStatuses(FullScanStream):
    """GET /status/opportunity/: opportunity statuses, each in one pipeline."""
    tap_stream_id = "opportunity_statuses"
    path = "status/opportunity"
    replication_key = None
    page_size = 100


class Pipelines(FullScanStream):
    """GET /pipeline/: opportunity pipelines with their statuses nested."""
    tap_stream_id = "pipelines"
    path = "pipeline"
    replication_key = None
    page_size = 100


class CustomActivityTypes(FullScanStream):
    """GET /custom_activity/: the custom activity types (their fields' ids in `fields`)."""
    tap_stream_id = "custom_activity_types"
    path = "custom_activity"
    replication_key = None
    page_size = 100
