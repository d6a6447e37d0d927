import datetime as dt

import pytest

from miaopi.identity import (
    IdentifierError,
    SubjectKind,
    mask_identifier,
    parse_citizen_id,
    parse_credit_code,
    parse_subject_id,
)
from miaopi.identity.masking import mask_name


@pytest.mark.parametrize(
    ("number", "sex", "birth"),
    [
        ("11010519491231002X", "female", dt.date(1949, 12, 31)),
        ("440524188001010014", "male", dt.date(1880, 1, 1)),
        ("11010219840406970X", "female", dt.date(1984, 4, 6)),
    ],
)
def test_valid_citizen_ids_from_the_standard(number: str, sex: str, birth: dt.date) -> None:
    parsed = parse_citizen_id(number)
    assert parsed.sex == sex
    assert parsed.birth_date == birth
    assert parsed.region == number[:6]


def test_lowercase_x_is_normalised() -> None:
    assert parse_citizen_id("11010519491231002x").number == "11010519491231002X"


def test_checksum_error_names_expected_and_found() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_citizen_id("110105194912310021")
    assert caught.value.problem == "checksum"
    assert "应为“X”" in caught.value.message and "实际为“1”" in caught.value.message


@pytest.mark.parametrize(
    ("number", "problem", "fragment"),
    [
        ("1101051949123100", "length", "实际为16位"),
        ("11010519491231002XX", "length", "实际为19位"),
        ("1101051949123A002X", "character", "第14位"),
        ("11010519491231002Y", "character", "第18位"),
        ("110105194902300028", "date", "19490230"),
        ("110105209912310020", "date", "晚于今天"),
        ("000105194912310021", "region", "000105"),
    ],
)
def test_citizen_id_errors_are_specific(number: str, problem: str, fragment: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_citizen_id(number, today=dt.date(2026, 11, 22))
    assert caught.value.problem == problem
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",
        "914403001922038216",
        "91440300708461136T",
        "91330100716105852F",
        "91110000802100433B",
    ],
)
def test_valid_credit_codes_from_the_standard(code: str) -> None:
    parsed = parse_credit_code(code)
    assert parsed.warning is None
    assert parsed.entity_kind == "企业"


@pytest.mark.parametrize("code", ["91350100M0001TGQXM", "91350211M0000XUF46", "91350203M0001FUE2P"])
def test_pilot_codes_are_valid_with_a_warning(code: str) -> None:
    parsed = parse_credit_code(code)
    assert parsed.warning is not None
    assert "试点" in parsed.warning and "校验码" in parsed.warning


def test_credit_code_checksum_error_names_expected_and_found() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_credit_code("914403001922038217")
    assert caught.value.problem == "checksum"
    assert "应为“6”" in caught.value.message and "实际为“7”" in caught.value.message


def test_credit_code_organisation_check_is_enforced() -> None:
    # Change the organisation-code check digit (position 17) and repair the overall check character,
    # so only the embedded GB 11714 check fails.
    from miaopi.identity.credit_code import check_character

    body = "9144030019220382" + "0"
    code = body + check_character(body)
    with pytest.raises(IdentifierError) as caught:
        parse_credit_code(code)
    assert "组织机构代码校验码应为“1”" in caught.value.message


@pytest.mark.parametrize(
    ("code", "problem", "fragment"),
    [
        ("9144030019220382", "length", "实际为16位"),
        ("91440300192203821I", "character", "第18位“I”"),
        ("9O4403001922038216", "character", "第2位“O”"),
        ("91AB03001922038216", "region", "AB0300"),
    ],
)
def test_credit_code_errors_are_specific(code: str, problem: str, fragment: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_credit_code(code)
    assert caught.value.problem == problem
    assert fragment in caught.value.message


def test_subject_kind_is_told_apart() -> None:
    assert parse_subject_id("440524188001010014")[0] is SubjectKind.PERSON
    assert parse_subject_id("914403001922038216")[0] is SubjectKind.ENTERPRISE
    assert parse_subject_id("91350100M000100Y43")[0] is SubjectKind.ENTERPRISE
    kind, _code, warning = parse_subject_id("91350211M0000XUF46")
    assert kind is SubjectKind.ENTERPRISE and warning


def test_subject_error_for_a_bad_person_number_talks_about_the_person_number() -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_subject_id("110105194912310021")
    assert "公民身份号码" in caught.value.message


def test_masking() -> None:
    assert mask_identifier("440524188001010014") == "4405**********0014"
    assert mask_name("张三") == "张*"
    assert mask_name("深圳市腾讯计算机系统有限公司").startswith("深圳") and "有限公司"[-2:] in mask_name(
        "深圳市腾讯计算机系统有限公司"
    )
