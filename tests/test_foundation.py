"""The foundation: access declarations, headers, languages, CSRF, errors, cookies."""
from __future__ import annotations

import re

import pytest
from flask import Blueprint

from tradeportal import access, create_app
from tradeportal.config import ConfigError, load_config

PUBLIC_PAGES = ["/", "/help", "/contact", "/accessibility", "/privacy", "/terms-of-use", "/feedback", "/sign-in"]


def test_every_route_declares_exactly_one_access(app):
    assert access.undeclared_routes(app) == []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        assert view.access in access.ACCESS_KINDS, rule.endpoint


def test_app_refuses_to_start_with_an_undeclared_route(monkeypatch):
    rogue = Blueprint("rogue", __name__)

    @rogue.get("/rogue")
    def rogue_view():
        return "no declaration"

    monkeypatch.setattr("tradeportal.AREAS", ("public", "auth", "staff", "rogue"))
    import sys, types

    module = types.ModuleType("tradeportal.rogue")
    module.bp = rogue
    monkeypatch.setitem(sys.modules, "tradeportal.rogue", module)
    with pytest.raises(RuntimeError, match="rogue.rogue_view"):
        create_app({"ENVIRONMENT": "testing", "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_declaring_access_twice_is_refused():
    def view():
        return ""

    with pytest.raises(TypeError):
        access.public(access.public(view))


@pytest.mark.parametrize("url", PUBLIC_PAGES + ["/does-not-exist"])
def test_security_headers_on_pages_and_errors(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for directive in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_headers_on_405_and_500(app, client, monkeypatch):
    response = client.delete("/help")
    assert response.status_code == 405
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]

    def boom():
        return 1 / 0

    boom.access = "public"
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "public.help", boom)
    response = client.get("/help?lang=de")
    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "es gibt ein Problem mit dem Dienst" in response.get_data(as_text=True)


def test_404_is_in_the_readers_language(client):
    for lang, words in {"fr": "Page introuvable", "de": "Seite nicht gefunden", "en": "Page not found"}.items():
        body = client.get(f"/nope?lang={lang}").get_data(as_text=True)
        assert words in body
        assert f'<html lang="{lang}">' in body


def test_post_without_csrf_token_is_refused_and_changes_nothing(client, db):
    from tradeportal.public.models import Feedback

    response = client.post("/feedback", data={"text": "hello", "page": "/help"})
    assert response.status_code == 400
    assert db.session.query(Feedback).count() == 0


def test_csrf_token_from_another_session_is_refused(app, client, db):
    from tradeportal.public.models import Feedback

    other = app.test_client()  # another session
    token = re.search(r'name="csrf-token" content="([^"]+)"', other.get("/").get_data(as_text=True)).group(1)
    client.get("/")
    response = client.post("/feedback", data={"text": "hello", "page": "/help", "csrf_token": token})
    assert response.status_code == 400
    assert db.session.query(Feedback).count() == 0


class TestLanguage:
    def test_default_locale_is_french(self, client):
        assert '<html lang="fr">' in client.get("/").get_data(as_text=True)

    def test_accept_language(self, client):
        body = client.get("/", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"}).get_data(as_text=True)
        assert '<html lang="de">' in body

    def test_query_parameter_wins_and_is_remembered(self, client):
        response = client.get("/help?lang=en", headers={"Accept-Language": "de"})
        assert '<html lang="en">' in response.get_data(as_text=True)
        cookie = response.headers["Set-Cookie"]
        assert "tp_lang=en" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert '<html lang="en">' in client.get("/contact", headers={"Accept-Language": "de"}).get_data(as_text=True)

    def test_unknown_language_is_ignored(self, client):
        assert '<html lang="fr">' in client.get("/?lang=xx").get_data(as_text=True)

    def test_switcher_links_keep_the_page_and_mark_languages(self, client):
        body = client.get("/help?lang=de").get_data(as_text=True)
        for code in ("fr", "en", "de"):
            assert re.search(rf'<a href="/help\?lang={code}" lang="{code}" hreflang="{code}"', body)
        assert 'hreflang="de" aria-current="true"' in body

    def test_signed_in_choice_is_saved_in_the_profile(self, client, make_user, login_as, db):
        user = make_user(locale="fr")
        login_as(user)
        client.get("/?lang=de")
        db.session.refresh(user)
        assert user.locale == "de"
        # The saved preference then beats the browser's language.
        assert '<html lang="de">' in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_base_page_landmarks(client):
    body = client.get("/?lang=en").get_data(as_text=True)
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in body
    assert '<main id="main"' in body
    assert 'aria-live="polite"' in body and 'id="live-region"' in body
    for link in ("/help", "/contact", "/accessibility", "/privacy", "/terms-of-use", "/feedback?page="):
        assert f'href="{link}' in body
    assert "Federal Office for Customs and Trade" in body


def test_agency_name_and_colour_are_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEPORTAL_AGENCY_NAME", "Office of Trade Licences")
    monkeypatch.setenv("TRADEPORTAL_AGENCY_COLOUR", "#123456")
    app = create_app({"ENVIRONMENT": "testing", "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    client = app.test_client()
    assert "--brand: #123456" in client.get("/theme.css").get_data(as_text=True)
    with app.test_request_context():
        from flask import render_template_string

        assert render_template_string("{{ agency_name }}") == "Office of Trade Licences"


def test_static_files_are_fingerprinted_and_cached(client):
    body = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/portal\.css\?v=[0-9a-f]{12})"', body).group(1)
    response = client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_session_cookie_flags(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    production = load_config({"ENVIRONMENT": "production", "SECRET_KEY": "k"})
    assert production["SESSION_COOKIE_SECURE"] is True
    assert load_config({"ENVIRONMENT": "development", "INSTANCE_PATH": "/tmp/tp-dev-cfg"})["SESSION_COOKIE_SECURE"] is False


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("TRADEPORTAL_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config({"ENVIRONMENT": "production"})


def test_development_generates_and_keeps_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADEPORTAL_SECRET_KEY", raising=False)
    first = load_config({"ENVIRONMENT": "development", "INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"ENVIRONMENT": "development", "INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_variables_are_read(monkeypatch):
    for name, value in {
        "DATABASE_URL": "postgresql+psycopg://u@h/db", "SMTP_HOST": "smtp.example", "SMTP_PORT": "2525",
        "SMTP_USER": "u", "SMTP_PASSWORD": "p", "MAIL_FROM": "noreply@x.example", "DEFAULT_LOCALE": "de",
        "AGENCY_NAME": "Agency", "UPLOAD_DIR": "/srv/uploads", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "SECRET_KEY": "s",
    }.items():
        monkeypatch.setenv(f"TRADEPORTAL_{name}", value)
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert (config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_USER"], config["SMTP_PASSWORD"]) == ("smtp.example", 2525, "u", "p")
    assert config["MAIL_FROM"] == "noreply@x.example" and config["DEFAULT_LOCALE"] == "de"
    assert config["AGENCY_NAME"] == "Agency" and config["UPLOAD_DIR"] == "/srv/uploads"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379" and config["SECRET_KEY"] == "s"


def test_htmx_is_served_from_our_static_folder_with_eval_off(client):
    body = client.get("/").get_data(as_text=True)
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]+" defer></script>', body)
    assert "&#34;allowEval&#34;:false" in body or '"allowEval":false' in body
    assert "<script>" not in body  # no inline script anywhere


def test_render_page_or_partial_varies_on_hx_request(app):
    from tradeportal.htmx import render_page_or_partial

    with app.test_request_context("/", headers={"HX-Request": "true"}):
        response = render_page_or_partial("errors/error.html", "macros/ui.html", announce="Saved")
        assert "HX-Request" in response.headers["Vary"]
        body = response.get_data(as_text=True)
        assert 'hx-swap-oob="innerHTML"' in body
        assert "&lt;" not in body  # the fragment itself is not escaped
    with app.test_request_context("/"):
        response = render_page_or_partial("public/help.html", "macros/ui.html")
        assert "<html" in response.get_data(as_text=True)
        assert "HX-Request" in response.headers["Vary"]


def test_lazy_strings_with_parameters_are_escaped(app):
    from flask import render_template_string
    from flask_babel import lazy_gettext as _l

    with app.test_request_context("/?lang=en"):
        html = render_template_string("{{ x }}", x=_l("Hello %(name)s,", name="<script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_nul_character_sent_in_a_form_or_query_is_dropped(app):
    """No one types a NUL and PostgreSQL refuses it in text: the request drops it (found by the fuzzing)."""
    from flask import request

    with app.test_request_context("/?q=a%00b", method="POST", data={"text": "x\x00y", "na\x00me": "v"}):
        assert request.args["q"] == "ab"
        assert request.form["text"] == "xy" and request.form["name"] == "v"
    with app.test_request_context("/?q=plain", method="POST", data={"text": "plain"}):
        assert request.args["q"] == "plain" and request.form["text"] == "plain"


def test_a_multipart_part_without_a_name_does_not_break_the_nul_filter():
    from werkzeug.datastructures import MultiDict

    from tradeportal import NulFreeRequest

    cleaned = NulFreeRequest._without_nul(MultiDict([(None, "a\x00b"), ("k", "v")]), MultiDict)
    assert list(cleaned.items(multi=True)) == [(None, "ab"), ("k", "v")]
    untouched = MultiDict([(None, "plain")])
    assert NulFreeRequest._without_nul(untouched, MultiDict) is untouched
