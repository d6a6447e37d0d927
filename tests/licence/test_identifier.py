from __future__ import annotations

import random

import pytest

from miaopi.licence.identifier import (
    ALPHABET,
    ROOT,
    IdentifierError,
    check_character,
    make_identifier,
    parse_identifier,
)

REAL = [
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000MB03271699022.340100.000000016.001.9",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
]


@pytest.mark.parametrize("text", REAL)
def test_real_identifiers_validate(text: str) -> None:
    parsed = parse_identifier(text)
    assert str(parsed) == text
    assert make_identifier(parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version) == text
    assert check_character(parsed.body) == text[-1]


def test_fields() -> None:
    parsed = parse_identifier(REAL[1])
    assert parsed.type_code == "11100000MB03271699022"
    assert parsed.issuer_code == "340100"
    assert parsed.serial == "000000016"
    assert parsed.version == 1
    assert parsed.check == "9"


@pytest.mark.parametrize("text", REAL)
def test_every_single_character_change_is_detected(text: str) -> None:
    """Every position (root included), replaced by every other allowed character, a dot, a lowercase
    letter or a Chinese character, fails to parse."""
    start = 0
    replacements = [*ALPHABET, ".", "a", "z", "-", " ", "证"]
    tried = 0
    for position in range(start, len(text)):
        for char in replacements:
            if char == text[position]:
                continue
            changed = text[:position] + char + text[position + 1 :]
            with pytest.raises(IdentifierError):
                parse_identifier(changed)
            tried += 1
    assert tried > 2400


@pytest.mark.parametrize("text", REAL)
def test_adjacent_transpositions_of_different_characters_are_detected(text: str) -> None:
    start = len(ROOT) + 1
    for position in range(start, len(text) - 1):
        a, b = text[position], text[position + 1]
        if a == b or "." in (a, b):
            continue
        swapped = text[:position] + b + a + text[position + 2 :]
        with pytest.raises(IdentifierError):
            parse_identifier(swapped)


def test_random_made_identifiers_round_trip() -> None:
    rng = random.Random(36904)
    for _ in range(500):
        fields = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 22))) for _ in range(3)]
        version = rng.randint(1, 999)
        text = make_identifier(*fields, version=version)
        assert str(parse_identifier(text)) == text


def test_wrong_root_message() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_identifier("1.2.156.3005.3.11100000MB03271699022.340100.000000016.001.9")
    assert info.value.problem == "root"
    assert "1.2.156.3005.2." in info.value.message


def test_field_count_message() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_identifier("1.2.156.3005.2.11100000MB03271699022.340100.001.9")
    assert info.value.problem == "fields"
    assert "5 段" in info.value.message and "4 段" in info.value.message


def test_bad_character_message() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_identifier("1.2.156.3005.2.11100000mb03271699022.340100.000000016.001.9")
    assert info.value.problem == "character"
    assert "“m”" in info.value.message and "大写" in info.value.message


def test_check_character_expected_vs_found() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_identifier(REAL[1][:-1] + "8")
    assert info.value.problem == "checksum"
    assert info.value.message == "校验位不符：应为“9”，实为“8”"


def test_version_must_be_three_digits() -> None:
    with pytest.raises(IdentifierError, match="3 位数字"):
        parse_identifier("1.2.156.3005.2.11100000MB03271699022.340100.000000016.01.9")
    with pytest.raises(IdentifierError, match="1–999"):
        make_identifier("A", "B", "C", version=1000)


def test_surrounding_whitespace_is_tolerated() -> None:
    assert str(parse_identifier(f"  {REAL[0]}\n")) == REAL[0]
