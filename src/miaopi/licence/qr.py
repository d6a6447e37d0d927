"""QR codes (PNG and SVG) that link to the public verification page of a licence identifier."""

from __future__ import annotations

import io
from urllib.parse import quote

import segno

from miaopi.licence.identifier import parse_identifier

__all__ = ["qr_png", "qr_svg", "verification_url"]


def verification_url(base_url: str, identifier: str) -> str:
    """``<base_url>/<identifier>``; the identifier is validated first (check character included)."""
    canonical = str(parse_identifier(identifier))
    return f"{base_url.rstrip('/')}/{quote(canonical, safe='.')}"


def _qr(base_url: str, identifier: str) -> segno.QRCode:
    # Level M (15 % recovery): survives a worn print or a phone photo of a screen.
    return segno.make_qr(verification_url(base_url, identifier), error="m")


def qr_png(base_url: str, identifier: str, scale: int = 4, border: int = 4) -> bytes:
    buffer = io.BytesIO()
    _qr(base_url, identifier).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(
    base_url: str, identifier: str, scale: int = 4, border: int = 4, title: str = "证照核验二维码"
) -> bytes:
    buffer = io.BytesIO()
    _qr(base_url, identifier).save(
        buffer, kind="svg", scale=scale, border=border, title=title, encoding="utf-8", xmldecl=True
    )
    return buffer.getvalue()
