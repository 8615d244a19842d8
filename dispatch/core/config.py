"""Configuration, read from the environment inside the factory (never at import)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

# Names the environment may set, with the type each is read as.
_FLOATS = ("SERVICE_CENTER_LATITUDE", "SERVICE_CENTER_LONGITUDE", "REMOTE_RADIUS_KM", "ROAD_FACTOR",
           "AVERAGE_SPEED_KMH", "GEOCODER_MIN_DELAY_SECONDS", "REPLAN_SECONDS", "REPLAN_ON_DEMAND_SECONDS")
_INTS = ("REMOTE_BOOKING_HOURS", "BOOKING_HOURS", "API_TOKEN_HOURS", "LOGIN_MAX_FAILURES",
         "LOGIN_WINDOW_MINUTES", "SUGGESTION_HORIZON_DAYS", "PAYMENT_TERMS_DAYS",
         "LOW_RESOLUTION_WORKING_DAYS", "MAX_CONTENT_LENGTH", "REMEMBER_COOKIE_DAYS", "LOGIN_ADDRESS_MAX_ATTEMPTS", "ARRIVAL_WINDOW_MINUTES",
         "TRUSTED_PROXIES")
_STRINGS = ("DATABASE_URL", "SECRET_KEY", "TIMEZONE", "GEOCODER", "GEOCODER_USER_AGENT", "GEOCODER_DOMAIN", "GEOCODER_COUNTRY",
            "COMPANY_NAME", "COMPANY_ADDRESS", "COMPANY_PHONE", "COMPANY_LOGO", "PUBLIC_BASE_URL",
            "COMPANY_TAX_ID", "COMPANY_BANK_ACCOUNT",
            "DEFAULT_LOCALE", "SLIP_LANGUAGES", "REDIS_URL")


def defaults(instance_path: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": "sqlite:///" + str(Path(instance_path) / "dispatch.sqlite3"),
        "SECRET_KEY": None,
        "TIMEZONE": "Asia/Shanghai",
        # The service centre (Shanghai by default) and what counts as remote (偏远地区).
        "SERVICE_CENTER_LATITUDE": 31.2304,
        "SERVICE_CENTER_LONGITUDE": 121.4737,
        "REMOTE_RADIUS_KM": 50.0,
        "BOOKING_HOURS": 24,
        "REMOTE_BOOKING_HOURS": 48,
        # A low-priority call's resolution target, in working days of the company calendar (dispatch/sla.py).
        "LOW_RESOLUTION_WORKING_DAYS": 10,
        "ROAD_FACTOR": 1.3,
        # How many days ahead booking suggestions look for the earliest free slots (a scarce skill on a
        # busy week still gets the next week's).
        "SUGGESTION_HORIZON_DAYS": 14,
        # The arrival window promised to the customer at booking, in minutes (API.md, Booking visits).
        "ARRIVAL_WINDOW_MINUTES": 120,
        # How many reverse proxies stand in front of the app (X-Forwarded-For/-Proto/-Host are trusted from
        # that many hops); 0: none, the peer's address is the client's.
        "TRUSTED_PROXIES": 0,
        "AVERAGE_SPEED_KMH": 40.0,
        # Re-planning (dispatch/scheduling/replan.py): after each booking, in the background (None: on outside
        # tests, off in them), within REPLAN_SECONDS of solver time; on demand (the optimise page and API)
        # within REPLAN_ON_DEMAND_SECONDS. None: the engine's own budgets (dispatch/scheduling/optimise.py).
        "REPLAN_AFTER_BOOKING": None,
        "REPLAN_SECONDS": None,
        "REPLAN_ON_DEMAND_SECONDS": None,
        # "offline" needs no network (packaged gazetteer); "nominatim", "photon" or "pelias" are real ones.
        "GEOCODER": "offline",
        "GEOCODER_USER_AGENT": "dispatch-field-service",
        "GEOCODER_DOMAIN": None,
        # The offline geocoder looks in these countries only (ISO codes, comma-separated; empty: the whole world).
        "GEOCODER_COUNTRY": "CN",
        "GEOCODER_MIN_DELAY_SECONDS": 1.0,
        "API_TOKEN_HOURS": 12,
        # Login throttle (dispatch/core/throttle.py): failures per (username, client address), and login
        # attempts per client address, in LOGIN_WINDOW_MINUTES; counted in Redis when REDIS_URL is set (shared
        # by every app server), else in each process's memory.
        "LOGIN_MAX_FAILURES": 10,
        "LOGIN_WINDOW_MINUTES": 15,
        "LOGIN_ADDRESS_MAX_ATTEMPTS": 50,
        "REDIS_URL": None,
        # "Keep me logged in": how long a remember-me token lasts (it is revoked at logout before that).
        "REMEMBER_COOKIE_DAYS": 30,
        # The largest request body (bytes); a larger one is 413 before it is read. The signature (512 KB)
        # and photo (5 MB each) limits are checked on their own, within this.
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "COMPANY_NAME": "Huadong After-Sales Service Co.",
        "COMPANY_ADDRESS": "1 Century Avenue, Pudong, Shanghai",
        "COMPANY_PHONE": "021-5888 0000",
        "COMPANY_LOGO": None,
        # Printed on invoices (seller): the company's tax id (纳税人识别号) and bank account (开户行及账号).
        "COMPANY_TAX_ID": "91310115MA1H000000",
        "COMPANY_BANK_ACCOUNT": "Bank of China Shanghai Pudong Branch 4567 8901 2345",
        # Invoices are due this many days after issue.
        "PAYMENT_TERMS_DAYS": 30,
        "PUBLIC_BASE_URL": None,
        # The language when neither the user's setting nor the browser says (zh_CN or en).
        "DEFAULT_LOCALE": "zh_CN",
        # Printed documents: the printing user's language, then a small second line in each other one
        # listed here (e.g. "zh_CN,en": a Chinese customer and an English-writing company both read it).
        "SLIP_LANGUAGES": "zh_CN,en",
        "TESTING": False,
        "ENV": "development",
    }


def from_environment(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides (tests)."""
    cfg = defaults(instance_path)
    env = os.environ
    for name in _STRINGS:
        if env.get(name):
            cfg[name] = env[name]
    for name in _FLOATS:
        if env.get(name):
            cfg[name] = float(env[name])
    for name in _INTS:
        if env.get(name):
            cfg[name] = int(env[name])
    if env.get("REPLAN_AFTER_BOOKING"):
        cfg["REPLAN_AFTER_BOOKING"] = env["REPLAN_AFTER_BOOKING"].lower() in ("1", "true", "yes", "on")
    if env.get("FLASK_ENV") == "production" or env.get("DISPATCH_ENV") == "production":
        cfg["ENV"] = "production"
    cfg.update(overrides or {})

    if not cfg["SECRET_KEY"]:
        if cfg["ENV"] == "production":
            raise RuntimeError("SECRET_KEY must be set in production (environment variable SECRET_KEY).")
        cfg["SECRET_KEY"] = _development_secret(instance_path)

    url = cfg["DATABASE_URL"]
    # psycopg 3 is the driver; accept the usual postgres:// spellings.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    cfg["DATABASE_URL"] = url
    cfg["SQLALCHEMY_DATABASE_URI"] = url
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    cfg["WTF_CSRF_TIME_LIMIT"] = None
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    # Cookies only over HTTPS in production, or when COOKIE_SECURE=1 says so (an HTTPS staging server).
    if cfg["ENV"] == "production" or env.get("COOKIE_SECURE", "").lower() in ("1", "true", "yes"):
        cfg["SESSION_COOKIE_SECURE"] = True
        cfg["REMEMBER_COOKIE_SECURE"] = True
    cfg.setdefault("REMEMBER_COOKIE_SECURE", bool(cfg.get("SESSION_COOKIE_SECURE")))
    # Flask-Limiter's storage for the login throttle: Redis shared by all app servers, else memory.
    cfg.setdefault("RATELIMIT_STORAGE_URI", cfg["REDIS_URL"] or "memory://")
    cfg.setdefault("RATELIMIT_STRATEGY", "moving-window")
    cfg.setdefault("RATELIMIT_KEY_PREFIX", "dispatch")
    if not 1 <= int(cfg["REMEMBER_COOKIE_DAYS"]) <= 365:
        raise RuntimeError("REMEMBER_COOKIE_DAYS must be from 1 to 365.")
    if cfg["REPLAN_AFTER_BOOKING"] is None:
        cfg["REPLAN_AFTER_BOOKING"] = not cfg["TESTING"]
    cfg["JSON_SORT_KEYS"] = False
    if cfg["DEFAULT_LOCALE"] not in ("zh_CN", "en"):
        raise RuntimeError("DEFAULT_LOCALE must be zh_CN or en.")
    if not 1 <= int(cfg["SUGGESTION_HORIZON_DAYS"]) <= 90:
        raise RuntimeError("SUGGESTION_HORIZON_DAYS must be from 1 to 90.")
    if not 30 <= int(cfg["ARRIVAL_WINDOW_MINUTES"]) <= 480:
        raise RuntimeError("ARRIVAL_WINDOW_MINUTES must be from 30 to 480 (8 hours).")
    return cfg


def _development_secret(instance_path: str) -> str:
    """A random key kept in instance/ so development sessions survive restarts; never a fixed fallback."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
