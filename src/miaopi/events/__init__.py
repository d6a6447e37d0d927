"""Events in (无感审批): registration changes, licences approaching expiry and life events, from
departments over HTTP and NATS JetStream and from the platform's daily scans; each stored once and
handed to the triggers of the catalogue."""

from miaopi.events.intake import EventIn, EventRejected, ValidEvent, validate_event
from miaopi.events.service import EventIntake, Ingested
from miaopi.events.types import EVENT_TYPES, EventType

__all__ = [
    "EVENT_TYPES",
    "EventIn",
    "EventIntake",
    "EventRejected",
    "EventType",
    "Ingested",
    "ValidEvent",
    "validate_event",
]
