"""Imports every model module so that SQLAlchemy and Alembic know all tables."""
from .account.models import User  # noqa: F401
from .audit import AuditEvent  # noqa: F401
from .auth.models import UserSession  # noqa: F401
from .mail import OutboxMessage  # noqa: F401
from .public.models import Feedback, NewsItem, TermsVersion  # noqa: F401
from .partners.models import RegisterEntry  # noqa: F401
from .roles.models import Role  # noqa: F401
