"""The registry of streams, in the order a sync starts them: the streams with the most pages
(usually activities) first, so that their rate limit is busy from the first second."""

from .activities import Activities
from .base import Stream, StreamContext, Unit
from .custom_fields import CustomFields
from .event_log import EventLog
from .leads import Leads
from .tasks import Tasks
from .users import Users

STREAMS: dict[str, Stream] = {stream.tap_stream_id: stream for stream in (
    Activities(), Leads(), Tasks(), EventLog(), Users(), CustomFields(),
)}

__all__ = ["STREAMS", "Stream", "StreamContext", "Unit"]
