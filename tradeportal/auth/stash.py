"""No data lost when a session ends while a form is being filled in.

When a form is sent after the session ended (or after its CSRF token went
stale, for a signed-out person), its fields — never passwords, codes, secrets
or the CSRF token — are kept in the Flask session with the page they came
from. After signing in, that page is shown again with the fields filled in and
a notice: the person checks and sends it again, with a fresh CSRF token. Nothing
is ever sent on their behalf.

The fields are put back through Flask-WTF: a form built without explicit data
on a GET of that page receives the kept fields as its form data (`install`).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import current_app, flash, g, jsonify, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ..current import request_user
from ..db import utcnow

STASH_KEY = "form_stash"
# The Flask session is a cookie (at most 4 KB): keep what fits, say when something did not.
MAX_CHARS = 2500
MAX_AGE_SECONDS = 3600
SIGNED_IN_KINDS = {"signed_in", "partner_member", "partner_admin", "staff"}
_SECRET_FIELD = re.compile(r"pass|secret|csrf|token|otp|recovery|one_time|^code$", re.IGNORECASE)

_installed = False


# --- keeping -----------------------------------------------------------------

def _access_of(endpoint: str | None) -> str | None:
    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "access", None)


def _get_endpoint(url: str) -> str | None:
    """The endpoint a GET of `url` (a path on this site) reaches, or None."""
    parts = urlsplit(url)
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, _args = adapter.match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return None
    return endpoint


def _local_path(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//") or "\\" in parts.path:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _return_page() -> tuple[str, str] | None:
    """The page the form was on (the referrer, else the URL it was sent to), if a GET shows it."""
    for candidate in (_local_path(request.referrer), request.full_path.rstrip("?")):
        if candidate and candidate.startswith("/") and (endpoint := _get_endpoint(candidate)):
            if _access_of(endpoint) not in (None, "api_token"):
                return candidate, endpoint
    return None


def stash_form(page_url: str, reason: str) -> None:
    """Keep this request's form fields (no secrets) for `page_url`."""
    fields, size, partial = [], 0, bool(request.files)
    for name, values in request.form.lists():
        if _SECRET_FIELD.search(name):
            continue
        for value in values:
            if size + len(name) + len(value) > MAX_CHARS:
                partial = True
                continue
            fields.append([name, value])
            size += len(name) + len(value)
    session[STASH_KEY] = {"url": page_url, "fields": fields, "at": utcnow().timestamp(),
                          "reason": reason, "partial": partial}


def _fresh_stash() -> dict | None:
    stash = session.get(STASH_KEY)
    if not isinstance(stash, dict):
        return None
    if utcnow().timestamp() - float(stash.get("at", 0)) > MAX_AGE_SECONDS:
        session.pop(STASH_KEY, None)
        return None
    return stash


def stash_target() -> str | None:
    """Where to go after signing in to find a kept form again."""
    stash = _fresh_stash()
    return stash["url"] if stash else None


def _redirect(url: str):
    if request.headers.get("HX-Request"):
        # htmx would swap the sign-in page into a fragment: ask for a full navigation.
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def _sign_in_for(page_url: str):
    flash(_("Your session had ended. Sign in again: what you entered will be shown again."), "info")
    return _redirect(url_for("auth.sign_in"))


def signed_in_request_without_session():
    """before_request: a page for signed-in people, asked by someone whose session ended."""
    endpoint = request.endpoint
    if _access_of(endpoint) not in SIGNED_IN_KINDS or request_user().is_authenticated:
        return None
    expired = g.pop("session_expired", False)
    if expired:
        logout_user()
        session.pop("sid", None)
    if request.method == "GET":
        if expired:
            flash(_("For your security, your session has ended. Sign in again to continue."), "info")
        return None  # the access decorator sends the person to sign in
    if endpoint == "auth.extend_session":
        return jsonify(signed_in=False, remaining=0), 401
    target = _return_page()
    if target is None:
        return None
    stash_form(target[0], "session")
    return _sign_in_for(target[0])


def keep_form_after_csrf_failure():
    """CSRF error handler: a signed-out person's expired form is kept, not lost.

    Only for a form sent from one of our own pages (Sec-Fetch-Site or Origin):
    a forged cross-site POST must not be able to pre-fill a form for the victim.
    """
    if request.method != "POST" or request.path.startswith("/api/") or not request.form:
        return None
    if current_user.is_authenticated or not _same_origin():
        return None
    target = _return_page()
    if target is None:
        return None
    page_url, endpoint = target
    if _access_of(endpoint) in SIGNED_IN_KINDS:
        stash_form(page_url, "session")
        return _sign_in_for(page_url)
    stash_form(page_url, "expired_form")
    return _redirect(page_url)


def _same_origin() -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return bool(origin) and urlsplit(origin).netloc == request.host


# --- giving back ---------------------------------------------------------------

def restored_formdata() -> MultiDict | None:
    """The kept fields when this GET shows the page they came from (once)."""
    if "restored_formdata" in g:
        return g.restored_formdata
    if request.method != "GET":
        return None
    stash = _fresh_stash()
    if not stash or stash.get("url") != request.full_path.rstrip("?"):
        return None
    session.pop(STASH_KEY, None)
    g.restored_formdata = MultiDict([tuple(pair) for pair in stash.get("fields", [])])
    if stash.get("reason") == "session":
        message = _("Your session had ended. Check what you entered and send the form again.")
    else:
        message = _("For your security, forms expire. Check what you entered and send the form again.")
    if stash.get("partial"):
        message += " " + _("Some of it could not be kept (long texts or files): add it again.")
    flash(message, "warning")
    return g.restored_formdata


def install() -> None:
    """Let Flask-WTF forms built on a GET take kept fields as their form data."""
    global _installed
    if _installed:
        return
    from flask_wtf import form as wtf_form

    original = wtf_form.FlaskForm.Meta.wrap_formdata

    def wrap_formdata(self, form, formdata):
        # _Auto / _is_submitted are Flask-WTF's own markers for "no explicit data".
        if formdata is wtf_form._Auto and not wtf_form._is_submitted():
            restored = restored_formdata()
            if restored is not None:
                return restored
        return original(self, form, formdata)

    wtf_form.FlaskForm.Meta.wrap_formdata = wrap_formdata
    _installed = True
