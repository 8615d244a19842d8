"""Login throttling with Flask-Limiter, in a way an attacker cannot turn against the user.

Two counts, each a moving window of LOGIN_WINDOW_MINUTES in Flask-Limiter's storage (Redis when REDIS_URL
is set, so every app server shares them; else each process's memory):
- per (username, client address): at most LOGIN_MAX_FAILURES failed logins. Someone guessing from one
  address locks out that username from that address only: the user, from their own address, still logs in.
  A success clears that pair's count.
- per client address: at most LOGIN_ADDRESS_MAX_ATTEMPTS login attempts, whatever the username (one
  address trying many usernames). Successes count too: a count cannot be taken back in a moving window,
  and a success must not wipe an address's record.

Each attempt takes its place in both counts *before* the password is checked (the storage's atomic
"acquire if there is room"), so simultaneous guesses cannot all slip through between a check and a
write: of 40 at once, exactly LOGIN_MAX_FAILURES are checked. A refused attempt is never checked.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from redis.exceptions import RedisError

from .errors import DomainError, TooManyRequests
from .i18n import _

EXTENSION = "dispatch_login_throttle"
# The counts' storage could not be reached (Redis down or unreachable): 503, never a 500.
STORAGE_ERRORS = (StorageError, RedisError, OSError)


class LoginThrottled(TooManyRequests):
    """429 with the seconds until the next attempt may be checked (the Retry-After header)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def init_app(app: Flask) -> None:
    options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis", "rediss")):
        # Every key under the configured prefix: `reset` (tests) and an operator find them all.
        options.setdefault("key_prefix", app.config["RATELIMIT_KEY_PREFIX"])
    elif app.config.get("ENV") == "production":
        app.logger.warning("The login throttle counts in this process's memory: with several worker processes "
                           "or app servers, set REDIS_URL so that they share the counts.")
    app.extensions[EXTENSION] = Limiter(get_remote_address, app=app, storage_options=options,
                                        default_limits=[], headers_enabled=False)


def _limiter() -> Limiter:
    limiter: Limiter = current_app.extensions[EXTENSION]
    return limiter


def reset() -> None:
    """Forget every count (the tests, between cases)."""
    _limiter().reset()


@dataclass(frozen=True)
class Attempt:
    """One login attempt's place in the counts."""

    username: str
    address: str

    @property
    def pair(self) -> tuple[RateLimitItem, tuple[str, ...]]:
        # The name is hashed: any text fits a key, and no "/" can make two pairs one.
        name = hashlib.sha256(self.username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        item = RateLimitItemPerMinute(current_app.config["LOGIN_MAX_FAILURES"],
                                      current_app.config["LOGIN_WINDOW_MINUTES"])
        return item, (current_app.config["RATELIMIT_KEY_PREFIX"], "login-user-address", name, self.address)

    @property
    def per_address(self) -> tuple[RateLimitItem, tuple[str, ...]]:
        item = RateLimitItemPerMinute(current_app.config["LOGIN_ADDRESS_MAX_ATTEMPTS"],
                                      current_app.config["LOGIN_WINDOW_MINUTES"])
        return item, (current_app.config["RATELIMIT_KEY_PREFIX"], "login-address", self.address)


def _unavailable() -> DomainError:
    return DomainError(_("Logging in is not possible for a moment. Try again in a minute."),
                       code="unavailable", status=503)


def _retry_after(item: RateLimitItem, ids: tuple[str, ...]) -> int:
    stats = _limiter().limiter.get_window_stats(item, *ids)
    return max(1, math.ceil(stats.reset_time - time.time()))


def _refusal(scope: str, seconds: int) -> LoginThrottled:
    minutes = max(1, math.ceil(seconds / 60))
    if scope == "address":
        message = _("Too many login attempts from your network address. Wait a minute and try again.") \
            if minutes == 1 else _("Too many login attempts from your network address. "
                                   "Wait %(minutes)d minutes and try again.", minutes=minutes)
    else:
        message = _("Too many failed logins for this user. Wait a minute and try again.") if minutes == 1 \
            else _("Too many failed logins for this user. Wait %(minutes)d minutes and try again.", minutes=minutes)
    return LoginThrottled(message, seconds)


def admit(attempt: Attempt) -> None:
    """Take this attempt's place in both counts, or raise LoginThrottled (nothing is checked then)."""
    strategy = _limiter().limiter
    try:
        for scope, (item, ids) in (("address", attempt.per_address), ("user_address", attempt.pair)):
            if not strategy.hit(item, *ids):
                raise _refusal(scope, _retry_after(item, ids))
    except STORAGE_ERRORS:
        current_app.logger.exception("login throttle storage unavailable")
        raise _unavailable() from None


def exhausted(attempt: Attempt) -> list[str]:
    """After a failure: the counts it found used up ("user_address", "address") and not yet announced in
    this window, for the lockout audit event (once per lockout, however many requests raced to it)."""
    strategy = _limiter().limiter
    announce = RateLimitItemPerMinute(1, current_app.config["LOGIN_WINDOW_MINUTES"])
    full = []
    try:
        for scope, (item, ids) in (("user_address", attempt.pair), ("address", attempt.per_address)):
            if strategy.get_window_stats(item, *ids).remaining <= 0 and strategy.hit(announce, *ids, "announced"):
                full.append(scope)
    except STORAGE_ERRORS:
        current_app.logger.exception("login throttle storage unavailable")
    return full


def forgive(attempt: Attempt) -> None:
    """A success: the pair's failures are forgotten (the address's attempts stay counted)."""
    item, ids = attempt.pair
    try:
        _limiter().limiter.clear(item, *ids)
        _limiter().limiter.clear(RateLimitItemPerMinute(1, current_app.config["LOGIN_WINDOW_MINUTES"]), *ids,
                                 "announced")
    except STORAGE_ERRORS:
        current_app.logger.exception("login throttle storage unavailable")
