"""Notifications (通知): Chinese templates, a transactional outbox, channels (in-app inbox, SMS,
WeChat, e-mail) and a dispatcher with retries, backoff and per-channel rate limits.

Other concepts queue a message in their own transaction::

    deployment.notifications.enqueue(session, recipient=subject_id, template="offer.made",
                                     variables={"policy": …, "amount": …, "deadline": …},
                                     channels=("inbox", "sms"), reference=offer_id)

and the dispatcher sends it once that transaction has committed. A batch (say a thousand offers made
in one transaction) queues its messages with one ``enqueue_many(session, [NewMessage(…), …])``.
"""

from miaopi.notifications.channels import CHANNEL_NAMES, Channel, Outgoing, SendFailed, Sent, sms_segments
from miaopi.notifications.config import NotificationConfig, NotificationConfigError, RateLimit, RetryPolicy
from miaopi.notifications.dispatcher import BackgroundDispatch, Dispatcher, Report, TokenBucket
from miaopi.notifications.outbox import (
    STATUS_LABELS,
    STATUSES,
    NewMessage,
    NotificationConflict,
    NotificationError,
    Notifications,
    recipient_of,
    utc_now,
)
from miaopi.notifications.privacy import personal_data_in
from miaopi.notifications.templates import Template, TemplateError, Templates

__all__ = [
    "CHANNEL_NAMES",
    "STATUSES",
    "STATUS_LABELS",
    "BackgroundDispatch",
    "Channel",
    "Dispatcher",
    "NewMessage",
    "NotificationConfig",
    "NotificationConfigError",
    "NotificationConflict",
    "NotificationError",
    "Notifications",
    "Outgoing",
    "RateLimit",
    "Report",
    "RetryPolicy",
    "SendFailed",
    "Sent",
    "Template",
    "TemplateError",
    "Templates",
    "TokenBucket",
    "personal_data_in",
    "recipient_of",
    "sms_segments",
    "utc_now",
]
