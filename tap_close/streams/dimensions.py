"""Small configuration tables, a page each: read whole every run (FULL_TABLE). Close gives
statuses no timestamps at all, so there is nothing to be incremental on."""

from .full_scan import FullScanStream


class DimensionStream(FullScanStream):
    replication_key = None
    page_size = 100


class LeadStatuses(DimensionStream):
    """GET /status/lead/: the organization's lead statuses."""
    tap_stream_id = "lead_statuses"
    path = "status/lead"


class OpportunityStatuses(DimensionStream):
    """GET /status/opportunity/: opportunity statuses, each in one pipeline."""
    tap_stream_id = "opportunity_statuses"
    path = "status/opportunity"


class Pipelines(DimensionStream):
    """GET /pipeline/: opportunity pipelines with their statuses nested."""
    tap_stream_id = "pipelines"
    path = "pipeline"


class CustomActivityTypes(DimensionStream):
    """GET /custom_activity/: the custom activity types (their fields' ids in `fields`)."""
    tap_stream_id = "custom_activity_types"
    path = "custom_activity"
