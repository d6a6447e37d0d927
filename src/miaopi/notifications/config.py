"""How a deployment sends: ``<data dir>/notifications.yaml`` (all optional)::

    channels:
      sms:    {gateway: http, url: https://sms.example.gov.cn/send, token_env: MIAOPI_SMS_TOKEN,
               receipt_token_env: MIAOPI_SMS_RECEIPT_TOKEN, rate_per_second: 20, burst: 20, max_segments: 3}
      wechat: {gateway: http, url: https://wx.example.gov.cn/send, rate_per_second: 50}
      email:  {gateway: smtp, host: smtp.example.gov.cn, port: 587, starttls: true,
               username: miaopi, password_env: MIAOPI_SMTP_PASSWORD, sender: noreply@example.gov.cn}
      inbox:  {rate_per_second: 1000}
    retry: {max_attempts: 6, base_seconds: 30, cap_seconds: 3600}
    lease_seconds: 300

A channel without a gateway uses ``recording``: what would be sent is stored in
``notification_recorded`` and nothing leaves the machine (the development deployment). Secrets are
named by environment variable, never written in the file. A gateway that reports delivery posts
receipts to ``POST /api/v1/notifications/receipts/{channel}`` with ``Authorization: Bearer`` and the
token named by ``receipt_token_env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from miaopi.notifications.channels import (
    Channel,
    Gateway,
    HttpGateway,
    InboxGateway,
    RecordingGateway,
    SmtpGateway,
)

CONFIG_FILE = "notifications.yaml"
CHANNELS = ("inbox", "sms", "wechat", "email")
MAX_CHARS = {"inbox": 2000, "sms": 1000, "wechat": 200, "email": 10_000}  # sms: see max_segments
DEFAULT_RATE = {"inbox": 1000.0, "sms": 20.0, "wechat": 50.0, "email": 10.0}


class NotificationConfigError(ValueError):
    """``notifications.yaml`` is wrong; the message names the field."""


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: float


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt: doubling, capped."""
        return float(min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class NotificationConfig:
    channels: Mapping[str, Channel]
    rates: Mapping[str, RateLimit]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_seconds: float = 300.0
    recording: tuple[str, ...] = ()  # channels that only record (no real gateway)

    @classmethod
    def development(cls, **overrides: Any) -> NotificationConfig:
        return cls.from_mapping({}, **overrides)

    @classmethod
    def load(cls, data_dir: Path) -> NotificationConfig:
        path = data_dir / CONFIG_FILE
        if not path.exists():
            return cls.from_mapping({})
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise NotificationConfigError(f"{path}：不是合法的 YAML（{error}）") from None
        if not isinstance(document, dict):
            raise NotificationConfigError(f"{path}：应为对象（channels、retry、lease_seconds）")
        try:
            return cls.from_mapping(document)
        except NotificationConfigError as error:
            raise NotificationConfigError(f"{path}：{error}") from None

    @classmethod
    def from_mapping(cls, document: Mapping[str, Any], **overrides: Any) -> NotificationConfig:
        unknown = set(document) - {"channels", "retry", "lease_seconds"}
        if unknown:
            raise NotificationConfigError(f"未知字段 {', '.join(sorted(map(str, unknown)))}")
        specs = document.get("channels") or {}
        if not isinstance(specs, dict) or set(specs) - set(CHANNELS):
            raise NotificationConfigError(f"channels 只能包含 {', '.join(CHANNELS)}")
        channels: dict[str, Channel] = {}
        rates: dict[str, RateLimit] = {}
        recording: list[str] = []
        for name in CHANNELS:
            spec = specs.get(name) or {}
            if not isinstance(spec, dict):
                raise NotificationConfigError(f"channels.{name} 应为对象")
            gateway, records = _gateway(name, spec)
            receipts = _secret(spec, "receipt_token_env", name) if not records else None
            if records:
                recording.append(name)
            segments = _number(spec, "max_segments", 3, name) if name == "sms" else 0
            channels[name] = Channel(
                name=name,
                gateway=gateway,
                max_chars=int(_number(spec, "max_chars", MAX_CHARS[name], name)),
                max_sms_segments=int(segments),
                receipt_token=receipts,
            )
            per_second = _number(spec, "rate_per_second", DEFAULT_RATE[name], name)
            rates[name] = RateLimit(per_second, _number(spec, "burst", max(1.0, per_second), name))
        retry_spec = document.get("retry") or {}
        if not isinstance(retry_spec, dict) or set(retry_spec) - {
            "max_attempts",
            "base_seconds",
            "cap_seconds",
        }:
            raise NotificationConfigError("retry 只能包含 max_attempts、base_seconds、cap_seconds")
        retry = RetryPolicy(
            max_attempts=int(_number(retry_spec, "max_attempts", 6, "retry")),
            base_seconds=_number(retry_spec, "base_seconds", 30, "retry"),
            cap_seconds=_number(retry_spec, "cap_seconds", 3600, "retry"),
        )
        values: dict[str, Any] = {
            "channels": channels,
            "rates": rates,
            "retry": retry,
            "lease_seconds": _number(document, "lease_seconds", 300, "lease_seconds"),
            "recording": tuple(recording),
        }
        values.update(overrides)
        return cls(**values)


def _number(spec: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise NotificationConfigError(f"{where}.{key} 应为正数")
    return float(value)


def _secret(spec: Mapping[str, Any], key: str, name: str) -> str | None:
    variable = spec.get(key)
    if variable is None:
        return None
    value = os.environ.get(str(variable))
    if not value:
        raise NotificationConfigError(f"channels.{name}.{key}：环境变量 {variable} 未设置")
    return value


def _gateway(name: str, spec: Mapping[str, Any]) -> tuple[Gateway, bool]:
    kind = spec.get("gateway", "inbox" if name == "inbox" else "recording")
    if name == "inbox":
        if kind != "inbox":
            raise NotificationConfigError("channels.inbox 没有网关可配置")
        return InboxGateway(), False
    if kind == "recording":
        return RecordingGateway(), True
    timeout = _number(spec, "timeout_seconds", 10, f"channels.{name}")
    if kind == "http" and name in ("sms", "wechat"):
        url = spec.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NotificationConfigError(f"channels.{name}.url 应为 http(s) 地址")
        return HttpGateway(url, token=_secret(spec, "token_env", name), timeout=timeout), False
    if kind == "smtp" and name == "email":
        host, sender = spec.get("host"), spec.get("sender")
        if not isinstance(host, str) or not host or not isinstance(sender, str) or "@" not in sender:
            raise NotificationConfigError("channels.email 需要 host 与 sender（发件地址）")
        return (
            SmtpGateway(
                host,
                int(_number(spec, "port", 25, "channels.email")),
                sender=sender,
                username=spec.get("username"),
                password=_secret(spec, "password_env", name),
                starttls=bool(spec.get("starttls", False)),
                timeout=timeout,
            ),
            False,
        )
    allowed = "http 或 recording" if name in ("sms", "wechat") else "smtp 或 recording"
    raise NotificationConfigError(f"channels.{name}.gateway 应为 {allowed}")
