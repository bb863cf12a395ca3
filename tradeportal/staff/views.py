"""The agency's back office."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..access import StaffPermission, staff
from ..extensions import db
from . import bp
from .services import feedback_page, mark_feedback_read


@bp.get("/")
@staff()
def index():
    return render_template("staff/index.html")


@bp.get("/feedback")
@staff(StaffPermission.FEEDBACK)
def feedback():
    page = feedback_page(request.args.get("page", 1, type=int), unread_only=request.args.get("show") == "unread")
    return render_template("staff/feedback.html", page=page, show=request.args.get("show", "all"))


@bp.post("/feedback/<int:feedback_id>/read")
@staff(StaffPermission.FEEDBACK)
def feedback_read(feedback_id: int):
    if not mark_feedback_read(feedback_id):
        abort(404)
    db.session.commit()
    flash(_("Feedback marked as read."), "success")
    return redirect(url_for("staff.feedback", page=request.form.get("page", 1, type=int)))
