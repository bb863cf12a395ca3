"""Public pages: anyone may read them."""
from __future__ import annotations

import re

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import public
from ..extensions import db, limiter
from . import bp
from .forms import FeedbackForm
from .services import current_terms, latest_news, leave_feedback, published_news_item, safe_page_url

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@bp.get("/")
@public
def home():
    return render_template("public/home.html", news=latest_news())


@bp.get("/news/<int:news_id>")
@public
def news_item(news_id: int):
    item = published_news_item(news_id)
    if item is None:
        abort(404)
    return render_template("public/news_item.html", item=item)


@bp.get("/help")
@public
def help():
    return render_template("public/help.html")


@bp.get("/contact")
@public
def contact():
    return render_template("public/contact.html")


@bp.get("/accessibility")
@public
def accessibility():
    return render_template("public/accessibility.html")


@bp.get("/privacy")
@public
def privacy():
    return render_template("public/privacy.html")


@bp.get("/terms-of-use")
@public
def terms():
    return render_template("public/terms.html", terms=current_terms())


@bp.route("/feedback", methods=["GET", "POST"])
@public
@limiter.limit("20/hour", methods=["POST"])
def feedback():
    form = FeedbackForm()
    if request.method == "GET":
        form.page.data = safe_page_url(request.args.get("page"))
    if form.validate_on_submit():
        leave_feedback(current_user, form.page.data, form.text.data)
        db.session.commit()
        flash(_("Thank you. Your feedback has been sent to the agency."), "success")
        return redirect(safe_page_url(form.page.data))
    status = 422 if form.errors else 200
    return render_template("public/feedback.html", form=form), status


@bp.get("/theme.css")
@public
def theme_css():
    # The agency's colour is configuration; a stylesheet keeps it out of inline styles (CSP).
    colour = current_app.config["AGENCY_COLOUR"]
    if not _COLOUR.match(colour or ""):
        colour = "#0b4f6c"
    response = make_response(f":root {{ --brand: {colour}; }}\n")
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/healthz")
@public
def healthz():
    response = make_response("ok\n")
    response.mimetype = "text/plain"
    return response
