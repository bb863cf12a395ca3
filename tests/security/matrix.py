"""The access matrix's expectations: one entry per endpoint of `app.url_map`.

Most of a cell's expected outcome follows from the view's access declaration
(`view.access`, `view.access_detail`, see tradeportal/access.py) and the actor;
`expected()` derives it. An entry here says how to build the route's URL with real
objects of partner A (or of its administrator) and lists the exceptions: routes
taking an object that belongs to one person (`owner`), routes taking a one-time
token from a link (answered the same to everyone holding no valid token), etc.

A route with no entry fails `test_every_route_has_an_entry`: whoever adds a route
says here who may call it.

Outcomes:
    ok        served: 2xx, 3xx elsewhere than the sign-in page, or 422 (the empty form's errors)
    sign_in   3xx to the sign-in page
    dashboard 3xx to the dashboard (a partner route without a partner to act for)
    400 401 403 404   that status
    noop      any answer below 500, and the database unchanged (a write refused quietly)
A tuple of outcomes accepts any of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from . import world_areas
from .conftest import SIGNED_IN_ACTORS

FAKE_TOKEN = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # a well-formed link token that matches nothing


@dataclass
class Entry:
    args: dict[str, Callable] = field(default_factory=dict)  # URL argument -> f(world)
    owner: str | None = None  # signed_in routes on an object of one actor: the others get `others`
    others: object = "404"
    expect: dict[str, object] = field(default_factory=dict)  # actor -> outcome, last word
    query: Callable | None = None  # f(world) -> query string values
    data: Callable | None = None  # f(world) -> form fields sent with the CSRF token
    get_changes: tuple[str, ...] = ()  # tables a GET by an allowed actor may change (documented)
    note: str = ""


def ids(key):
    return lambda w: w.ids[key]


PARTNER_A = {"partner_id": ids("partner_a")}
PARTNER_C = {"partner_id": ids("partner_c")}
TOKEN = {"token": lambda w: FAKE_TOKEN}
ANY_LINK = {actor: ("ok", "404") for actor in ("anonymous", "pending", "api_other", *SIGNED_IN_ACTORS)}

E = Entry
MATRIX: dict[str, Entry] = {
    "static": E(args={"filename": lambda w: "css/portal.css"}, note="Flask's static files"),
    # --- account ---------------------------------------------------------------
    "account.activity_history": E(),
    "account.change_email": E(),
    "account.change_password": E(),
    "account.confirm_email_change": E(args=TOKEN, expect=ANY_LINK, note="invalid link for everyone"),
    "account.delete": E(note="409 for the last administrator of a partner: a business answer, not a denial"),
    "account.deleted": E(),
    "account.end_all_sessions": E(expect={a: ("ok", "sign_in") for a in SIGNED_IN_ACTORS},
                                  note="ends this session too: the answer leads to the sign-in page"),
    "account.end_session": E(args={"session_id": ids("admin_other_session")}, owner="administrator"),
    "account.profile": E(),
    "account.recovery_codes": E(),
    "account.recovery_codes_download": E(expect={a: ("ok", "400") for a in SIGNED_IN_ACTORS},
                                         note="400 without codes just made in this session"),
    "account.replace_authenticator": E(),
    "account.security": E(),
    "account.sessions": E(),
    # --- auth --------------------------------------------------------------------
    "auth.enrol": E(),
    "auth.extend_session": E(expect={a: "401" for a in ("anonymous", "pending", "api_other")},
                             note="asked by the session-warning script: 401, not a redirect"),
    "auth.forgot_password": E(),
    "auth.forgot_password_sent": E(),
    "auth.recovery_codes": E(),
    "auth.recovery_codes_download": E(),
    "auth.reset_password": E(),
    "auth.reset_password_link": E(args=TOKEN, expect=ANY_LINK, note="invalid link for everyone"),
    "auth.second_factor": E(),
    "auth.session_status": E(),
    "auth.session_warning": E(),
    "auth.sign_in": E(),
    "auth.sign_out": E(),
    # --- dashboard, notifications ----------------------------------------------------
    "dashboard.index": E(),
    "notifications.detail": E(args={"notification_id": ids("notification")}, owner="administrator",
                              get_changes=("notification",),
                              note="opening a notification marks it read (its owner's own row, no audit)"),
    "notifications.index": E(),
    "notifications.read": E(args={"notification_id": ids("notification")}, owner="administrator"),
    "notifications.read_all": E(),
    "notifications.unread": E(args={"notification_id": ids("notification")}, owner="administrator"),
    # --- onboarding ----------------------------------------------------------------
    "onboarding.accept_terms": E(),
    "onboarding.check_email": E(),
    "onboarding.confirm_email": E(args=TOKEN, expect=ANY_LINK, note="invalid link for everyone"),
    "onboarding.confirm_pending": E(),
    "onboarding.resend_confirmation": E(),
    "onboarding.sign_up": E(),
    # --- partners --------------------------------------------------------------------
    "partners.access_request": E(args={**PARTNER_A, "request_id": ids("access_request")}),
    "partners.activity": E(args=PARTNER_A),
    "partners.choose": E(),
    "partners.edit_registration": E(args=PARTNER_C, owner="no_partner",
                                    expect={"no_partner": "404"},
                                    note="only a manual entry awaiting the agency's check can be edited"),
    "partners.index": E(),
    "partners.invitation": E(args=TOKEN, expect=ANY_LINK, note="invalid link for everyone"),
    "partners.invitation_accept": E(args=TOKEN, expect={a: ("404", "ok") for a in SIGNED_IN_ACTORS},
                                    note="invalid link for everyone"),
    "partners.invitation_withdraw": E(args={**PARTNER_A, "invitation_id": ids("invitation")}),
    "partners.invite": E(args=PARTNER_A),
    "partners.join": E(),
    "partners.join_ask": E(query=lambda w: {"partner": w.ids["partner_b"]},
                           expect={"other_member": ("ok", "404")}),
    "partners.leave": E(args=PARTNER_A),
    "partners.manual": E(),
    "partners.member_remove": E(args={**PARTNER_A, "membership_id": ids("member_membership")}),
    "partners.member_role": E(args={**PARTNER_A, "membership_id": ids("member_membership")}),
    "partners.members": E(args=PARTNER_A),
    "partners.new_letter": E(args=PARTNER_C, owner="no_partner"),
    "partners.profile": E(args=PARTNER_A),
    "partners.redeem": E(args=PARTNER_C, owner="no_partner"),
    "partners.register": E(),
    "partners.registration": E(args=PARTNER_C, owner="no_partner"),
    "partners.take_over": E(args={"entry_id": ids("register_entry")}),
    "partners.withdraw_request": E(args={"request_id": ids("access_request")}, owner="no_partner", others="noop",
                                   note="answers every signed-in person with the same redirect; only the "
                                        "requester's request is withdrawn"),
    # --- public ----------------------------------------------------------------------
    "public.accessibility": E(),
    "public.contact": E(),
    "public.feedback": E(),
    "public.healthz": E(),
    "public.help": E(),
    "public.home": E(),
    "public.news_feed": E(args={"lang": lambda w: "en"}),
    "public.news_item": E(args={"news_id": ids("news")}),
    "public.news_list": E(),
    "public.privacy": E(),
    "public.terms": E(),
    "public.theme_css": E(),
    # --- roles -------------------------------------------------------------------------
    "roles.detail": E(args={**PARTNER_A, "request_id": ids("role_request")}),
    "roles.index": E(args=PARTNER_A),
    "roles.member_rights": E(args={**PARTNER_A, "membership_id": ids("member_membership")}),
    "roles.request_role": E(args={**PARTNER_A, "role_id": ids("role")}),
    "roles.rights_index": E(args=PARTNER_A),
    "roles.withdraw": E(args={**PARTNER_A, "request_id": ids("role_request")}),
    # --- staff -------------------------------------------------------------------------
    "staff.feedback": E(),
    "staff.feedback_read": E(args={"feedback_id": ids("feedback")}),
    "staff.index": E(),
    "staff.letters": E(),
    "staff.letters_pdf": E(),
    "staff.letters_posted": E(data=lambda w: {"upto": w.ids["letter"]}),
    "staff.news": E(),
    "staff.news_delete": E(args={"news_id": ids("news")}),
    "staff.news_edit": E(args={"news_id": ids("news")}),
    "staff.news_new": E(),
    "staff.notices": E(),
    "staff.notices_detail": E(args={"notice_id": ids("notice")}),
    "staff.notices_new": E(),
    "staff.partner": E(args=PARTNER_A),
    "staff.partner_reactivate": E(args=PARTNER_A),
    "staff.partner_reject": E(args=PARTNER_C),
    "staff.partner_suspend": E(args=PARTNER_A),
    "staff.partner_verify": E(args=PARTNER_C),
    "staff.partners": E(),
    "staff.role_edit": E(args={"role_id": ids("role")}),
    "staff.role_new": E(),
    "staff.role_request": E(args={"request_id": ids("role_request")}),
    "staff.role_requests": E(),
    "staff.role_revoke": E(args={"request_id": ids("role_request")}),
    "staff.roles": E(),
    "staff.support_reset_second_factor": E(args={"user_id": ids("user_member_no_right")}),
    "staff.support_unlock": E(args={"user_id": ids("user_member_no_right")}),
    "staff.support_user": E(args={"user_id": ids("user_member_no_right")}),
    "staff.support_users": E(),
    "staff.terms": E(),
    "staff.terms_new": E(),
    "staff.terms_version": E(args={"version": ids("terms_version")}),
    # --- documents -----------------------------------------------------------------------
    "documents.home": E(),
    "documents.index": E(args=PARTNER_A),
    "documents.upload": E(args=PARTNER_A),
    "documents.download": E(args={**PARTNER_A, "document_id": ids("document")}, get_changes=("audit_event",),
                            note="every download is audited (who read which document)"),
    "documents.receipt": E(args={**PARTNER_A, "upload_id": ids("upload")}),
    "documents.acknowledgement": E(args={**PARTNER_A, "upload_id": ids("upload")}),
    "documents.draft": E(args={**PARTNER_A, "upload_id": ids("draft")}, owner="administrator",
                         note="a draft is its author's own until it is sent"),
    "documents.details": E(args={**PARTNER_A, "upload_id": ids("draft")}, owner="administrator"),
    "documents.add_files": E(args={**PARTNER_A, "upload_id": ids("draft")}, owner="administrator"),
    "documents.remove_file": E(args={**PARTNER_A, "upload_id": ids("draft"), "document_id": ids("staged_document")},
                               owner="administrator"),
    "documents.send": E(args={**PARTNER_A, "upload_id": ids("draft")}, owner="administrator"),
    "documents.cancel": E(args={**PARTNER_A, "upload_id": ids("draft")}, owner="administrator"),
    "staff.documents": E(),
    "staff.document_download": E(args={"document_id": ids("document")}, get_changes=("audit_event",),
                                 note="every download is audited, the agency's too"),
    "staff.document_processed": E(args={"document_id": ids("document")}),
    "staff.document_categories": E(),
    "staff.document_category_new": E(),
    "staff.document_category_edit": E(args={"category_id": ids("category")}),
    # --- API self-service -------------------------------------------------------------------
    "api.self_service": E(args=PARTNER_A),
    "api.create": E(args=PARTNER_A),
    "api.detail": E(args={**PARTNER_A, "application_id": ids("application")}),
    "api.keys": E(args={**PARTNER_A, "application_id": ids("application")},
                  get_changes=("api_application", "api_token", "api_download_ticket", "audit_event"),
                  note="the keys are shown once: the first view by the person who made the application claims "
                       "them (conditional UPDATE), issues the secret and a token pair, and is audited; "
                       "any other view answers 410 and changes nothing"),
    "api.download": E(args={**PARTNER_A, "application_id": ids("application")},
                      expect={a: ("ok", "400") for a in ("deputy", "administrator", "member_with_rights")},
                      note="400 without the keys and the ticket of the keys page just shown"),
    "api.rotate": E(args={**PARTNER_A, "application_id": ids("application")}),
    "api.revoke": E(args={**PARTNER_A, "application_id": ids("application")}),
    "api.webhook": E(args={**PARTNER_A, "application_id": ids("application")}),
    "api.webhook_remove": E(args={**PARTNER_A, "application_id": ids("application")}),
    "api.reference": E(),
    # --- API (bearer tokens; api_other holds a token of partner B, the objects are partner A's) ---
    "api.v1.openapi": E(),
    "api.v1.token": E(expect={a: ("400", "401") for a in ("anonymous", "pending", "api_other", *SIGNED_IN_ACTORS)},
                      note="no client credentials: invalid_client (401) or invalid_request (400), whoever asks"),
    "api.v1.partner": E(note="partner B's own profile"),
    "api.v1.notifications": E(note="partner B's own feed"),
    "api.v1.notification": E(args={"notification_id": ids("api_notification")}, expect={"api_other": "404"}),
    "api.v1.mark_read": E(args={"notification_id": ids("api_notification")}, expect={"api_other": "404"}),
    "api.v1.test_notification": E(note="a test application adds a sample to its own test feed"),
    "api.v1.document_categories": E(),
    "api.v1.documents": E(note="partner B's own documents"),
    "api.v1.document": E(args={"document_id": ids("document")}, expect={"api_other": "404"}),
    "api.v1.content": E(args={"document_id": ids("document")}, expect={"api_other": "404"}),
    "api.v1.upload": E(expect={"api_other": ("ok", "400")}, note="no file: a problem answer, nothing stored"),
}

# Builders of the objects of the documents and API areas: f(world) adds rows and ids.
WORLD_EXTENSIONS: list[Callable] = [world_areas.build_documents, world_areas.build_api]
# f(world, partner) -> a bearer token of an API application of `partner` (the api_other actor).
api_token_for: Callable | None = world_areas.api_token_for


# --- derived expectations ---------------------------------------------------------------

def expected(access: str, detail: str | None, actor: str, entry: Entry, has_partner_arg: bool,
             token_resolver: bool) -> object:
    if actor in entry.expect:
        return entry.expect[actor]
    outcome = _by_kind(access, detail, actor, has_partner_arg, token_resolver)
    if entry.owner and outcome == "ok" and actor in SIGNED_IN_ACTORS and actor != entry.owner:
        return entry.others
    return outcome


def _by_kind(access, detail, actor, has_partner_arg, token_resolver):
    if access == "public":
        return "ok"
    if access == "api_token":
        if not token_resolver or actor != "api_other":
            return "401"
        return "404" if has_partner_arg else "ok"
    if actor in ("anonymous", "api_other"):
        return "sign_in"
    if access == "second_factor_pending":
        return "ok" if actor == "pending" else "sign_in"
    if actor == "pending":
        return "sign_in"
    if access == "signed_in":
        return "ok"
    if access in ("partner_member", "partner_admin"):
        if actor in ("no_partner", "other_member", "staff", "staff_no_permission"):
            return "404" if has_partner_arg else ("dashboard" if actor != "other_member" else "ok")
        if actor in ("deputy", "administrator"):
            return "ok"
        if access == "partner_admin":
            return "403"
        if detail is None or actor == "member_with_rights":
            return "ok"
        return "403"
    if access == "staff":
        if actor == "staff":
            return "ok"
        if actor == "staff_no_permission":
            return "ok" if detail is None else "403"
        return "404"
    raise AssertionError(f"unknown access kind {access!r}")
