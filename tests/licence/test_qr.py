from __future__ import annotations

import base64

import pytest
import segno

from miaopi.licence import qr_png, qr_svg, verification_url
from miaopi.licence.identifier import IdentifierError

IDENTIFIER = "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9"
BASE = "https://zwfw.example.gov.cn/licence/verify/"


def test_verification_url() -> None:
    assert verification_url(BASE, IDENTIFIER) == f"https://zwfw.example.gov.cn/licence/verify/{IDENTIFIER}"


def test_png_and_svg() -> None:
    png = qr_png(BASE, IDENTIFIER)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200
    svg = qr_svg(BASE, IDENTIFIER)
    assert svg.startswith(b"<?xml") and b"<svg" in svg and "证照核验二维码".encode() in svg


def test_code_carries_the_url() -> None:
    # segno has no decoder; the matrix must equal the one segno builds for the URL itself.
    expected = segno.make_qr(verification_url(BASE, IDENTIFIER), error="m")
    png = qr_png(BASE, IDENTIFIER, scale=1, border=0)
    reference = expected.png_data_uri(scale=1, border=0)
    assert reference.startswith("data:image/png;base64,")
    assert expected.error == "M" and expected.symbol_size(scale=1, border=0)[0] >= 21
    assert base64.b64decode(reference.split(",", 1)[1]) == png


def test_invalid_identifier_refused() -> None:
    with pytest.raises(IdentifierError, match="校验位"):
        qr_png(BASE, IDENTIFIER[:-1] + "8")
