"""Back office, user support: find a person, see their account, unlock it, reset the second factor.

Every action asks for a reason, is audited (actor: the staff member, subject:
the person) and tells the person by e-mail in their language.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..access import StaffPermission, staff
from ..account import services as account_services
from ..account.models import User
from ..auth.models import RecoveryCode, UserSession
from ..db import utcnow
from ..extensions import db
from ..pagination import Page, paginate
from . import bp, register_menu


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(message=_l("Enter the reason for this action")),
        Length(max=500, message=_l("The reason must be 500 characters or fewer")),
    ])


# --- queries --------------------------------------------------------------------

def find_users(query: str, number: int) -> Page | None:
    """People whose e-mail address or name contains `query` (None when nothing was asked)."""
    query = " ".join((query or "").split())[:100]
    if not query:
        return None
    needle = query.lower()
    full_name = func.lower(User.first_name + " " + User.last_name)
    stmt = (
        select(User)
        .where(or_(User.email_normalized.contains(needle, autoescape=True), full_name.contains(needle, autoescape=True)))
        .order_by(User.last_name, User.first_name, User.id)
    )
    return paginate(stmt, number)


def account_status(user: User) -> dict:
    now = utcnow()
    last_sign_in = db.session.execute(
        select(func.max(UserSession.created_at)).where(UserSession.user_id == user.id)
    ).scalar_one_or_none()
    codes = db.session.execute(
        select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()
    return {
        "locked": user.locked_until is not None and user.locked_until > now,
        "last_sign_in": last_sign_in,
        "unused_codes": codes,
    }


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


# --- views ----------------------------------------------------------------------

@bp.get("/users")
@staff(StaffPermission.SUPPORT)
def support_users():
    query = request.args.get("q", "")
    page = find_users(query, request.args.get("page", 1, type=int))
    return render_template("staff/support_users.html", query=query, page=page, now=utcnow())


def _render_user(user, unlock_form=None, reset_form=None, status=200):
    unlock_form = unlock_form or ReasonForm(prefix="unlock", formdata=None)
    reset_form = reset_form or ReasonForm(prefix="reset", formdata=None)
    failing = unlock_form if unlock_form.errors else reset_form if reset_form.errors else None
    return render_template("staff/support_user.html", person=user, info=account_status(user), now=utcnow(),
                           unlock_form=unlock_form, reset_form=reset_form, form=failing), status


@bp.get("/users/<int:user_id>")
@staff(StaffPermission.SUPPORT)
def support_user(user_id: int):
    return _render_user(_user_or_404(user_id))


@bp.post("/users/<int:user_id>/unlock")
@staff(StaffPermission.SUPPORT)
def support_unlock(user_id: int):
    user = _user_or_404(user_id)
    form = ReasonForm(prefix="unlock")
    if not form.validate_on_submit():
        return _render_user(user, unlock_form=form, status=422)
    account_services.unlock_account(current_user, user, form.reason.data.strip())
    db.session.commit()
    flash(_("The user account of %(name)s was unlocked. We told them by e-mail.", name=user.full_name), "success")
    return redirect(url_for("staff.support_user", user_id=user.id))


@bp.post("/users/<int:user_id>/reset-second-factor")
@staff(StaffPermission.SUPPORT)
def support_reset_second_factor(user_id: int):
    user = _user_or_404(user_id)
    form = ReasonForm(prefix="reset")
    valid = form.validate_on_submit()
    if valid and user.id == current_user.id:
        form.reason.errors.append(_("You cannot reset your own two-factor authentication here. Use your security page"))
        valid = False
    if not valid:
        return _render_user(user, reset_form=form, status=422)
    account_services.reset_second_factor(current_user, user, form.reason.data.strip())
    db.session.commit()
    flash(_("The two-factor authentication of %(name)s was reset and every session signed out. We told them by e-mail.", name=user.full_name), "success")
    return redirect(url_for("staff.support_user", user_id=user.id))


register_menu("staff.support_users", _l("User support"), StaffPermission.SUPPORT)
