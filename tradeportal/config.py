"""Settings, read from TRADEPORTAL_* environment variables.

Every variable is documented in the README with its default. Names are part of
the deployment contract: keep them.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"

LOCALES = ("fr", "en", "de")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"TRADEPORTAL_{name}")
    return value if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """Raised when the portal cannot start safely with the given settings."""


def _secret_key(instance: Path, environment: str) -> str:
    key = _env("SECRET_KEY")
    if key:
        return key
    if environment == "production":
        raise ConfigError("TRADEPORTAL_SECRET_KEY must be set in production.")
    # Development: one random key per checkout, kept so sessions survive restarts.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus `overrides`."""
    overrides = dict(overrides or {})
    environment = overrides.pop("ENVIRONMENT", None) or _env("ENV", "development")
    instance = Path(overrides.pop("INSTANCE_PATH", None) or _env("INSTANCE_DIR", str(DEFAULT_INSTANCE)))
    database_url = _env("DATABASE_URL", f"sqlite:///{instance / 'tradeportal.db'}")
    default_locale = _env("DEFAULT_LOCALE", "fr")
    if default_locale not in LOCALES:
        raise ConfigError(f"TRADEPORTAL_DEFAULT_LOCALE must be one of {', '.join(LOCALES)}.")
    secure_cookies = environment != "development" and environment != "testing"

    config = {
        "ENVIRONMENT": environment,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": None,  # filled below, after overrides had their chance
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No pool_pre_ping: db.py pings a connection only after it sat idle (see there).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT", "25")),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "MAIL_FROM": _env("MAIL_FROM", "portal@agency.example"),
        "MAIL_LOG": str(instance / "mail.log"),
        "DEFAULT_LOCALE": default_locale,
        "BABEL_DEFAULT_LOCALE": default_locale,
        "BABEL_DEFAULT_TIMEZONE": _env("TIMEZONE", "Europe/Zurich"),
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "AGENCY_NAME": _env("AGENCY_NAME", "Federal Office for Customs and Trade"),
        "AGENCY_COLOUR": _env("AGENCY_COLOUR", "#0b4f6c"),
        "AGENCY_LOGO": _env("AGENCY_LOGO", "img/logo.svg"),
        "CONTACT_EMAIL": _env("CONTACT_EMAIL", "portal-support@agency.example"),
        "CONTACT_PHONE": _env("CONTACT_PHONE", "+41 58 000 00 00"),
        "CONTACT_ADDRESS": _env("CONTACT_ADDRESS", "Portal support, 1 Rue du Commerce, 3003 Bern"),
        "ACCESSIBILITY_STATUS": _env("ACCESSIBILITY_STATUS"),
        "ACCESSIBILITY_KNOWN_ISSUES": _env("ACCESSIBILITY_KNOWN_ISSUES"),
        "ACCESSIBILITY_ENFORCEMENT": _env("ACCESSIBILITY_ENFORCEMENT"),
        "ACCESSIBILITY_STATEMENT_DATE": _env("ACCESSIBILITY_STATEMENT_DATE", "2026-11-24"),
        "BASE_URL": _env("BASE_URL", "http://127.0.0.1:5000"),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(instance / "uploads")),
        "UPLOAD_MAX_BYTES": int(_env("UPLOAD_MAX_BYTES", str(15 * 1024 * 1024))),
        "UPLOAD_MAX_FILES": int(_env("UPLOAD_MAX_FILES", "10")),
        "CLAMD_SOCKET": _env("CLAMD_SOCKET"),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "API_RATE_LIMIT": _env("API_RATE_LIMIT", "120/minute"),  # per API application
        "API_TOKEN_RATE_LIMIT": _env("API_TOKEN_RATE_LIMIT", "30/minute"),  # token endpoint, per address
        "SESSION_COOKIE_NAME": "tp_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # The cookie lives 12 hours from sign-in, as the server-side session does at most
        # (auth.sessions): re-signing it on every response would change nothing but cost.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 160 * 1024 * 1024,
        "LOG_FILE": _env("LOG_FILE"),
        # How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto/-Host
        # (0: none; the app is reached directly). Per-address rate limits need the real client address.
        "TRUSTED_PROXIES": int(_env("TRUSTED_PROXIES", "0")),
        "IDENTIFIER_SCHEMES": [s.strip().lower() for s in (_env("IDENTIFIER_SCHEMES", "che,siren,be,bn") or "").split(",") if s.strip()],
    }
    config.update(overrides)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance, environment)
    return config
