"""Sign-up, confirmation of the address, acceptance of the terms of use."""
from __future__ import annotations

from flask import redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..account.models import User, normalise_email
from ..audit import record
from ..auth import tokens
from ..auth.passwords import hash_password
from ..auth.services import find_user_by_email
from ..auth.models import TermsAcceptance
from ..db import utcnow
from ..extensions import db
from ..mail import queue_mail
from ..public.models import TermsVersion
from ..public.services import current_terms

TERMS_PENDING = "terms_pending"


def _send_confirmation(user: User) -> None:
    token = tokens.issue(user, tokens.CONFIRM_EMAIL)
    queue_mail(user.email, "onboarding_confirm_email", user.locale, name=user.full_name,
               link=url_for("onboarding.confirm_email", token=token))


def _ip() -> str | None:
    return (request.remote_addr or "")[:45] or None


def sign_up(email: str, first_name: str, last_name: str, password: str, locale: str) -> User | None:
    """Create an unconfirmed account and e-mail the confirmation link (24 hours).

    When the address already has an account nothing is created: its owner gets a
    note instead. The caller answers the same either way (no enumeration), and
    the password is hashed either way so that both take as long.
    """
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is None:
        user = User(email=email, email_normalized=normalise_email(email), password_hash=password_hash,
                    first_name=first_name, last_name=last_name, locale=locale)
        try:
            with db.session.begin_nested():
                db.session.add(user)
                db.session.flush()
        except IntegrityError:  # created meanwhile by a parallel sign-up
            existing = find_user_by_email(email)
        else:
            terms = current_terms()
            if terms is not None:
                db.session.add(TermsAcceptance(user_id=user.id, terms_version_id=terms.id, ip_address=_ip()))
            _send_confirmation(user)
            record("onboarding.account_created", actor=user, subject_user_id=user.id,
                   details={"terms_version": terms.version if terms else None})
            return user
    queue_mail(existing.email, "onboarding_existing_account", existing.locale, name=existing.full_name,
               sign_in_link=url_for("auth.sign_in"), reset_link=url_for("auth.forgot_password"))
    record("onboarding.sign_up_with_existing_address", actor=None, subject_user_id=existing.id)
    return None


def confirm_email(token: str) -> tuple[str, User | None]:
    """("confirmed", user), ("already", user) for a used link of a confirmed address, or ("invalid", None)."""
    user = tokens.consume(token, tokens.CONFIRM_EMAIL)
    if user is not None:
        if user.email_confirmed_at is None:
            user.email_confirmed_at = utcnow()
            record("onboarding.email_confirmed", actor=user, subject_user_id=user.id)
        return "confirmed", user
    row = tokens.find(token, tokens.CONFIRM_EMAIL)
    if row is not None and row.used_at is not None:
        user = db.session.get(User, row.user_id)
        if user is not None and user.email_confirmed_at is not None:
            return "already", user
    return "invalid", None


def resend_confirmation(user: User) -> None:
    """A new link; the previous one stops working."""
    _send_confirmation(user)
    record("onboarding.confirmation_resent", actor=user, subject_user_id=user.id)


# --- terms of use ---------------------------------------------------------------

def has_accepted(user: User, terms: TermsVersion) -> bool:
    return db.session.execute(
        select(TermsAcceptance.id).where(TermsAcceptance.user_id == user.id,
                                         TermsAcceptance.terms_version_id == terms.id).limit(1)
    ).first() is not None


def terms_to_accept(user: User) -> TermsVersion | None:
    """The current terms when `user` has not accepted them yet."""
    terms = current_terms()
    if terms is None or has_accepted(user, terms):
        return None
    return terms


def note_terms_at_sign_in(user: User) -> None:
    """At sign-in: remember when newer terms must be accepted before anything else."""
    terms = terms_to_accept(user)
    if terms is not None:
        session[TERMS_PENDING] = terms.id


def accept_terms(user: User, terms: TermsVersion) -> None:
    if not has_accepted(user, terms):
        db.session.add(TermsAcceptance(user_id=user.id, terms_version_id=terms.id, ip_address=_ip()))
        record("onboarding.terms_accepted", actor=user, subject_user_id=user.id, details={"version": terms.version})
        db.session.flush()
    session.pop(TERMS_PENDING, None)


def terms_gate():
    """Signed-in gate: terms published since the last acceptance are accepted first.

    Checked at sign-in (`note_terms_at_sign_in`), as the issue asks: a version
    published during a session is asked for at the next sign-in.
    """
    if not session.get(TERMS_PENDING) or request.endpoint == "onboarding.accept_terms":
        return None
    if request.method == "GET":
        return redirect(url_for("onboarding.accept_terms", next=request.full_path.rstrip("?")))
    return redirect(url_for("onboarding.accept_terms"))
