"""What signed-in pages keep from one request to the next (issue #9), and that it never shows stale.

- `chrome.account_nav`: the header's account navigation, rendered once per distinct content;
- `session_cookie.PortalSessionInterface`: a session cookie's signature checked once per worker;
- `i18n.DateTimes` and the documents list's file sizes: texts shared by the requests of a worker.

Each cache is checked against the work it saves: after every change of state, the page shows what a
fresh rendering shows (the cache emptied), and the work is really skipped the second time.
"""
from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import unquote

import pytest

from tests.test_roles_support import add_member, add_partner

NAV = re.compile(r'<nav class="account-nav".*?</nav>', re.S)


def _nav(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return NAV.search(response.get_data(as_text=True)).group(0)


def _nav_cached_and_fresh(app, client, url: str) -> tuple[str, str]:
    """The navigation as the cache gives it, then as a fresh rendering gives it."""
    cached = _nav(client, url)
    app.extensions.get("tp.account_nav", {}).clear()
    return cached, _nav(client, url)


def test_the_account_navigation_follows_every_change_of_what_it_shows(app, db, client, make_user, login_as):
    """For each input of the fragment: the page is shown (the fragment is cached), the input
    changes, and the page shows the change, as a fresh rendering does."""
    from tradeportal.notifications.services import notify_user

    user = make_user(first_name="Erika", last_name="Muster")
    first, second = add_partner(db, name="Alpha Trading AG"), add_partner(db, name="Beta Logistik AG")
    add_member(db, first, user, role="admin")
    login_as(user)

    def after(change, url: str = "/dashboard?lang=en", before_url: str | None = None) -> str:
        before = _nav(client, before_url or url)
        change()
        cached, fresh = _nav_cached_and_fresh(app, client, url)
        assert cached == fresh
        assert cached != before
        return cached

    shown = _nav(client, "/dashboard?lang=en")
    assert "Alpha Trading AG" in shown and "Erika Muster" in shown and "Back office" not in shown
    assert _nav(client, "/dashboard?lang=en") == shown

    def notify():
        notify_user(user, "test", "Subject", "Body")
        db.session.commit()

    assert "1 unread" in after(notify)
    assert 'aria-current="page"' in after(lambda: None, "/notifications?lang=en", "/dashboard?lang=en")

    def rename():
        user.first_name = "Erika-Maria"
        db.session.commit()

    assert "Erika-Maria Muster" in after(rename)
    # the language (one partner: the path is not part of the fragment)
    assert "Tableau de bord" in after(lambda: None, "/dashboard?lang=fr", "/dashboard?lang=en")
    assert "Abmelden" in after(lambda: None, "/dashboard?lang=de", "/dashboard?lang=fr")
    _nav(client, "/dashboard?lang=en")

    def second_partner():
        add_member(db, second, user, role="member")
        # The dashboard named the only partner in the session (partners.resolver.acting_membership),
        # so the person still acts for it: the header offers to switch.
        assert "Switch" in _nav(client, "/notifications?lang=en")
        with client.session_transaction() as session:  # a session that never named one must choose
            session.pop("acting_partner_id")

    shown = after(second_partner, "/notifications?lang=en")
    assert "Choose the business partner you act for" in shown and "next=/notifications" in shown

    def choose():
        answer = client.post_form("/partners/choose", {"partner": str(second.id)}, token_from="/partners/choose")
        assert answer.status_code in (302, 303), answer.status_code

    shown = after(choose, "/notifications?lang=en")
    assert "Beta Logistik AG" in shown and "Switch" in shown and "next=/notifications" in shown
    shown = after(lambda: None, "/notifications?lang=en&page=1", "/notifications?lang=en")
    assert "next=/notifications?lang=en&page=1" in unquote(unescape(shown))


    def make_staff():
        user.is_staff = True
        db.session.commit()

    assert "Back office" in after(make_staff)


def test_the_account_navigation_is_not_shared_between_people(app, db, make_user, login_as):
    anna, ben = make_user(first_name="Anna", last_name="A"), make_user(first_name="Ben", last_name="B")
    one, other = app.test_client(), app.test_client()
    login_as(anna, one)
    login_as(ben, other)
    first, second = _nav(one, "/dashboard?lang=en"), _nav(other, "/dashboard?lang=en")
    assert "Anna A" in first and "Ben B" not in first
    assert "Ben B" in second and "Anna A" not in second


def test_the_same_person_on_two_devices_gets_each_sessions_own_token(app, make_user, login_as):
    """The sign-out form carries the CSRF token of the session that shows it."""
    anna = make_user()
    laptop, phone = app.test_client(), app.test_client()
    login_as(anna, laptop)
    login_as(anna, phone)
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    on_laptop = token.search(_nav(laptop, "/dashboard?lang=en")).group(1)
    on_phone = token.search(_nav(phone, "/dashboard?lang=en")).group(1)
    assert on_laptop != on_phone
    answer = phone.post("/sign-out", data={"csrf_token": on_phone})
    assert answer.status_code in (302, 303), answer.status_code
    assert laptop.get("/dashboard").status_code == 200  # the other device's session goes on


def test_the_account_navigation_is_rendered_once_for_the_same_inputs(app, client, make_user, login_as, monkeypatch):
    from tradeportal import chrome

    login_as(make_user())
    app.extensions.get("tp.account_nav", {}).clear()
    renders = []
    original = chrome.render_uncached
    monkeypatch.setattr(chrome, "render_uncached", lambda context: renders.append(1) or original(context))
    for _ in range(3):
        _nav(client, "/dashboard?lang=en")
    assert len(renders) == 1


# --- the session cookie ----------------------------------------------------------------------

def _cookie(client, app) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def test_a_session_cookie_is_verified_once_and_then_recognised(app, client, make_user, login_as, monkeypatch):
    from itsdangerous import URLSafeTimedSerializer

    login_as(make_user())
    assert client.get("/dashboard").status_code == 200  # the session takes its CSRF token: a new cookie
    app.session_interface._verified.clear()
    checks = []
    original = URLSafeTimedSerializer.loads
    monkeypatch.setattr(URLSafeTimedSerializer, "loads", lambda self, *a, **k: checks.append(1) or original(self, *a, **k))
    for _ in range(3):
        assert client.get("/dashboard").status_code == 200
    assert len(checks) == 1  # the first request verified the cookie, the others found it


def test_a_remembered_session_cookie_still_expires_and_a_forged_one_is_refused(app, client, make_user, login_as,
                                                                             monkeypatch):
    login_as(make_user())
    assert client.get("/dashboard").status_code == 200  # the session takes its CSRF token: a new cookie
    assert client.get("/dashboard").status_code == 200
    value = _cookie(client, app)
    assert value in app.session_interface._verified

    # one character of the signature altered (not its last: base64 leaves that one's low bits unused,
    # so some changes there decode to the same signature)
    at = value.rindex(".") + 3
    forged = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], forged)
    assert client.get("/dashboard").status_code in (302, 303)  # to sign in
    assert forged not in app.session_interface._verified

    client.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    assert client.get("/dashboard").status_code == 200
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/dashboard").status_code in (302, 303)  # older than the lifetime: no session


def test_a_new_secret_key_forgets_the_remembered_cookies(app, client, make_user, login_as, monkeypatch):
    login_as(make_user())
    assert client.get("/dashboard").status_code == 200
    monkeypatch.setattr(app, "secret_key", "another-secret-key-for-this-test")
    assert client.get("/dashboard").status_code in (302, 303)  # signed with the old key: refused
    assert not app.session_interface._verified


def test_each_request_gets_its_own_copy_of_the_session(app):
    interface = app.session_interface
    cookie = interface.get_signing_serializer(app).dumps({"probe": {"items": [1]}})
    name = app.config["SESSION_COOKIE_NAME"]
    opened = []
    for _ in range(2):
        with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}) as ctx:
            opened.append(interface.open_session(app, ctx.request))
            opened[-1]["probe"]["items"].append(2)  # changed in place (not saved): this request's copy only
    assert cookie in interface._verified  # the second one came from what the first remembered
    assert opened[0] == opened[1] == {"probe": {"items": [1, 2]}}
    assert opened[0]["probe"] is not opened[1]["probe"]


# --- texts shared by the requests of a worker ------------------------------------------------

@pytest.mark.parametrize("locale", ["fr", "en", "de"])
def test_dates_and_sizes_formatted_once_per_worker_match_babel(app, locale, monkeypatch):
    from datetime import datetime, timedelta, timezone

    import babel.dates

    from tradeportal import i18n
    from tradeportal.documents.listing import FileSizes

    start = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)  # the night the clocks change in Zurich
    values = [start + timedelta(minutes=47 * n) for n in range(80)]
    sizes = [0, 99, 1000, 1019, 150_000, 1_048_575, 1_048_576, 15_728_640]
    with app.test_request_context(f"/?lang={locale}"):
        app.preprocess_request()
        expected = [i18n.format_datetime(v, "medium") for v in values]
        expected_sizes = [i18n.format_file_size(s) for s in sizes]
        dates = i18n.DateTimes("medium")
        assert [dates(v) for v in values] == expected
        assert [FileSizes()(s) for s in sizes] == expected_sizes
    calls = []
    original = babel.dates.DateTimeFormat.__init__
    monkeypatch.setattr(babel.dates.DateTimeFormat, "__init__",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    with app.test_request_context(f"/?lang={locale}"):  # the next request: the same texts, without babel
        app.preprocess_request()
        dates = i18n.DateTimes("medium")
        assert [dates(v) for v in values] == expected
        assert [FileSizes()(s) for s in sizes] == expected_sizes
    assert calls == []


class _Page:
    def __init__(self, number, has_prev, has_next):
        self.number, self.has_prev, self.has_next = number, has_prev, has_next


def test_the_page_links_of_a_list_are_the_macros_in_each_language_and_mount_point(app, monkeypatch):
    """`chrome.pagination` (the global the list pages call) gives what macros/ui.html's page_links
    renders, from the cache for the same page, links and language; a change of any of them
    (number, next or previous, the list's other values, language, prefix) shows at once."""
    from flask import render_template_string

    from tradeportal import chrome

    cases = [(_Page(1, False, True), "documents.index", {"partner_id": 7}),
             (_Page(2, True, True), "documents.index", {"partner_id": 7, "case_number": "A&B <1>"}),
             (_Page(2, True, True), "documents.index", {"partner_id": 8, "case_number": "A&B <1>"}),
             (_Page(3, True, False), "notifications.index", {"kind": "security", "state": "unread"}),
             (_Page(3, True, True), "notifications.index", {"kind": "security", "state": "unread"}),
             (_Page(2, True, True), "staff.role_requests", {"status": "pending", "q": "lac"}),
             (_Page(2, True, True), "staff.role_requests", {"status": "pending", "q": ["not", "a", "key"]}),
             (_Page(1, False, False), "staff.role_requests", {})]
    macro = '{% from "macros/ui.html" import page_links %}{{ page_links(page, endpoint, args) }}'
    seen = set()
    for root in ("", "/portal"):
        for lang in ("fr", "en", "de"):
            for page, endpoint, args in cases:
                with app.test_request_context(f"/x?lang={lang}", environ_overrides={"SCRIPT_NAME": root}):
                    app.preprocess_request()
                    expected = render_template_string(macro, page=page, endpoint=endpoint, args=args)
                    first, again = str(chrome.pagination(page, endpoint, args)), str(chrome.pagination(page, endpoint, args))
                assert first == again == expected, (root, lang, page.number, endpoint, args)
                if page.has_next or page.has_prev:
                    assert f'href="{root}/' in first and first not in seen, (root, lang, endpoint, args)
                    seen.add(first)
                else:
                    assert first == ""
    shown = " ".join(seen)
    assert "case_number=A%26B+%3C1%3E" in shown
    assert all(label in shown for label in ("Page suivante", "Next page", "Nächste Seite"))

    def refused(*args, **kwargs):
        raise AssertionError("the page links were rendered again")

    page, endpoint, args = cases[1]
    with app.test_request_context("/x?lang=de"):
        app.preprocess_request()
        monkeypatch.setattr(app.jinja_env, "get_template", refused)
        assert "Nächste Seite" in chrome.pagination(page, endpoint, args)
