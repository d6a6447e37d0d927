"""The budget order's text key sorts exactly as the declared order: numbers ascending (or
descending), NULL last, then the SHA-256 of the subject id."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from miaopi.catalog.model import PriorityKey
from miaopi.offers.periods import PeriodError, parse_period, period_of
from miaopi.offers.priority import encode_key, queue_key
from miaopi.rules import FactType, compile_expression

numbers = st.one_of(
    st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**12), 10**12)
)


def _order(value: float | None, descending: bool) -> tuple[int, float]:
    if value is None:
        return (1, 0.0)
    return (0, -float(value) if descending else float(value))


@given(numbers, numbers, st.booleans())
def test_encoded_keys_sort_like_their_values(a: float | None, b: float | None, descending: bool) -> None:
    left, right = encode_key(a, descending=descending), encode_key(b, descending=descending)
    assert len(left) == len(right) == 17
    expected = (_order(a, descending) > _order(b, descending)) - (
        _order(a, descending) < _order(b, descending)
    )
    assert (left > right) - (left < right) == expected


def test_queue_key_ends_with_the_subject_hash_as_tie_breaker() -> None:
    key = PriorityKey(compile_expression("x", {"x": FactType.NUMBER}))
    first, second = queue_key("A", [1.0], [key]), queue_key("B", [1.0], [key])
    assert first.endswith(hashlib.sha256(b"A").hexdigest())
    assert (first < second) == (hashlib.sha256(b"A").hexdigest() < hashlib.sha256(b"B").hexdigest())
    assert queue_key("Z", [0.5], [key]) < queue_key("A", [1.0], [key]) < queue_key("A", [None], [key])


def test_periods() -> None:
    import datetime as dt

    assert period_of(dt.date(2026, 11, 23), "quarter").label == "2026-Q4"
    november = parse_period("2026-11", "month")
    assert (november.first_day, november.last_day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    december = parse_period("2026-12", "month")
    assert december.last_day == dt.date(2026, 12, 31)
    assert parse_period("2026-Q1", "quarter").last_day == dt.date(2026, 3, 31)
    for label, kind in (("2026-13", "month"), ("2026-Q5", "quarter"), ("26", "year")):
        try:
            parse_period(label, kind)
        except PeriodError as error:
            assert label in str(error)
        else:
            raise AssertionError(label)


def test_offer_and_benefit_ids_never_look_like_personal_data() -> None:
    from miaopi.notifications import personal_data_in
    from miaopi.offers.service import _new_id

    ids = [_new_id(prefix) for prefix in ("OF", "BF") for _ in range(20000)]
    assert len(set(ids)) == len(ids)
    assert all(len(value) == 18 and personal_data_in(value) is None for value in ids)
    assert not any(character.isdigit() for value in ids for character in value)
