"""Imports every model module so that SQLAlchemy and Alembic know all tables."""
import importlib
from pathlib import Path

from .audit import AuditEvent  # noqa: F401
from .mail import OutboxMessage  # noqa: F401

_HERE = Path(__file__).resolve().parent
for _area in ("account", "auth", "public", "onboarding", "partners", "roles", "notifications", "documents", "dashboard", "staff", "api"):
    if (_HERE / _area / "models.py").exists():
        importlib.import_module(f".{_area}.models", __package__)
