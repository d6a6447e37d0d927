"""A bearer token resolves to the principal of its account — applicant or officer — until it is
revoked or expires; an unknown token resolves to nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import update

from miaopi.auth import Accounts, AuthError, Principal
from miaopi.auth.models import Token
from miaopi.store import Database

APPLICANT = "110105194912310025"
Resolve = Callable[[Accounts, str], Principal]


@pytest.fixture(params=["in a thread", "on the event loop"])
def resolve(request: pytest.FixtureRequest) -> Resolve:
    """``Accounts.resolve`` (blocking), or ``Accounts.resolve_async`` (what the API awaits)."""
    if request.param == "in a thread":
        return lambda accounts, token: accounts.resolve(token)
    return lambda accounts, token: asyncio.run(accounts.resolve_async(token))


def test_tokens_resolve_to_their_accounts(database: Database, resolve: Resolve) -> None:
    accounts = Accounts(database)
    applicant = accounts.ensure_applicant(APPLICANT, verified=True)
    officer = accounts.add_officer("wang.reviewer", "市交通运输局", "Str0ng-Passw0rd!", role="supervisor")
    person = resolve(accounts, accounts.issue_token(applicant.id))
    assert (
        person.account_id,
        person.kind,
        person.login,
        person.role,
        person.subject_id,
        person.department,
    ) == (
        applicant.id,
        "applicant",
        APPLICANT,
        "applicant",
        APPLICANT,
        None,
    )
    staff = resolve(accounts, accounts.sign_in("wang.reviewer", "Str0ng-Passw0rd!"))
    assert (staff.account_id, staff.kind, staff.role, staff.subject_id, staff.department) == (
        officer.id,
        "officer",
        "supervisor",
        None,
        "市交通运输局",
    )


def test_unknown_revoked_and_expired_tokens_are_refused(database: Database, resolve: Resolve) -> None:
    accounts = Accounts(database)
    account = accounts.ensure_applicant(APPLICANT, verified=True)
    with pytest.raises(AuthError, match="登录凭证无效"):
        resolve(accounts, "no-such-token")
    revoked = accounts.issue_token(account.id)
    accounts.revoke(revoked)
    with pytest.raises(AuthError, match="已失效"):
        resolve(accounts, revoked)
    expired = accounts.issue_token(account.id)
    with database.session() as session:  # expired an hour ago, as stored by another process
        session.execute(update(Token).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)))
    with pytest.raises(AuthError, match="已失效"):
        resolve(Accounts(database), expired)
