"""Accounts, sessions, CSRF and login rate limiting for the review workspace.

A session cookie holds a random token; the store keeps only its SHA-256 with the user and a
CSRF token. Every state change must send that CSRF token back (form field ``csrf`` or header
``X-CSRF-Token``); the login form, made before any session exists, uses a double-submit
cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_COOKIE = "secprio_session"
LOGIN_COOKIE = "secprio_login"
RANK = {"viewer": 1, "coder": 2, "admin": 3}
MIN_PASSWORD = 8

_hasher = PasswordHasher()


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    csrf: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    if not stored:
        return False  # the solo user has no password: nobody can log in as it
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Limiter:
    """At most ``attempts`` failed logins per key (client address, user name) per ``window``
    seconds; a key over the limit is refused until its oldest failure ages out."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts, self.window = attempts, window
        self._fails: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._fails[key]
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> float:
        """Seconds until every key may try again (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self.window - (now - q[0])
                for q in (self._trim(k, now) for k in keys)
                if len(q) >= self.attempts
            ]
        return max(waits, default=0.0)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._trim(k, now).append(now)

    def reset(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)
