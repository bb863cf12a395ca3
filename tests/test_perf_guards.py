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
            started = time.perf_counter()
            pdf = render_letters_pdf([letter], "fr")
            timings.append(time.perf_counter() - started)
    assert pdf.startswith(b"%PDF")
    assert min(timings) <= PDF_ONE_PAGE_SECONDS, f"one-page PDF: {min(timings) * 1000:.0f} ms"


# --- the cached date formatter gives flask_babel's text --------------------------------------

@pytest.mark.parametrize("locale", ["fr", "en", "de"])
def test_the_cached_date_formats_match_flask_babel(app, locale):
    import flask_babel

    from tradeportal import i18n

    values = [datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc), datetime(2026, 10, 25, 0, 59, tzinfo=timezone.utc),
              datetime(2026, 7, 1, 23, 5), datetime(2025, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
              date(2026, 1, 2)]
    with app.test_request_context(), flask_babel.force_locale(locale):
        for format in (None, "short", "medium", "long", "full", "EEEE d MMMM y"):
            for value in values:
                for rebase in (True, False):
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
