"""Performance guards (issue #9) that run with the normal suite, in a few seconds.

The load figures live in `make bench` (docs/PERFORMANCE.md); these catch the regressions
that need no load to be seen: page weight, PDF time, the speed-ups that must not change
behaviour (dates formatted as flask_babel formats them, rate limits still applied).
"""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import Flask

from bench.run import page_weight

PAGE_WEIGHT_GZIP_BYTES = 25 * 1024  # issue #9: a first visit downloads at most 25 kB of CSS + JS (gzip)
PDF_ONE_PAGE_SECONDS = 0.5  # generous (the target is 75 ms warm): a guard against a PDF costing seconds


def test_first_visit_css_and_js_stay_within_the_gzip_budget():
    weight = page_weight()
    assert weight["files"], "base.html links no CSS or JS through asset_url()"
    assert weight["gzip_bytes"] <= PAGE_WEIGHT_GZIP_BYTES, (
        f"{weight['gzip_bytes'] / 1024:.1f} kB gzip for {', '.join(weight['files'])}: over the "
        f"{PAGE_WEIGHT_GZIP_BYTES / 1024:.0f} kB budget of issue #9")


def test_fingerprinted_static_files_are_cached_for_a_year(app, client):
    with app.test_request_context():
        from tradeportal import asset_url

        url = asset_url("css/portal.css")
    assert "v=" in url
    response = client.get(url)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers.get("Cache-Control", "")


def test_a_one_page_pdf_renders_quickly_once_warm(app):
    from tradeportal.partners.letters import render_letters_pdf
    from tradeportal.partners.models import Partner, VerificationLetter

    partner = Partner(id=1, kind="legal_entity", status="letter_pending", source="register", identifier="CHE-100000001",
                      name="Guard Partner AG", name_search="guard partner ag", address_line1="Bahnhofstrasse 1",
                      postcode="3003", town="Bern", country="CH", locale="fr")
    letter = VerificationLetter(id=1, partner_id=1, partner=partner, code_hash="x", code_plain="ABCD2345EFGH",
                                locale="fr", recipient_name=partner.name,
                                recipient_address="Guard Partner AG\nBahnhofstrasse 1\n3003 Bern\nCH",
                                created_at=datetime.now(timezone.utc))
    with app.test_request_context():
        render_letters_pdf([letter], "fr")  # warm: fonts and styles
        timings = []
        for _ in range(3):
            started = time.process_time()  # CPU time: other work on the machine does not count
            pdf = render_letters_pdf([letter], "fr")
            timings.append(time.process_time() - started)
    assert pdf.startswith(b"%PDF")
    assert min(timings) <= PDF_ONE_PAGE_SECONDS, f"one-page PDF: {min(timings) * 1000:.0f} ms"



def test_weasyprint_is_imported_when_the_app_is_created_not_in_a_request():
    import subprocess
    import sys

    probe = ("import sys; from tradeportal import create_app; "
             "create_app({'ENVIRONMENT': 'testing', 'SECRET_KEY': 'x', 'SQLALCHEMY_DATABASE_URI': 'sqlite://'}); "
             "print('weasyprint' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().endswith("True"), result.stderr[-2000:]


def test_pdf_rendering_is_bounded_by_its_slots_and_answers_503_when_they_stay_taken(app, monkeypatch):
    import threading

    from tradeportal.pdf import PdfBusy, rendering_slot

    monkeypatch.setitem(app.config, "PDF_CONCURRENCY", 1)
    monkeypatch.setitem(app.config, "PDF_WAIT_SECONDS", 0.05)
    outcome = []

    def another_request():
        with app.test_request_context():
            try:
                with rendering_slot():
                    outcome.append("rendered")
            except PdfBusy as error:
                outcome.append(error.code)

    with app.test_request_context():
        with rendering_slot():  # the one slot is taken (a file lock: other worker processes see it too)
            waiting = threading.Thread(target=another_request)
            waiting.start()
            waiting.join()
    assert outcome == [503]
    another_request()  # the slot is free again
    assert outcome == [503, "rendered"]

    with app.test_request_context("/partners/1/documents/receipts/1.pdf?lang=en"):
        response = app.make_response(app.handle_user_exception(PdfBusy()))  # the error page a view would give
    assert response.status_code == 503 and "Try again in a few seconds" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"

# --- the cached date formatter gives flask_babel's text --------------------------------------

def test_the_usual_date_patterns_are_compiled_not_left_to_babel(app):
    """The patterns of the lists' dates (short, medium) are formatted by i18n's compiled pieces."""
    from babel import Locale

    from tradeportal import i18n

    for code in ("fr", "en", "de"):
        for kind in ("date", "datetime"):
            for format in ("short", "medium", "long"):
                pattern = i18n._pattern(Locale.parse(code), kind, format)
                if kind == "datetime" and format == "long":
                    assert pattern is None  # a time zone name: flask_babel's own path
                else:
                    assert isinstance(pattern, i18n._CompiledPattern), (code, kind, format)


@pytest.mark.parametrize("locale", ["fr", "en", "de"])
def test_the_cached_date_formats_match_flask_babel(app, locale):
    import flask_babel

    from tradeportal import i18n

    values = [datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), datetime(2026, 10, 25, 0, 59, tzinfo=timezone.utc),
              datetime(2026, 7, 1, 23, 5), datetime(2025, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
              date(2026, 1, 2)]
    # Every month, weekday and hour of the day, for the patterns compiled from babel's names.
    values += [datetime(2005 + month, month, month + day, (month * 5 + day) % 24, 7, 9, tzinfo=timezone.utc)
               for month in range(1, 13) for day in range(0, 7, 3)]
    values += [datetime(2026, 5, 4, hour, 0, tzinfo=timezone.utc) for hour in (0, 1, 11, 12, 13, 23)]
    with app.test_request_context(), flask_babel.force_locale(locale):
        for format in (None, "short", "medium", "long", "full", "EEEE d MMMM y", "EEE d MMM yy h:mm a", "d/M/y H:m:s"):
            with_time = format not in (None, "short", "medium", "long", "full") and any(c in format for c in "Hhmsa")
            for value in values:
                for rebase in (True, False):
                    if not with_time:  # a time in a date's pattern is an error for babel too
                        assert i18n.format_date(value, format, rebase) == flask_babel.format_date(value, format, rebase)
                    if isinstance(value, datetime):
                        assert (i18n.format_datetime(value, format, rebase)
                                == flask_babel.format_datetime(value, format, rebase)), (value, format, rebase)


# --- the limiter skips its before_request pass only when it has nothing to check -------------

def _limited_app(**config):
    from flask_limiter.util import get_remote_address

    from tradeportal.extensions import PortalLimiter

    app = Flask(__name__)
    app.config.update(RATELIMIT_STORAGE_URI="memory://", **config)
    limiter = PortalLimiter(key_func=get_remote_address)
    limiter.init_app(app)

    @app.get("/open")
    def open_page():
        return "open"

    @app.get("/secret")
    @limiter.limit("2/minute")
    def secret_page():
        return "secret"

    @app.route("/form", methods=["GET", "POST"])
    @limiter.limit("2/minute", methods=["POST"])
    def form_page():
        return "form"

    return app, limiter


def test_route_limits_still_apply_without_the_before_request_pass():
    app, limiter = _limited_app()
    client = app.test_client()
    assert not limiter._middleware_has_work()
    assert [client.get("/secret").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.post("/form").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/form").status_code for _ in range(3)] == [200, 200, 200]  # GET has no limit here
    assert [client.get("/open").status_code for _ in range(5)] == [200] * 5


def test_default_limits_bring_the_before_request_pass_back():
    app, limiter = _limited_app(RATELIMIT_DEFAULT="3/minute")
    client = app.test_client()
    with app.test_request_context():
        assert limiter._middleware_has_work()
    assert [client.get("/open").status_code for _ in range(4)] == [200, 200, 200, 429]


# --- templates build an argument-less link once per mount point ------------------------------

def test_the_templates_url_for_gives_flasks_urls_under_any_mount_point(app):
    from flask import render_template_string, url_for

    endpoints = ["public.home", "public.help", "auth.sign_in", "dashboard.index", "notifications.index"]
    template = "{% for e in endpoints %}{{ url_for(e) }}|{% endfor %}{{ url_for('public.feedback', page='/x?y=1') }}"
    for root in ("", "/portal"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            expected = "|".join(url_for(e) for e in endpoints) + "|" + url_for("public.feedback", page="/x?y=1")
            for _ in range(2):  # built, then from the cache
                assert render_template_string(template, endpoints=endpoints) == expected
            assert expected.startswith(f"{root}/")


def _sample_values(rule) -> dict:
    samples = {"IntegerConverter": 7, "UnicodeConverter": "a b/é", "PathConverter": "a/b c", "AnyConverter": None}
    values = {}
    for name, converter in rule._converters.items():
        kind = type(converter).__name__
        if kind == "AnyConverter":
            values[name] = converter.items[0] if hasattr(converter, "items") else next(iter(converter.regex.strip("()").split("|")))
        else:
            values[name] = samples.get(kind, "x7")
    return values


def test_the_templates_url_for_with_arguments_gives_flasks_url_for_every_rule(app):
    """The fast path (a rule's compiled builder) against Flask's url_for, for every rule with
    arguments, under two mount points; plus the cases that must go to Flask."""
    from flask import render_template_string, url_for

    fast = app.jinja_env.globals["url_for"]
    rules = [r for r in app.url_map.iter_rules() if r.arguments and r.endpoint != "static"]
    assert len(rules) > 40
    for root in ("", "/portal"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            for rule in rules:
                values = _sample_values(rule)
                try:
                    expected = url_for(rule.endpoint, **values)
                except Exception:  # noqa: BLE001 - a rule Flask cannot build with these values
                    continue
                for _ in range(2):  # the rule looked up, then from the cache
                    assert fast(rule.endpoint, **values) == expected, rule.rule
            # Query values, None values, _external and _anchor: Flask's answers exactly.
            rule = next(r for r in rules if r.endpoint == "documents.download")
            values = _sample_values(rule)
            for extra in ({"page": 2}, {"_anchor": "x"}, {"_external": True}, {"q": "<é&>"}):
                assert fast(rule.endpoint, **values, **extra) == url_for(rule.endpoint, **values, **extra)
            from werkzeug.routing import BuildError

            for call in (fast, url_for):  # a None value is left out by both, then missing
                with pytest.raises(BuildError):
                    call(rule.endpoint, **{**values, "document_id": None})
            assert render_template_string("{{ url_for('documents.download', partner_id=3, document_id=4) }}") == \
                url_for("documents.download", partner_id=3, document_id=4)


# --- templates translate in one call: the same text as Jinja's i18n extension -----------------

@pytest.mark.parametrize("locale", ["fr", "en", "de"])
def test_the_direct_template_gettext_matches_jinjas(app, locale):
    import flask_babel

    from tradeportal import i18n

    source = (
        "{{ _('Back office') }}|{{ _('Notifications, %(count)s unread', count='<b>3</b>') }}|"
        "{{ gettext('Sign out') }}|{% trans %}Help{% endtrans %}|{% trans n=2 %}Rate: 100%% for {{ n }}{% endtrans %}|"
        "{% trans %}Done: 100%% sure{% endtrans %}|{{ _('Not in any catalogue: %(x)s', x='&') }}|"
        "{{ _('Some %% text') }}|{% autoescape false %}{{ _('A <b> %(v)s', v='<i>') }}{% endautoescape %}"
    )
    globals_ = app.jinja_env.globals
    direct = (globals_["_"], globals_["gettext"])
    with app.test_request_context(), flask_babel.force_locale(locale):
        ours = app.jinja_env.from_string(source).render()
        try:
            i18n.install_template_gettext(app)  # Jinja's own new-style callables again
            jinjas = app.jinja_env.from_string(source).render()
        finally:
            globals_["_"], globals_["gettext"] = direct
    assert ours == jinjas
    assert "&lt;b&gt;3&lt;/b&gt;" in ours and "Some % text" in ours  # escaped values, formatted text


def test_the_templates_url_for_outside_a_request_is_flasks(app):
    from flask import render_template_string, url_for

    app.config["SERVER_NAME"] = "portal.example"
    try:
        with app.app_context():  # an e-mail or a PDF made by a worker
            assert render_template_string("{{ url_for('public.help') }}") == url_for("public.help")
    finally:
        app.config["SERVER_NAME"] = None


@pytest.mark.parametrize("locale", ["fr", "en", "de", "de_CH"])
def test_the_cached_number_formats_match_flask_babel(app, locale):
    import flask_babel

    from tradeportal import i18n

    with app.test_request_context(), flask_babel.force_locale(locale):
        for number in (0, 7, 0.05, 1234.5, 1234567.891, -42.25, 10**9):
            for format in (None, "#,##0.0", "#,##0"):
                for _ in range(2):  # parsed, then from the cache
                    assert i18n.format_decimal(number, format) == flask_babel.format_decimal(number, format)
        for size, unit in ((0, "kB"), (10, "kB"), (150_000, "kB"), (1_048_576, "MB"), (15_728_640, "MB")):
            text = i18n.format_file_size(size)
            expected_number = flask_babel.format_decimal(
                size / 1_048_576 if unit == "MB" else max(size / 1024, 0.1), "#,##0.0")
            assert text == flask_babel.gettext(f"%(size)s {unit}", size=expected_number)


def test_file_sizes_are_translated_on_the_documents_list(app):
    from tradeportal import i18n

    for locale, expected in (("en", "1.5 MB"), ("fr", "1,5 Mo"), ("de", "1,5 MB")):
        with app.test_request_context(f"/?lang={locale}"):
            app.preprocess_request()
            assert i18n.format_file_size(1_572_864) == expected, locale


def test_the_templates_csrf_token_is_flask_wtfs_token(app):
    from flask import render_template_string
    from flask_wtf.csrf import generate_csrf, validate_csrf

    assert app.jinja_env.globals["csrf_token"] is not generate_csrf  # ours, set after Flask-WTF's
    with app.test_request_context("/"):
        first, second = render_template_string("{{ csrf_token() }}|{{ csrf_token() }}").split("|")
        assert first == second == generate_csrf()
        validate_csrf(first)  # raises when the token is not valid for this session
    with app.test_request_context("/"):  # a new request, a token of its own session
        assert render_template_string("{{ csrf_token() }}") != first


def test_a_sessions_signed_csrf_token_is_made_once_and_still_accepted(client, make_user, login_as, monkeypatch):
    """tradeportal/__init__.py keeps each session's signed CSRF token (Flask-WTF signs it anew on
    each request otherwise): the same token on the next pages, accepted by a form, and a page that
    carries it is still marked as depending on the cookie."""
    from tests.conftest import CSRF_META

    login_as(make_user())
    first = CSRF_META.search(client.get("/dashboard").get_data(as_text=True)).group(1)
    from itsdangerous.timed import TimestampSigner

    later = TimestampSigner.get_timestamp(None) + 100  # signed anew, the token would change
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    second = CSRF_META.search(client.get("/notifications").get_data(as_text=True)).group(1)
    assert first == second
    answer = client.post("/sign-out", data={"csrf_token": second})
    assert answer.status_code in (302, 303), answer.status_code
    home = client.get("/")
    assert "Cookie" in home.headers.get("Vary", "")  # the page carries the session's token


def test_html_text_is_markupsafes_escape_as_text(monkeypatch):
    """The rows of the inbox and the documents list are escaped by `templating.html_text` (the C
    escaper markupsafe's escape() calls) and printed as they are: the same text as escape(), with
    the C escaper and without it."""
    from markupsafe import Markup, escape

    from tradeportal import templating

    values = ['<b>"x"&y</b>.pdf', "l'été & co", "", "plain", "DOC-2026-0Q4YJZ", Markup("<i>kept</i>"), 12, None]
    for c_escape in (templating._c_escape, None):
        monkeypatch.setattr(templating, "_c_escape", c_escape)
        for value in values:
            assert templating.html_text(value) == str(escape(value)), (c_escape, value)
    assert templating.html_text('<"\'&>') == "&lt;&#34;&#39;&amp;&gt;"


def test_a_signed_in_browser_keeps_its_cookie_page_after_page(make_user, login_as):
    """Once the session holds its CSRF token (the first page that shows a form stores it), pages
    answer without a new session cookie: nothing to serialise, sign or send again."""
    client = login_as(make_user())
    client.get("/dashboard")
    for path in ("/dashboard", "/notifications", "/account", "/dashboard?lang=de"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers or "tp_session" not in response.headers["Set-Cookie"], path


def test_the_bench_cookie_is_a_browsers_cookie_from_its_second_page(app, db, make_user):
    """bench.seed.new_session_cookie: wrk sends it on every request and keeps no cookie it gets, so
    it must be one the pages do not replace (else the bench measures a new token and a new cookie
    on every page, which no browser's requests pay)."""
    from bench.seed import new_session_cookie

    user = make_user()
    client = app.test_client()
    client.set_cookie("tp_session", new_session_cookie(app, user.id))
    for path in ("/dashboard", "/notifications", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path


def test_request_user_is_flask_logins_user_signed_in_or_not(app, make_user, login_as):
    """tradeportal.current.request_user reads the user Flask-Login keeps for the request (loading
    it if not yet): the same object as current_user, for a person signed in and for anyone else."""
    from flask_login import current_user

    from tradeportal.current import request_user

    user = make_user()
    client = login_as(user)
    cookie = client.get_cookie("tp_session").value
    # a fresh app context each time: the fixture's would keep `g` (and the user in it) between them
    with app.app_context(), app.test_request_context("/dashboard", headers={"Cookie": f"tp_session={cookie}"}):
        first = request_user()  # nothing loaded yet: Flask-Login loads the person from the session
        assert first.is_authenticated and first.id == user.id
        assert first is current_user._get_current_object() is request_user()
    with app.app_context(), app.test_request_context("/dashboard"):
        anonymous = request_user()
        assert not anonymous.is_authenticated
        assert anonymous is current_user._get_current_object()
    with app.app_context():
        assert request_user() is None  # no request: as current_user, nothing


def test_signed_in_pages_read_flask_logins_proxy_a_bounded_number_of_times(make_user, login_as, monkeypatch):
    """Each read through current_user looks the user up again (~3 µs); the hooks, decorators and
    header of a signed-in page take the object once (request_user). Before, a dashboard read the
    proxy 23 times."""
    import flask_login.utils

    user = make_user()
    client = login_as(user)
    client.get("/dashboard")
    reads = []
    original = flask_login.utils._get_user
    monkeypatch.setattr(flask_login.utils, "_get_user", lambda: reads.append(1) or original())
    for path in ("/dashboard", "/notifications", "/account"):
        reads.clear()
        assert client.get(path).status_code == 200, path
        assert len(reads) <= 4, f"{path}: current_user read {len(reads)} times"
