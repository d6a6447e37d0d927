"""Resolved bearer tokens are cached briefly, and tokens first seen together do not expire together."""

from __future__ import annotations

import pytest

import miaopi.auth.service as service
from miaopi.auth import Accounts
from miaopi.store import Database


def test_cached_tokens_expire_spread_out_not_all_at_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: clock[0])
    accounts = Accounts(database)
    tokens = [
        accounts.issue_token(accounts.ensure_applicant(f"11010519491231{index:03d}X", verified=True).id)
        for index in range(40)
    ]
    for token in tokens:
        accounts.resolve(token)  # all first seen in the same instant
    assert all(accounts.cached(token) is not None for token in tokens)
    clock[0] += service.CACHE_SECONDS * 0.875  # between the shortest and the longest lifetime
    still = sum(accounts.cached(token) is not None for token in tokens)
    assert 0 < still < len(tokens)  # some must be looked up again, not all in one stampede
    clock[0] += service.CACHE_SECONDS * 0.125 + 0.001
    assert all(accounts.cached(token) is None for token in tokens)
