"""The activity history: a person's own sign-ins, failures, lockouts and security changes.

Read from the audit trail (`subject_user_id` = the person), one bounded query
per page. Each action code has a label in plain words; codes that another area
adds later show a generic label until they get one here.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit import AuditEvent
from ..pagination import Page, paginate

ACTION_LABELS = {
    # Signing in
    "auth.signed_in": _l("Signed in"),
    "auth.password_failed": _l("Sign-in refused: wrong password"),
    "auth.second_factor_failed": _l("Sign-in refused: wrong code from the authenticator app"),
    "auth.recovery_code_used": _l("Signed in with a recovery code"),
    "auth.locked": _l("User account locked after too many failed attempts"),
    "auth.account_locked": _l("User account locked after too many failed attempts"),
    "auth.sign_in_refused_locked": _l("Sign-in refused: the user account is locked"),
    "auth.password_reset_requested": _l("Password reset requested"),
    "auth.password_reset": _l("Password reset with an e-mail link"),
    "auth.second_factor_enrolled": _l("Authenticator app set up"),
    # Creating the account
    "onboarding.account_created": _l("User account created"),
    "onboarding.confirmation_resent": _l("Confirmation link sent again"),
    "onboarding.email_confirmed": _l("E-mail address confirmed"),
    "onboarding.sign_up_with_existing_address": _l("Someone tried to create a user account with your address"),
    "onboarding.terms_accepted": _l("Terms of use accepted"),
    # Changes made by the person
    "account.profile_updated": _l("Profile changed"),
    "account.reauthentication_failed": _l("Wrong password given for a security change"),
    "account.email_change_requested": _l("Change of e-mail address requested"),
    "account.email_changed": _l("E-mail address changed"),
    "account.password_changed": _l("Password changed"),
    "account.authenticator_replaced": _l("Authenticator app replaced"),
    "account.recovery_codes_regenerated": _l("New recovery codes made"),
    "account.session_ended": _l("A session was signed out"),
    "account.signed_out_everywhere": _l("Signed out everywhere"),
    # Done by the agency
    "support.account_unlocked": _l("User account unlocked by the agency"),
    "support.second_factor_reset": _l("Two-factor authentication reset by the agency"),
    "staff.account_created": _l("Staff access given by the agency"),
}
GENERIC_LABEL = _l("Other activity on your user account")


def action_label(action: str):
    return ACTION_LABELS.get(action, GENERIC_LABEL)


def history_page(user, number: int) -> Page:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.subject_user_id == user.id)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    )
    return paginate(stmt, number)
