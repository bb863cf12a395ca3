"""Extensions, created unbound; `create_app` binds them. No import-time side effects."""
from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx

from .db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
htmx = Htmx()


@limiter.request_filter
def _limits_switched_off() -> bool:
    # Flask-Limiter keeps its on/off switch on the (shared) extension object; reading
    # it from the current app's config keeps it right when one process holds several
    # apps (the tests do).
    from flask import current_app

    return not current_app.config.get("RATELIMIT_ENABLED", True)
