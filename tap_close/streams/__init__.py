"""The registry of streams, in the order a full sync runs them (dimensions first)."""

from .activities import Activities
from .base import Stream, StreamContext, Unit
from .custom_fields import CustomFields
from .event_log import EventLog
from .leads import Leads
from .tasks import Tasks
from .users import Users

STREAMS: dict[str, Stream] = {stream.tap_stream_id: stream for stream in (
    CustomFields(), Users(), Leads(), Tasks(), Activities(), EventLog(),
)}

__all__ = ["STREAMS", "Stream", "StreamContext", "Unit"]
