"""Extensions, created unbound; `create_app` binds them. No import-time side effects."""
from __future__ import annotations

from flask_babel import Babel
from flask_babel.speaklater import LazyString
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from markupsafe import escape

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


def _lazy_string_as_text(self) -> str:
    # flask_babel marks lazy strings as safe HTML, so a parameter such as a person's
    # name (`_l("%(name)s joined", name=…)`) would reach a page or an e-mail unescaped.
    # Our messages hold no markup: treat every lazy string as text.
    return str(escape(str(self)))


LazyString.__html__ = _lazy_string_as_text
