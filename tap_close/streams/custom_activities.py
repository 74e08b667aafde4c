from .activities import Activities


class CustomActivities(Activities):
    """GET /activity/custom/: instances of the account's custom activity types, with their
    fields typed from the activity custom field definitions. Read like activities: date
    windows newest first, a lookback, and late edits from the event log."""
    tap_stream_id = "custom_activities"
    path = "activity/custom"
    event_object_types = ("activity.custom_activity",)
