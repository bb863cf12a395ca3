"""Who may call a route.

Every view carries exactly one of these decorators; `create_app` refuses to
start when a route has none (and a test walks `app.url_map` too). The
decorator records its kind on the view as `view.access`, so tools can list
who may call what.

- `public`: anyone.
- `second_factor_pending`: a person who gave a correct password (or just
  confirmed their address) and must now give or enrol the second factor.
- `signed_in`: a fully signed-in person (password + second factor, address
  confirmed, current terms of use accepted).
- `partner_member(right)`, `partner_admin`: a signed-in member of the partner
  acted for; resolved by the partners area (`register_partner_resolver`).
- `staff(permission)`: a signed-in staff member holding `permission`.
- `api_token(scope)`: a B2B call with a bearer token holding `scope`;
  resolved by the api area (`register_token_resolver`).
"""
from __future__ import annotations

import enum
from functools import wraps
from typing import Callable

from flask import abort, g, jsonify, redirect, request, url_for

from .current import request_user

ACCESS_KINDS = (
    "public",
    "second_factor_pending",
    "signed_in",
    "partner_member",
    "partner_admin",
    "staff",
    "api_token",
)


class StaffPermission(str, enum.Enum):
    """What a staff member may do in the back office."""

    SUPPORT = "support"  # find users, unlock, reset second factor
    LETTERS = "letters"  # print verification letters
    PARTNERS = "partners"  # verify manual entries, suspend partners
    ROLES = "roles"  # review role requests, manage the role catalogue
    CONTENT = "content"  # news, notices, terms of use
    FEEDBACK = "feedback"  # read feedback on pages
    DOCUMENTS = "documents"  # documents received


class Right(str, enum.Enum):
    """What a member may do inside a partner (administrators hold them all)."""

    VIEW_DOCUMENTS = "view_documents"
    UPLOAD_DOCUMENTS = "upload_documents"
    MANAGE_API = "manage_api"
    CREATE_CERTIFICATES = "create_certificates"
    SEND_MESSAGES = "send_messages"
    VIEW_PAYMENTS = "view_payments"


# Checks that a signed-in person must pass before anything else (confirmed
# address, enrolled second factor, accepted terms). Each returns a response
# (usually a redirect) when the person must do something first, else None.
_signed_in_gates: list[Callable] = []
_partner_resolver: Callable | None = None
# Checks after the partner is resolved (e.g. "a role of the partner opens this
# service"): `gate(partner, membership, right)` returns a response or None.
_partner_gates: list[Callable] = []
_token_resolver: Callable | None = None


def register_signed_in_gate(gate: Callable) -> None:
    if gate not in _signed_in_gates:
        _signed_in_gates.append(gate)


def register_partner_resolver(resolver: Callable) -> None:
    """`resolver(user, right, admin_only)` returns the partner acted for or aborts."""
    global _partner_resolver
    _partner_resolver = resolver


def register_partner_gate(gate: Callable) -> None:
    if gate not in _partner_gates:
        _partner_gates.append(gate)


def register_token_resolver(resolver: Callable) -> None:
    """`resolver(scope)` returns the token's application or a problem response."""
    global _token_resolver
    _token_resolver = resolver


def _mark(view: Callable, kind: str, detail: str | None = None) -> Callable:
    if getattr(view, "access", None):
        raise TypeError(f"{view.__name__} already declares access {view.access!r}")
    view.access = kind
    view.access_detail = detail
    if kind in ("partner_member", "partner_admin"):
        view.acts_for_partner = True
    return view


def acts_for_partner(view: Callable) -> Callable:
    """Marks a signed-in view that shows the partner acted for (the dashboard): like the partner
    routes, its session statement then reads that membership too (auth.sessions)."""
    view.acts_for_partner = True
    return view


def _sign_in_redirect():
    if request.method == "GET":
        return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.sign_in"))


def _run_gates():
    for gate in _signed_in_gates:
        response = gate()
        if response is not None:
            return response
    return None


def public(view: Callable) -> Callable:
    return _mark(view, "public")


def second_factor_pending(view: Callable) -> Callable:
    from .auth.sessions import pending_user  # the auth area owns that state

    @wraps(view)
    def wrapper(*args, **kwargs):
        if pending_user() is None:
            return _sign_in_redirect()
        return view(*args, **kwargs)

    return _mark(wrapper, "second_factor_pending")


def signed_in(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not request_user().is_authenticated:
            return _sign_in_redirect()
        response = _run_gates()
        if response is not None:
            return response
        return view(*args, **kwargs)

    return _mark(wrapper, "signed_in")


def _partner_decorator(kind: str, right: Right | None, admin_only: bool):
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = request_user()
            if not user.is_authenticated:
                return _sign_in_redirect()
            response = _run_gates()
            if response is not None:
                return response
            if _partner_resolver is None:
                abort(404)
            result = _partner_resolver(user, right, admin_only)
            if not isinstance(result, tuple) or len(result) != 2:
                return result  # a response explaining what is missing
            g.partner, g.membership = result
            for gate in _partner_gates:
                response = gate(g.partner, g.membership, right)
                if response is not None:
                    return response
            return view(*args, **kwargs)

        return _mark(wrapper, kind, right.value if right else None)

    return decorator


def partner_member(right: Right | None = None):
    return _partner_decorator("partner_member", right, admin_only=False)


def partner_admin(view: Callable) -> Callable:
    return _partner_decorator("partner_admin", None, admin_only=True)(view)


def staff(permission: StaffPermission | None = None):
    """A staff member; with `permission`, one who holds it."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = request_user()
            if not user.is_authenticated:
                return _sign_in_redirect()
            response = _run_gates()
            if response is not None:
                return response
            if not user.is_staff:
                abort(404)  # the back office does not exist for others
            if permission is not None and not user.has_staff_permission(permission):
                abort(403)
            return view(*args, **kwargs)

        return _mark(wrapper, "staff", permission.value if permission else None)

    return decorator


def api_token(scope: str):
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if _token_resolver is None:
                response = jsonify(title="Unauthorized", status=401)
                response.status_code = 401
                response.mimetype = "application/problem+json"
                return response
            result = _token_resolver(scope)
            if not getattr(result, "is_api_application", False):
                return result
            g.api_application = result
            return view(*args, **kwargs)

        return _mark(wrapper, "api_token", scope)

    return decorator


def undeclared_routes(app) -> list[str]:
    """Endpoints of `app` whose view declares no access (Flask's static is public)."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions.get(rule.endpoint)
        if getattr(view, "access", None) not in ACCESS_KINDS:
            missing.append(rule.endpoint)
    return sorted(set(missing))
