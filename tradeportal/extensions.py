"""Extensions, created unbound; `create_app` binds them. No import-time side effects."""
from __future__ import annotations

import flask_babel
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


class PortalLimiter(Limiter):
    """Flask-Limiter without its before_request pass when that pass has nothing to check.

    The pass before every request only applies application-wide, default, meta and
    blueprint limits (about 0.1 ms a request even when there are none). The portal sets
    its limits on the routes themselves (`@limiter.limit(...)`), and those are checked
    by the decorator's own wrapper, which this does not touch. As soon as any limit of
    the other kinds is configured (RATELIMIT_DEFAULT, RATELIMIT_APPLICATION, ...), or the
    storage fell back to memory, every request goes through the pass again.
    """

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        if in_middleware and not self._middleware_has_work():
            return None
        return super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def _middleware_has_work(self) -> bool:
        manager = self.limit_manager
        return bool(
            manager.default_limits or manager.application_limits
            or getattr(self, "_meta_limits", None) or getattr(manager, "_blueprint_limits", None)
            or getattr(self, "_storage_dead", False)
        )


limiter = PortalLimiter(key_func=get_remote_address)
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

_lazy_catalogues: dict = {}


def _lazy_string_text(self) -> str:
    # A lazy message (`_l("…")`: form labels, validation messages, notification kinds) is read
    # on every page that shows it. flask_babel's gettext finds the domain, the locale and its
    # catalogue on each reading; the catalogue of the locale chosen for this request is reused
    # instead (as the templates' `_()` does). Other lazy strings go the usual way.
    if self._func is flask_babel.gettext and len(self._args) == 1:
        from .i18n import _request_translations

        text = _request_translations(_lazy_catalogues).ugettext(self._args[0])
        return text % self._kwargs if self._kwargs else text
    return str(self._func(*self._args, **self._kwargs))


LazyString.__str__ = _lazy_string_text
