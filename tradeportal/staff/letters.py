"""Back office: the queue of verification letters, one PDF of all pending letters, marking them posted."""
from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import StaffPermission, staff
from ..db import utcnow
from ..extensions import db
from ..partners.forms import ConfirmForm
from ..partners.letters import mark_posted, pending_letters, render_letters_pdf
from . import bp, register_menu

register_menu("staff.letters", _l("Verification letters"), StaffPermission.LETTERS)


@bp.get("/letters")
@staff(StaffPermission.LETTERS)
def letters():
    pending = pending_letters()
    upto = pending[-1].id if pending else 0
    return render_template("staff/letters.html", letters=pending, upto=upto, form=ConfirmForm())


@bp.get("/letters/letters.pdf")
@staff(StaffPermission.LETTERS)
def letters_pdf():
    upto = request.args.get("upto", type=int)
    pending = pending_letters(upto)
    if not pending:
        abort(404)
    pdf = render_letters_pdf(pending, str(get_locale() or "fr"))
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="verification-letters-{utcnow():%Y%m%d-%H%M}.pdf"'
    response.headers["Cache-Control"] = "no-store"  # it carries one-time codes
    return response


@bp.post("/letters/posted")
@staff(StaffPermission.LETTERS)
def letters_posted():
    form = ConfirmForm()
    upto = request.form.get("upto", type=int)
    if not form.validate_on_submit() or upto is None:
        abort(400)
    count = mark_posted(current_user, upto)
    db.session.commit()
    flash(_("Letters marked as posted: %(count)s. Their codes are no longer stored.", count=count), "success")
    return redirect(url_for("staff.letters"))
