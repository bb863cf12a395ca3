"""tradeportal: the application factory."""
from __future__ import annotations

import hashlib
import importlib
import logging
from pathlib import Path

from flask import Flask, current_app, g, request, url_for

from . import access, i18n
from .config import LOCALES, load_config
from . import extensions as ext

# One package per area; an area with pages exposes `bp` (a Blueprint) in its __init__.
AREAS = ("public", "auth", "onboarding", "account", "partners", "roles", "notifications", "documents", "dashboard", "staff", "api")

log = logging.getLogger(__name__)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(config))
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    app.instance_path = app.config["INSTANCE_PATH"]
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(Path(__file__).resolve().parent.parent / "migrations"), render_as_batch=True, compare_type=True)
    ext.login_manager.init_app(app)
    ext.login_manager.session_protection = None  # sessions are checked server-side (auth.sessions)
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=i18n.select_locale)
    ext.limiter.init_app(app)
    ext.htmx.init_app(app)

    from . import models  # noqa: F401 - every table known to SQLAlchemy and Alembic

    for area in AREAS:
        module = importlib.import_module(f".{area}", __name__)
        if hasattr(module, "bp"):
            app.register_blueprint(module.bp)

    from . import cli, errors, headers, logs

    logs.configure(app)  # one line per record: control characters in input are escaped
    errors.register(app)
    headers.register(app)
    cli.register(app)
    _register_request_hooks(app)
    _register_template_helpers(app)

    missing = access.undeclared_routes(app)
    if missing:
        raise RuntimeError(f"routes without an access declaration: {', '.join(missing)}")
    return app


def _register_request_hooks(app: Flask) -> None:
    from .mail import deliver_committed

    @app.before_request
    def _language_from_query():
        i18n.save_choice_to_profile()

    @app.after_request
    def _after(response):
        i18n.remember_choice(response)
        deliver_committed()
        return response


# htmx without eval or inline styles (the CSP forbids both); 422 answers carry a form
# with its errors and are swapped like a success.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[23]..", "swap": True},
        {"code": "422", "swap": True},
        {"code": "[45]..", "swap": False, "error": True},
    ],
}

_asset_versions: dict[str, str] = {}


def asset_url(filename: str) -> str:
    """URL of a static file with a content fingerprint, cached for a year by browsers."""
    version = _asset_versions.get(filename)
    if version is None or current_app.debug:
        path = Path(current_app.static_folder) / filename
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        _asset_versions[filename] = version
    return url_for("static", filename=filename, v=version)


def _register_template_helpers(app: Flask) -> None:
    import json

    from flask_babel import format_decimal, get_locale

    app.jinja_env.trim_blocks = True
    i18n.install_template_gettext(app)  # after flask_babel's, which it replaces with a cached lookup
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        asset_url=asset_url,
        lang_url=i18n.lang_url,
        LOCALES=LOCALES,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        format_date=i18n.format_date,  # flask_babel's, with the patterns parsed once
        format_datetime=i18n.format_datetime,
        format_decimal=format_decimal,
        current_locale=lambda: str(get_locale() or app.config["DEFAULT_LOCALE"]),
        htmx_config=json.dumps(HTMX_CONFIG, separators=(",", ":")),
    )

    @app.context_processor
    def _portal_context():
        return {
            "agency_name": app.config["AGENCY_NAME"],
            "agency_colour": app.config["AGENCY_COLOUR"],
            "agency_logo": app.config["AGENCY_LOGO"],
            "csp_nonce": g.get("csp_nonce"),
            "current_path": request.full_path.rstrip("?") if request else "/",
            "endpoints": app.view_functions,
        }
