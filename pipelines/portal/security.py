"""Sessions, CSRF tokens and the limit on failed logins.

A session is a signed cookie (itsdangerous, through Starlette's SessionMiddleware), HttpOnly and
SameSite=Strict. It ends after IDLE_SECONDS without a request and, whatever happens, SESSION_SECONDS
after the login; it also ends when its account is removed or its password changed (the account's
epoch). Every form carries the session's CSRF token, compared in constant time. Failed logins are
counted per name and per client address: past MAX_FAILURES in FAILURE_WINDOW seconds, logins from
there are refused until the window has passed.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from pipelines.portal.accounts import Account, AccountStore, write_private

IDLE_SECONDS = 30 * 60
SESSION_SECONDS = 8 * 60 * 60
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60
CSRF_FIELD = "csrf"
SECRET_FILE = "cle_sessions"


def session_secret(portal_dir: Path) -> str:
    """The key that signs the sessions, made once and kept private in the portal's folder (sessions
    survive a restart of the portal)."""
    path = portal_dir / SECRET_FILE
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        secret = ""
    if len(secret) < 32:
        secret = secrets.token_hex(32)
        write_private(path, secret)
    return secret


def csrf_token(session: dict) -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: dict, submitted: str | None) -> bool:
    expected = session.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(expected.encode(), submitted.encode())


def open_session(session: dict, account: Account) -> None:
    """A fresh session for the account (a new CSRF token too: nothing from before the login is kept)."""
    session.clear()
    stamp = int(time.time())
    session.update(
        account=account.name, epoch=account.epoch, login_at=stamp, seen=stamp, csrf=secrets.token_urlsafe(32)
    )


def session_account(session: dict, accounts: AccountStore) -> Account | None:
    """The session's account while the session is valid (and its idle clock restarted), else None."""
    name = session.get("account")
    if not name:
        return None
    account = accounts.get(name)
    stamp = time.time()
    if (
        account is None
        or account.epoch != session.get("epoch")
        or stamp - session.get("login_at", 0) > SESSION_SECONDS
        or stamp - session.get("seen", 0) > IDLE_SECONDS
    ):
        session.clear()
        return None
    if stamp - session["seen"] > 30:  # re-signed now and then, not on every request
        session["seen"] = int(stamp)
    return account


class LoginThrottle:
    """Failed logins per key (the name tried, the client's address) in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW):
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def wait(self, keys: list[str]) -> int:
        """Seconds before a login may be tried again for any of these keys (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self.window - (now - failures[0])
                for failures in (self._recent(k, now) for k in keys)
                if len(failures) >= self.max_failures
            ]
        return int(max(waits, default=0)) + (1 if waits else 0)

    def failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
