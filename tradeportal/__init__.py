"""tradeportal: the application factory."""
from __future__ import annotations

import hashlib
import importlib
import logging
from pathlib import Path

from flask import Flask, Request, current_app, g, has_request_context, request, url_for
from flask.globals import _cv_app
from werkzeug.utils import cached_property

from . import access, chrome, i18n
from .config import LOCALES, load_config
from . import extensions as ext

# One package per area; an area with pages exposes `bp` (a Blueprint) in its __init__.
AREAS = ("public", "auth", "onboarding", "account", "partners", "roles", "notifications", "documents", "dashboard", "staff", "api")

log = logging.getLogger(__name__)


class NulFreeRequest(Request):
    """A request whose form and query values hold no NUL character.

    No one types one, no field accepts one, and PostgreSQL refuses it in text: a NUL that a
    client sends is dropped here, once, instead of failing in whichever query meets it.
    """

    @staticmethod
    def _without_nul(values, storage):
        def has_nul(text) -> bool:
            return isinstance(text, str) and "\x00" in text

        def clean(text):
            return text.replace("\x00", "") if isinstance(text, str) else text  # a multipart part may have no name

        pairs = list(values.items(multi=True))
        if not any(has_nul(key) or has_nul(value) for key, value in pairs):
            return values
        return storage([(clean(key), clean(value)) for key, value in pairs])

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.__dict__["form"] = self._without_nul(self.__dict__["form"], self.parameter_storage_class)

    @cached_property
    def args(self):
        return self._without_nul(super().args, self.parameter_storage_class)


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    from .templating import PortalEnvironment

    app.jinja_environment = PortalEnvironment  # before anything makes app.jinja_env
    from .session_cookie import PortalSessionInterface

    app.session_interface = PortalSessionInterface()  # the signature checked once per cookie
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
    # After htmx-flask, which sets its own request class: ours extends whichever is there.
    app.request_class = type("PortalRequest", (NulFreeRequest, app.request_class), {})

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
    from flask import session

    from .mail import deliver_committed

    # Flask-WTF signs the session's CSRF token anew on each request (a serializer, a key derivation
    # and an HMAC, about 3 % of a signed-in page) and keeps the result in `g` for the request. With
    # no time limit on tokens (config: WTF_CSRF_TIME_LIMIT None) a signed token stays valid as long
    # as its session: each worker keeps the signed form of the tokens it signed and puts it in `g`
    # before Flask-WTF looks. Bounded; a new session has a new raw token, so a new entry.
    signed_tokens: dict[str, str] = {}
    field = app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    reuse_tokens = app.config.get("WTF_CSRF_TIME_LIMIT") is None

    @app.before_request
    def _language_from_query():
        i18n.save_choice_to_profile()
        # dict.get: reading the key must not mark the session as used (Vary: Cookie) on answers
        # that do not depend on it (static files, /healthz); a page that takes the token does.
        if reuse_tokens and request.endpoint != "static":
            raw = dict.get(session._get_current_object(), field)
            if raw is not None and raw in signed_tokens:
                session.get(field)  # as Flask-WTF's own reading: the page depends on the session
                setattr(g, field, signed_tokens[raw])

    @app.after_request
    def _after(response):
        i18n.remember_choice(response)
        deliver_committed()
        if reuse_tokens:
            signed, raw = g.get(field), dict.get(session._get_current_object(), field)
            if signed is not None and isinstance(raw, str) and raw not in signed_tokens:
                if len(signed_tokens) >= 10_000:
                    signed_tokens.clear()
                signed_tokens[raw] = signed
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
_asset_urls: dict[tuple, str] = {}


def asset_url(filename: str) -> str:
    """URL of a static file with a content fingerprint, cached for a year by browsers."""
    if current_app.debug:
        _asset_versions.clear()
        _asset_urls.clear()
    key = (filename, request.root_path if request else "", id(current_app))
    url = _asset_urls.get(key)
    if url is None:
        version = _asset_versions.get(filename)
        if version is None:
            path = Path(current_app.static_folder) / filename
            version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            _asset_versions[filename] = version
        url = _asset_urls[key] = url_for("static", filename=filename, v=version)
    return url


def _cached_url_for(app: Flask):
    """Templates' url_for, for the links a page builds by the dozen.

    A link without arguments depends only on the URL map (fixed once the app is created) and
    the prefix the app is mounted under: it is built once per mount point. A link with
    arguments (a row's download link, say) goes straight to its rule's compiled builder when
    the endpoint has a single plain rule whose arguments are exactly the values given: Flask's
    url_for and werkzeug's MapAdapter.build check methods, defaults, hosts and schemes on every
    call (about 12 µs; a list page builds 40 such links). Anything else (relative endpoints,
    `_external`, query values, None values, URL defaults, converters refusing a value) goes to
    Flask. `tests/test_perf_guards.py` compares both for every rule of the map.
    """
    built: dict[tuple[str, str], str] = {}
    rules: dict[tuple, object] = {}
    build = app.url_for
    url_map = app.url_map

    def plain_rule(key: tuple):
        endpoint, names = key[0], frozenset(key[1:])
        candidates = url_map._rules_by_endpoint.get(endpoint, ())
        if len(candidates) != 1 or url_map.host_matching:
            return None
        rule = candidates[0]
        if rule.defaults or rule.subdomain or rule.websocket or rule.arguments != names:
            return None
        return rule._build  # werkzeug's compiled builder: (domain part, path)

    def template_url_for(endpoint: str, /, **values) -> str:
        if endpoint[:1] == "." or app.url_default_functions or not has_request_context():
            return build(endpoint, **values)  # e-mails and PDFs rendered by a worker: no request
        if values:
            key = (endpoint, *values)
            rule_build = rules.get(key, False)
            if rule_build is False:
                rule_build = rules[key] = plain_rule(key)
            if rule_build is None or None in values.values():
                return build(endpoint, **values)
            try:
                path = rule_build(**values)[1]
            except Exception:  # a converter refusing the value: Flask says so its own way
                return build(endpoint, **values)
            return f"{request.root_path}/{path.lstrip('/')}"
        key = (endpoint, request.root_path)
        url = built.get(key)
        if url is None:
            url = built[key] = build(endpoint)
        return url

    return template_url_for


def _direct_gettext(app: Flask):
    """`_()` and `gettext()` for templates in one call instead of three.

    Jinja's i18n extension routes `_("…")` through an alias, then its new-style wrapper, then the
    installed callable, each by `Context.call` (about 10 µs a message; a page shows 40 to 100).
    This does what those layers do, in one function: the catalogue of the request's locale
    (i18n's cached lookup), Markup under autoescape, then `%` formatting with the keyword values
    (skipped when there are none and the text has no `%`, where it would change nothing).
    `tests/test_perf_guards.py` compares its output with Jinja's.
    """
    from jinja2 import pass_eval_context
    from markupsafe import Markup

    catalogues: dict = {}

    # pass_eval_context, not pass_context: Jinja hands a pass_context function a new derived
    # context on every call made inside a loop or block that sets variables (a copy of the
    # context per message); the evaluation context is all this needs (autoescape on or off).
    @pass_eval_context
    def gettext(eval_ctx, string: str, **variables):
        text = i18n._request_translations(catalogues).ugettext(string)
        if eval_ctx.autoescape:
            text = Markup(text)
        return text % variables if variables or "%" in text else text

    return gettext


def _template_csrf_token(app: Flask):
    """`csrf_token()` for templates: Flask-WTF's token, read from where it keeps it for the request.

    Flask-WTF's generate_csrf looks its settings up and goes through the `g` and `session`
    proxies on every call (about 30 µs); a list with a form per row (the inbox) asks 20 times.
    The first call of a request makes the token with Flask-WTF; the others read it back.
    """
    from flask_wtf.csrf import generate_csrf

    def csrf_token() -> str:
        ctx = _cv_app.get(None)
        if ctx is not None:
            token = getattr(ctx.g, app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token", None)
            if token is not None:
                return token
        return generate_csrf()

    return csrf_token


def _register_template_helpers(app: Flask) -> None:
    import json


    app.jinja_env.trim_blocks = True
    i18n.install_template_gettext(app)  # after flask_babel's, which it replaces with a cached lookup
    app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"] = _direct_gettext(app)
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        url_for=_cached_url_for(app),
        csrf_token=_template_csrf_token(app),  # after Flask-WTF's, which it wraps
        asset_url=asset_url,
        lang_url=i18n.lang_url,
        account_nav=chrome.account_nav,
        pagination=chrome.pagination,
        LOCALES=LOCALES,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        format_date=i18n.format_date,  # flask_babel's, with the patterns parsed once
        format_datetime=i18n.format_datetime,
        format_decimal=i18n.format_decimal,  # the pattern parsed once
        format_file_size=i18n.format_file_size,
        current_locale=lambda: i18n.current_language(app.config["DEFAULT_LOCALE"]),
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
