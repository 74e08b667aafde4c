"""The registry of streams, in the order a sync starts them: the streams with the most pages
(usually activities) first, so that their rate limit is busy from the first second."""

from .activities import Activities
from .base import Stream, StreamContext, Unit
from .contacts import Contacts
from .custom_activities import CustomActivities
from .custom_fields import CustomFields
from .custom_objects import CustomObjects, CustomObjectTypes
from .dimensions import CustomActivityTypes, LeadStatuses, OpportunityStatuses, Pipelines
from .event_log import EventLog
from .leads import Leads
from .opportunities import Opportunities
from .org_tables import EmailTemplates, Groups, PhoneNumbers, Roles, SmartViews, SmsTemplates
from .sequences import Sequences, SequenceSubscriptions
from .tasks import Tasks
from .users import Users

STREAMS: dict[str, Stream] = {stream.tap_stream_id: stream for stream in (
    Activities(), Leads(), Tasks(), EventLog(), Contacts(), Opportunities(), CustomActivities(),
    Users(), CustomFields(), LeadStatuses(), OpportunityStatuses(), Pipelines(), CustomActivityTypes(),
    SequenceSubscriptions(), CustomObjects(), Sequences(), CustomObjectTypes(), EmailTemplates(), SmsTemplates(),
    Roles(), Groups(), SmartViews(), PhoneNumbers(),
)}

__all__ = ["STREAMS", "Stream", "StreamContext", "Unit"]
