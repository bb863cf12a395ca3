"""The back-office shell: guarded by the staff decorator; feedback lives there."""
from __future__ import annotations

from tradeportal.access import StaffPermission
from tradeportal.public.models import Feedback


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=/staff/")


def test_a_person_who_is_not_staff_gets_404(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/staff/").status_code == 404
    assert client.get("/staff/feedback").status_code == 404


def test_staff_without_the_permission_gets_403_and_no_menu_entry(client, make_user, login_as):
    login_as(make_user(staff_permissions=[StaffPermission.SUPPORT]))
    page = client.get("/staff/?lang=en").get_data(as_text=True)
    assert "Back office" in page and "/staff/feedback" not in page
    assert client.get("/staff/feedback").status_code == 403


def test_feedback_is_stored_with_its_page_and_read_by_staff(client, make_user, login_as, db):
    response = client.post_form("/feedback", {"text": "The table is hard to read", "page": "/help?x=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/help?x=1"
    feedback = db.session.query(Feedback).one()
    assert (feedback.page_url, feedback.text, feedback.user_id) == ("/help?x=1", "The table is hard to read", None)

    staff = make_user(staff_permissions=[StaffPermission.FEEDBACK])
    login_as(staff)
    page = client.get("/staff/feedback?lang=en").get_data(as_text=True)
    assert "The table is hard to read" in page and "/help?x=1" in page
    response = client.post_form(f"/staff/feedback/{feedback.id}/read", {"page": "1"})
    assert response.status_code == 302
    db.session.refresh(feedback)
    assert feedback.read_at is not None
    assert "The table is hard to read" not in client.get("/staff/feedback?show=unread").get_data(as_text=True)
    assert client.post_form("/staff/feedback/999999/read").status_code == 404


def test_feedback_never_stores_a_foreign_url(client, db):
    client.post_form("/feedback", {"text": "x", "page": "https://evil.example/"})
    client.post_form("/feedback", {"text": "y", "page": "//evil.example/"})
    assert {f.page_url for f in db.session.query(Feedback)} == {"/"}


def test_empty_feedback_is_refused_next_to_the_field_and_in_the_summary(client, db):
    response = client.post_form("/feedback?lang=en", {"text": "  ", "page": "/help"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: Feedback on this page" in body
    assert 'href="#text">Enter your feedback</a>' in body
    assert 'id="text-error"' in body and 'aria-invalid="true"' in body
    assert db.session.query(Feedback).count() == 0


def test_long_feedback_keeps_what_was_typed(client, db):
    text = "é" * 2001
    body = client.post_form("/feedback?lang=en", {"text": text, "page": "/help"}).get_data(as_text=True)
    assert "2,000 characters or fewer" in body
    assert text in body


def test_create_staff_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tp", "create-staff", "clerk@agency.example", "--password", "Clerk-password-2026",
                                 "--permission", "letters", "--permission", "support"])
    assert result.exit_code == 0, result.output
    assert "Authenticator secret" in result.output
    from tradeportal.auth.services import find_user_by_email

    user = find_user_by_email("CLERK@agency.example")
    assert user.is_staff and user.staff_permission_set() == {"letters", "support"}
    result = runner.invoke(args=["tp", "create-staff", "x@agency.example", "--password", "p", "--permission", "nope"])
    assert result.exit_code != 0


def test_seed_demo_is_idempotent(app, db):
    from sqlalchemy import func, select

    from tradeportal.account.models import User
    from tradeportal.partners.identifiers import normalise
    from tradeportal.partners.models import RegisterEntry
    from tradeportal.public.models import NewsItem
    from tradeportal.roles.models import Role

    runner = app.test_cli_runner()
    first = runner.invoke(args=["tp", "seed-demo"])
    assert first.exit_code == 0, first.output
    assert "staff@agency.example" in first.output and "demonstration only" in first.output
    counts = [db.session.execute(select(func.count()).select_from(m)).scalar() for m in (User, RegisterEntry, NewsItem, Role)]
    runner.invoke(args=["tp", "seed-demo"])
    assert [db.session.execute(select(func.count()).select_from(m)).scalar() for m in (User, RegisterEntry, NewsItem, Role)] == counts
    assert counts[1] >= 200
    assert {r.code for r in db.session.query(Role)} >= {"goods_traffic", "transport", "authorised_consignee", "authorised_consignor"}
    for entry in db.session.query(RegisterEntry):
        assert normalise(entry.identifier) is not None, entry.identifier
    news = db.session.query(NewsItem).first()
    assert news.title_fr and news.title_en and news.title_de


def test_feedback_list_costs_the_same_queries_for_1_and_50_rows(client, make_user, login_as, db, count_queries):
    login_as(make_user(staff_permissions=[StaffPermission.FEEDBACK]))
    db.session.add(Feedback(page_url="/", text="one", locale="en"))
    db.session.commit()
    client.get("/staff/feedback")  # warm-up
    with count_queries() as one:
        assert client.get("/staff/feedback").status_code == 200
    db.session.add_all([Feedback(page_url="/", text=f"t{i}", locale="en") for i in range(49)])
    db.session.commit()
    with count_queries() as fifty:
        assert client.get("/staff/feedback").status_code == 200
    assert one.count == fifty.count <= 8  # session, user, header (bell, partners), page


def test_the_menu_marks_the_page_shown_and_follows_the_language(client, make_user, login_as):
    import re

    login_as(make_user(staff_permissions=[StaffPermission.FEEDBACK, StaffPermission.SUPPORT]))
    page = client.get("/staff/feedback?lang=en").get_data(as_text=True)
    nav = page[page.index('<nav class="staff-nav"'):page.index("</nav>", page.index('<nav class="staff-nav"'))]
    assert re.search(r'<a href="/staff/feedback" aria-current="page">Feedback on pages</a>', nav)
    assert nav.count('aria-current="page"') == 1
    german = client.get("/staff/?lang=de").get_data(as_text=True)
    nav = german[german.index('<nav class="staff-nav"'):]
    assert '<a href="/staff/feedback">Rückmeldungen zu Seiten</a>' in nav
    assert 'href="/staff/" aria-current="page"' in nav
