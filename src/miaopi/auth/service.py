"""Accounts, sign-in and bearer tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from miaopi.auth.models import Account, Token
from miaopi.auth.passwords import hash_password, password_problem, verify_password
from miaopi.store import Database

TOKEN_LIFETIME = dt.timedelta(hours=12)
CACHE_SECONDS = 30.0


class AuthError(PermissionError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who is making a request."""

    account_id: int
    kind: str  # applicant | officer
    login: str
    role: str
    subject_id: str | None = None
    department: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return f"{self.kind}:{self.login}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# A token's account, as one Core statement: most requests of real traffic come from someone not seen
# in the last CACHE_SECONDS, so this runs for most of them — without building ORM objects.
_RESOLVE = (
    select(
        Token.expires_at,
        Token.revoked,
        Account.id,
        Account.kind,
        Account.login,
        Account.role,
        Account.subject_id,
        Account.department,
    )
    .join(Account, Account.id == Token.account_id)
    .where(Token.token_hash == bindparam("digest"))
)


class Accounts:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._cache: dict[str, tuple[float, Principal]] = {}  # token digest → (good until, principal)
        self._lock = threading.Lock()

    def ensure_applicant(self, subject_id: str, *, verified: bool) -> Account:
        """The applicant account of a person or enterprise, created on first use."""
        with self.database.session() as session:
            account = session.scalars(select(Account).where(Account.login == subject_id)).first()
            if account is None:
                now = dt.datetime.now(dt.UTC)
                account = Account(
                    kind="applicant",
                    login=subject_id,
                    subject_id=subject_id,
                    role="applicant",
                    verified_at=now if verified else None,
                    created_at=now,
                )
                session.add(account)
                session.flush()
            return account

    def add_officer(self, username: str, department: str, password: str, role: str = "reviewer") -> Account:
        problem = password_problem(password)
        if problem:
            raise AuthError(problem)
        if role not in ("reviewer", "supervisor"):
            raise AuthError("角色应为 reviewer（审核人员）或 supervisor（科室负责人）")
        with self.database.session() as session:
            if session.scalars(select(Account).where(Account.login == username)).first() is not None:
                raise AuthError(f"账号“{username}”已存在")
            account = Account(
                kind="officer",
                login=username,
                department=department,
                role=role,
                password_hash=hash_password(password),
                created_at=dt.datetime.now(dt.UTC),
            )
            session.add(account)
            session.flush()
            return account

    def set_password(self, login: str, password: str) -> None:
        problem = password_problem(password)
        if problem:
            raise AuthError(problem)
        with self.database.session() as session:
            account = session.scalars(select(Account).where(Account.login == login)).first()
            if account is None:
                raise AuthError(f"账号“{login}”不存在")
            account.password_hash = hash_password(password)

    def sign_in(self, login: str, password: str) -> str:
        with self.database.session() as session:
            account = session.scalars(select(Account).where(Account.login == login)).first()
            if (
                account is None
                or account.password_hash is None
                or not verify_password(password, account.password_hash)
            ):
                raise AuthError("账号或密码错误")
            return self._issue(session, account)

    def issue_token(self, account_id: int) -> str:
        with self.database.session() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise AuthError("账号不存在")
            return self._issue(session, account)

    def _issue(self, session: Session, account: Account) -> str:
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        session.add(
            Token(
                token_hash=_digest(token),
                account_id=account.id,
                created_at=now,
                expires_at=now + TOKEN_LIFETIME,
            )
        )
        return token

    def cached(self, token: str) -> Principal | None:
        """The principal if the token was resolved lately (within ``CACHE_SECONDS``; no I/O)."""
        with self._lock:
            cached = self._cache.get(_digest(token))
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        return None

    def resolve(self, token: str) -> Principal:
        """The principal a bearer token stands for; cached briefly to keep requests cheap."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = _digest(token)
        with self.database.engine.connect() as connection:
            row = connection.execute(_RESOLVE, {"digest": digest}).first()
        return self._remember(digest, None if row is None else dict(row._mapping))

    async def resolve_async(self, token: str) -> Principal:
        """:meth:`resolve` from the event loop, without a worker thread (see ``miaopi.store.loop_reader``)."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        digest = _digest(token)
        return self._remember(digest, await self.database.loop_reader.first(_RESOLVE, {"digest": digest}))

    def _remember(self, digest: str, row: Mapping[str, Any] | None) -> Principal:
        """The principal of a looked-up token row, cached; AuthError for no row or a dead token."""
        now = time.monotonic()
        if row is None:
            raise AuthError("登录凭证无效")
        stored_expiry: dt.datetime = row["expires_at"]
        expires = stored_expiry if stored_expiry.tzinfo else stored_expiry.replace(tzinfo=dt.UTC)
        if row["revoked"] or expires <= dt.datetime.now(dt.UTC):
            raise AuthError("登录凭证已失效，请重新登录")
        principal = Principal(
            account_id=row["id"],
            kind=row["kind"],
            login=row["login"],
            role=row["role"],
            subject_id=row["subject_id"],
            department=row["department"],
        )
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            # Each entry lives 75–100 % of CACHE_SECONDS: tokens first seen together (a burst of
            # users, a load test) do not all expire in the same instant and stampede the database.
            self._cache[digest] = (now + CACHE_SECONDS * (0.75 + random.random() / 4), principal)
        return principal

    def revoke(self, token: str) -> None:
        digest = _digest(token)
        with self.database.session() as session:
            session.execute(update(Token).where(Token.token_hash == digest).values(revoked=True))
        with self._lock:
            self._cache.pop(digest, None)
