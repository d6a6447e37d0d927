"""Channels behind one interface: the in-app inbox, SMS, WeChat and e-mail.

A :class:`Channel` knows its text limit and hands one :class:`Outgoing` message to its gateway:

- ``inbox`` stores the message for the recipient to read through the API (delivered at once);
- ``sms`` and ``wechat`` post to an HTTP gateway (:class:`HttpGateway`), ``email`` speaks SMTP
  (:class:`SmtpGateway`);
- in the development deployment, where no real gateway is reachable, :class:`RecordingGateway`
  stores what would have been sent (masked address and text) in ``notification_recorded``.

A gateway raises :class:`SendFailed` with a Chinese reason; ``permanent`` failures (refused number,
missing contact) are not retried, the others are retried with backoff by the dispatcher.
"""

from __future__ import annotations

import datetime as dt
import math
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal, Protocol, cast

import httpx
from sqlalchemy import Table
from sqlalchemy.orm import Session

from miaopi.identity import mask_identifier
from miaopi.notifications.models import Recorded

SMS_SEGMENT = 70  # characters in one SMS (UCS-2)
SMS_LONG_SEGMENT = 67  # characters per part of a concatenated SMS (the header takes 3)

RECORD = cast(Table, Recorded.__table__).insert()
CHANNEL_NAMES = {"inbox": "站内信", "sms": "短信", "wechat": "微信", "email": "电子邮件"}
CONTACT_NAMES = {"sms": "手机号码", "wechat": "微信 OpenID", "email": "电子邮箱地址"}


class SendFailed(Exception):
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    message_id: str
    channel: str
    address: str | None  # the contact for sms/wechat/email; None for the inbox
    title: str
    text: str


@dataclass(frozen=True)
class Sent:
    status: Literal["sent", "delivered"]
    gateway_id: str | None = None


def sms_segments(text: str) -> int:
    """How many SMS a text takes: one up to 70 characters, else parts of 67."""
    if len(text) <= SMS_SEGMENT:
        return 1
    return math.ceil(len(text) / SMS_LONG_SEGMENT)


class Gateway(Protocol):
    in_database: bool  # writes in the dispatcher's transaction (no network): the inbox, recording
    timeout: float  # the longest one send may take (seconds); 0 for in-database gateways

    def send(self, session: Session, outgoing: Outgoing, now: dt.datetime) -> Sent: ...


@dataclass(frozen=True)
class Channel:
    """One channel: its name, how long a text may be, and the gateway that carries it."""

    name: str
    gateway: Gateway
    max_chars: int
    max_sms_segments: int = 0  # for sms: how many concatenated parts a text may take
    receipt_token: str | None = None  # the gateway's delivery receipts carry it (None: no receipts)

    @property
    def needs_address(self) -> bool:
        return self.name != "inbox"

    def too_long(self, text: str) -> str | None:
        """Why ``text`` cannot go out on this channel (Chinese), or None."""
        if self.max_sms_segments:
            segments = sms_segments(text)
            if segments > self.max_sms_segments:
                return (
                    f"{CHANNEL_NAMES.get(self.name, self.name)}正文 {len(text)} 字，需 {segments} 条短信，"
                    f"超过上限 {self.max_sms_segments} 条（单条 {SMS_SEGMENT} 字，长短信每条 {SMS_LONG_SEGMENT} 字）"
                )
            return None
        if len(text) > self.max_chars:
            return (
                f"{CHANNEL_NAMES.get(self.name, self.name)}正文 {len(text)} 字，超过上限 {self.max_chars} 字"
            )
        return None


class InboxGateway:
    """The in-app inbox: the message row is the inbox entry; sending makes it visible."""

    in_database = True
    timeout = 0.0

    def send(self, session: Session, outgoing: Outgoing, now: dt.datetime) -> Sent:
        return Sent("delivered")


class RecordingGateway:
    """Development stand-in for a real gateway: records what would be sent, sends nothing."""

    in_database = True
    timeout = 0.0

    def send(self, session: Session, outgoing: Outgoing, now: dt.datetime) -> Sent:
        session.execute(
            RECORD,
            {
                "delivery_id": outgoing.delivery_id,
                "channel": outgoing.channel,
                "address": mask_identifier(outgoing.address or ""),
                "text": outgoing.text,
                "recorded_at": now,
            },
        )
        return Sent("sent", f"recorded-{outgoing.delivery_id}")


class HttpGateway:
    """An SMS or WeChat gateway reached over HTTP.

    ``POST url`` with JSON ``{"to", "text", "title", "reference"}`` (and ``Authorization: Bearer
    token`` when configured). A 2xx answer is *sent*, its JSON ``id`` kept as the gateway's
    reference; 429, 5xx, timeouts and connection errors are retried; any other 4xx is final.
    """

    in_database = False

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, session: Session, outgoing: Outgoing, now: dt.datetime) -> Sent:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = {
            "to": outgoing.address,
            "text": outgoing.text,
            "title": outgoing.title,
            "reference": outgoing.message_id,
        }
        try:
            response = httpx.post(self.url, json=payload, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            raise SendFailed("网关超时") from None
        except httpx.HTTPError as error:
            raise SendFailed(f"无法连接网关（{type(error).__name__}）") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise SendFailed(f"网关暂时不可用（HTTP {response.status_code}）")
        if response.status_code >= 400:
            raise SendFailed(f"网关拒绝发送（HTTP {response.status_code}）", permanent=True)
        gateway_id: str | None = None
        try:
            body = response.json()
            if isinstance(body, dict) and body.get("id") is not None:
                gateway_id = str(body["id"])[:96]
        except ValueError:
            pass
        return Sent("sent", gateway_id)


class SmtpGateway:
    """E-mail through an SMTP relay (STARTTLS and login when configured)."""

    in_database = False

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, session: Session, outgoing: Outgoing, now: dt.datetime) -> Sent:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = outgoing.address or ""
        mail["Subject"] = outgoing.title
        mail["Message-ID"] = f"<{outgoing.message_id}.{outgoing.delivery_id}@miaopi>"
        mail.set_content(outgoing.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise SendFailed("邮件服务器拒收该收件地址", permanent=True) from None
        except smtplib.SMTPResponseException as error:
            permanent = 500 <= error.smtp_code < 600
            raise SendFailed(f"邮件服务器拒绝（{error.smtp_code}）", permanent=permanent) from None
        except (smtplib.SMTPException, OSError) as error:
            raise SendFailed(f"无法连接邮件服务器（{type(error).__name__}）") from None
        return Sent("sent", mail["Message-ID"])
