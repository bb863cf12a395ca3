"""API self-service pages: applications of the partner acted for, their keys (shown once), rotate, revoke, webhook."""
from __future__ import annotations

import json

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..access import Right, partner_member, public
from ..account.services import password_matches
from ..account.views import SENSITIVE_LIMIT
from ..extensions import db, limiter
from . import bp, services, webhooks
from .forms import ApplicationForm, DownloadForm, PasswordAgainForm, WebhookForm

MANAGE = Right.MANAGE_API


def _application_or_404(application_id: int):
    if application_id > 2**31 - 1:  # beyond the integer column: PostgreSQL would refuse the query
        abort(404)
    application = services.get_application(g.partner.id, application_id)
    if application is None:
        abort(404)
    return application


def _password_ok(form) -> bool:
    """The re-asked password; a wrong one is audited (and committed) and shown next to the field."""
    if password_matches(current_user, form.password.data):
        return True
    db.session.commit()
    form.password.errors = list(form.password.errors) + [_("The password is not right. Enter your current password")]
    return False


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/partners/<int:partner_id>/api")
@partner_member(MANAGE)
def self_service(partner_id: int):
    return render_template("api/index.html", partner=g.partner, applications=services.applications_of(g.partner.id),
                           scopes=services.SCOPES)


@bp.route("/partners/<int:partner_id>/api/new", methods=["GET", "POST"])
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def create(partner_id: int):
    form = ApplicationForm()
    if request.method == "GET":
        form.environment.data = "test"
    if form.validate_on_submit() and _password_ok(form):
        application = services.create_application(current_user, g.partner, name=form.name.data,
                                                  description=form.description.data, scopes=form.scopes.data,
                                                  environment=form.environment.data)
        db.session.commit()
        return redirect(url_for("api.keys", partner_id=partner_id, application_id=application.id), 303)
    form.password.data = ""
    status = 422 if form.errors else 200
    return render_template("api/new.html", partner=g.partner, form=form), status


@bp.get("/partners/<int:partner_id>/api/<int:application_id>")
@partner_member(MANAGE)
def detail(partner_id: int, application_id: int):
    application = _application_or_404(application_id)
    return render_template("api/detail.html", partner=g.partner, application=application, scopes=services.SCOPES,
                           deliveries=webhooks.deliveries_of(application))


@bp.get("/partners/<int:partner_id>/api/<int:application_id>/keys")
@partner_member(MANAGE)
def keys(partner_id: int, application_id: int):
    """The keys, once: the first view claims them (conditional UPDATE); any later view says they are gone."""
    application = _application_or_404(application_id)
    kind = application.reveal_kind
    if kind not in ("credentials", "webhook") or not services.claim_reveal(current_user, application, kind):
        db.session.rollback()
        return _no_store(render_template("api/keys_gone.html", partner=g.partner, application=application)), 410
    if kind == "webhook":
        from ..audit import record

        record("api.webhook_secrets_shown", partner_id=g.partner.id, object_type="api_application",
               object_id=application.id)
        db.session.commit()
        return _no_store(render_template("api/webhook_keys.html", partner=g.partner, application=application,
                                         bearer=webhooks.bearer_secret(application),
                                         signing=webhooks.signing_secret(application)))
    credentials = services.issue_credentials(current_user, g.partner, application)
    ticket = services.new_download_ticket(current_user, application)
    db.session.commit()
    form = DownloadForm(formdata=None, ticket=ticket, client_secret=credentials.client_secret,
                        access_token=credentials.access_token, refresh_token=credentials.refresh_token)
    return _no_store(render_template("api/keys.html", partner=g.partner, application=application,
                                     credentials=credentials, form=form))


@bp.post("/partners/<int:partner_id>/api/<int:application_id>/keys/download")
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT)
def download(partner_id: int, application_id: int):
    """The keys just shown, as a JSON file: once, within 10 minutes, only with this page's ticket."""
    application = _application_or_404(application_id)
    form = DownloadForm()
    if not form.validate_on_submit():
        abort(400)
    if not (services.credentials_match(application, form.client_secret.data, form.access_token.data,
                                       form.refresh_token.data)
            and services.use_download_ticket(current_user, application, form.ticket.data)):
        db.session.rollback()
        return _no_store(render_template("api/keys_gone.html", partner=g.partner, application=application,
                                         download=True)), 410
    db.session.commit()
    body = {
        "application": application.name, "environment": application.environment,
        "token_endpoint": url_for("api.v1.token", _external=True), "client_id": application.client_id,
        "client_secret": form.client_secret.data, "access_token": form.access_token.data,
        "refresh_token": form.refresh_token.data, "scopes": application.scopes.split(),
    }
    response = _no_store(json.dumps(body, indent=2) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="api-keys-{application.client_id}.json"'
    return response


def _password_action(application_id: int, template: str, action, done_message: str, endpoint: str = "api.detail"):
    application = _application_or_404(application_id)
    if not application.is_active:
        abort(404)
    form = PasswordAgainForm()
    if form.validate_on_submit() and _password_ok(form):
        action(current_user, g.partner, application)
        db.session.commit()
        if done_message:
            flash(done_message, "success")
        return redirect(url_for(endpoint, partner_id=g.partner.id, application_id=application.id), 303)
    form.password.data = ""
    return render_template(template, partner=g.partner, application=application, form=form), 422 if form.errors else 200


@bp.route("/partners/<int:partner_id>/api/<int:application_id>/rotate", methods=["GET", "POST"])
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def rotate(partner_id: int, application_id: int):
    return _password_action(application_id, "api/rotate.html", services.rotate_secret, "", endpoint="api.keys")


@bp.route("/partners/<int:partner_id>/api/<int:application_id>/revoke", methods=["GET", "POST"])
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def revoke(partner_id: int, application_id: int):
    return _password_action(application_id, "api/revoke.html", services.revoke_application,
                            _("The application was revoked. Its keys no longer work."))


@bp.route("/partners/<int:partner_id>/api/<int:application_id>/webhook", methods=["GET", "POST"])
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT, methods=["POST"])
def webhook(partner_id: int, application_id: int):
    application = _application_or_404(application_id)
    if not application.is_active:
        abort(404)
    form = WebhookForm()
    if request.method == "GET":
        form.url.data = application.webhook_url or ""
    if form.validate_on_submit() and _password_ok(form):
        services.set_webhook(current_user, g.partner, application, form.url.data.strip())
        db.session.commit()
        return redirect(url_for("api.keys", partner_id=partner_id, application_id=application.id), 303)
    form.password.data = ""
    return render_template("api/webhook.html", partner=g.partner, application=application, form=form, set_form=form,
                           remove_form=PasswordAgainForm(formdata=None, prefix="remove")), 422 if form.errors else 200


@bp.post("/partners/<int:partner_id>/api/<int:application_id>/webhook/remove")
@partner_member(MANAGE)
@limiter.limit(SENSITIVE_LIMIT)
def webhook_remove(partner_id: int, application_id: int):
    application = _application_or_404(application_id)
    if not application.is_active or not application.webhook_url:
        abort(404)
    form = PasswordAgainForm(prefix="remove")
    if form.validate_on_submit() and _password_ok(form):
        services.set_webhook(current_user, g.partner, application, None)
        db.session.commit()
        flash(_("The webhook was removed."), "success")
        return redirect(url_for("api.detail", partner_id=partner_id, application_id=application.id), 303)
    form.password.data = ""
    webhook_form = WebhookForm(formdata=None, url=application.webhook_url)
    return render_template("api/webhook.html", partner=g.partner, application=application, form=form,
                           set_form=webhook_form, remove_form=form), 422


@bp.get("/api/reference")
@public
def reference():
    from .problems import PROBLEMS

    return render_template("api/reference.html", base=url_for("api.v1.token", _external=True).rsplit("/token", 1)[0],
                           scopes=services.SCOPES, problem_titles={code: p[1] for code, p in PROBLEMS.items()})
