"""The partner's pages: upload (step 1, step 2 with the summary, confirmation), list, downloads."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import quote

from flask import abort, current_app, flash, g, jsonify, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..access import Right, partner_member
from ..chrome import fragment
from ..extensions import db, limiter
from ..i18n import current_language
from ..links import MARKER
from ..templating import html_text
from . import bp
from . import services as svc
from .checks import ACCEPT_ATTRIBUTE, EXTENSIONS, FileError
from .forms import ConfirmForm, DetailsForm, FilesForm, ListFilterForm
from .listing import DateTimes, FileSizes, link_maker
from .models import UploadStatus

FILTER_KEYS = ("category", "case_number", "date_from", "date_to")


@bp.get("/documents")
@partner_member()
def home():
    """The dashboard tile: the list for those who may see it, else the upload."""
    membership = g.membership
    if not membership.has_right(Right.VIEW_DOCUMENTS) and membership.has_right(Right.UPLOAD_DOCUMENTS):
        return redirect(url_for(".upload", partner_id=g.partner.id))
    return redirect(url_for(".index", partner_id=g.partner.id))


@bp.app_template_global()
def documents_nav(partner) -> Markup:
    """documents/_nav.html, the service's sub-navigation, for this page: rendered once per partner,
    rights shown, page and language (`chrome.fragment`) instead of an include on every page."""
    membership = g.membership
    key = (partner.id, membership.has_right(Right.VIEW_DOCUMENTS), membership.has_right(Right.UPLOAD_DOCUMENTS),
           request.endpoint)
    return fragment("documents_nav", key,
                    lambda: Markup(current_app.jinja_env.get_template("documents/_nav.html").render(partner=partner)))


# --- the list -----------------------------------------------------------------------------

@bp.get("/partners/<int:partner_id>/documents")
@partner_member(Right.VIEW_DOCUMENTS)
def index(partner_id: int):
    """The partner's documents, newest first, with filters (see listing.py for what is computed once)."""
    lang = current_language()
    names = {row.id: _localized_name(row, lang) for row in svc.category_names()}
    args = request.args
    form, valid, category_id, case_number, date_from, date_to = None, True, None, None, None, None
    if any(key in args for key in FILTER_KEYS):
        form = _filter_form(names)
        valid = form.validate()
        fields = _cached_fields(names, form) if valid else _render_filter_fields(form)
        category_id = int(form.category.data) if (form.category.data or "").isdigit() else None
        case_number = svc.normalise_case_number(form.case_number.data)
        date_from, date_to = form.date_from.data, form.date_to.data
        filters = {k: (args.get(k) or "").strip()[:40] for k in FILTER_KEYS if (args.get(k) or "").strip()}
    else:
        fields = _cached_fields(names)
        filters = {}
    page = None
    if valid:
        page = svc.list_rows(g.partner.id, number=args.get("page", 1, type=int), category_id=category_id,
                             case_number=case_number, date_from=date_from, date_to=date_to)
        page.items = _display_rows(page.items, names)
    return render_template("documents/index.html", partner=g.partner, form=form, filter_fields=fields, page=page,
                           filters=filters, can_upload=g.membership.has_right(Right.UPLOAD_DOCUMENTS)), \
        200 if valid else 422


def _localized_name(row, lang: str) -> str:
    """`Category.localized("name")` of a (id, name_fr, name_en, name_de) row."""
    value = getattr(row, f"name_{lang}", None)
    if value:
        return value
    return row.name_fr or row.name_en or row.name_de or ""


def _filter_form(names: dict) -> ListFilterForm:
    form = ListFilterForm(formdata=request.args)
    form.category.choices = [("", _("All categories"))] + [(str(i), name) for i, name in names.items()]
    return form


def _render_filter_fields(form: ListFilterForm) -> Markup:
    return current_app.jinja_env.get_template("documents/_filter_fields.html").module.filter_fields(form)


def _cached_fields(names: dict, form: ListFilterForm | None = None) -> Markup:
    """The filter's fields of a request whose filters are valid (or absent).

    Without errors they depend only on the language, the categories and the values given (the
    fields show them back), so they are a `chrome.fragment`: the page of everyone without filters,
    and the next pages of a search, skip the four macros (about 1.5 M instructions). `form` is the
    validated form, None when the request has no filters (then no form is built at all).
    """
    args = request.args

    def render() -> Markup:
        if form is not None:
            return _render_filter_fields(form)
        fresh = _filter_form(names)
        fresh.validate()
        return _render_filter_fields(fresh)

    return fragment("documents_filter_fields", (tuple(tuple(args.getlist(k)) for k in FILTER_KEYS), *names.items()),
                    render)


def _display_rows(rows, names: dict) -> list[tuple]:
    """What each row shows, in the order the template unpacks it (see documents/index.html).

    Every value is HTML-escaped here (`templating.html_text`), as the template prints the rows with
    autoescape off (Jinja's escape() per cell cost more than the rest of the row): the links and
    category names once per page, the texts of a row once. The ISO date has nothing to escape.
    """
    partner_id = g.partner.id
    download = link_maker(html_text(url_for(".download", partner_id=partner_id, document_id=MARKER)))
    receipt = link_maker(html_text(url_for(".receipt", partner_id=partner_id, upload_id=MARKER)))
    received, sizes = DateTimes("medium"), FileSizes()
    states = _state_tags.setdefault(current_language(), {})
    categories = {category_id: html_text(name) for category_id, name in names.items()}
    api = None
    shown = []
    for (id_, received_at, display_name, size, api_application_id, case_number, category_id, upload_id, status,
         is_test, reference, user_id, first_name, last_name) in rows:
        meta = sizes(size)
        if user_id is not None:
            meta = f"{meta} · {f'{first_name} {last_name}'.strip()}"  # User.full_name
        elif api_application_id:
            meta = f"{meta} · {api or (api := _('API'))}"
        state = states.get((status, is_test))
        if state is None:
            state = states[(status, is_test)] = _state_tag(status, is_test)
        shown.append((received_at.isoformat(), html_text(received(received_at)), download(id_), html_text(display_name),
                      html_text(meta), categories.get(category_id, ""), html_text(case_number), receipt(upload_id),
                      html_text(reference), state))
    return shown


# documents/_macros.html's state_tag per language and kind of row: a handful of texts, rendered
# once per worker (the template does not change while it runs; the debug server renders each time).
_state_tags: dict[str, dict] = {}


def _state_tag(status: str, is_test: bool) -> Markup:
    """documents/_macros.html's state_tag (once per kind of row, not per row)."""
    if current_app.debug:
        _state_tags.clear()
    macros = current_app.jinja_env.get_template("documents/_macros.html").module
    return macros.state_tag(SimpleNamespace(status=status, is_test=is_test))


def attachment_response(document, stream):
    """The file as an attachment that no browser renders or sniffs (RFC 6266 name, sandbox CSP)."""
    response = send_file(stream, mimetype=document.content_type, as_attachment=True,
                         download_name=document.display_name, conditional=False, etag=False, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(document.display_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


def content_disposition(name: str) -> str:
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;%' else "_" for ch in name) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.get("/partners/<int:partner_id>/documents/<int:document_id>/download")
@partner_member(Right.VIEW_DOCUMENTS)
def download(partner_id: int, document_id: int):
    document = svc.get_document(g.partner.id, document_id) or abort(404)
    try:
        stream = svc.open_document(document)
    except FileNotFoundError:
        current_app.logger.error("the file of document %s is missing", document.id)
        abort(404)
    svc.record_download(document, user=current_user)
    db.session.commit()
    return attachment_response(document, stream)


def _acknowledgement(upload):
    from ..pdf import render_pdf

    config = current_app.config
    locale = str(get_locale() or config["DEFAULT_LOCALE"])
    pdf = render_pdf("documents/acknowledgement_pdf.html", locale, upload=upload, partner=upload.partner,
                     documents=svc.upload_documents(upload), agency_name=config["AGENCY_NAME"],
                     contact_address=config["CONTACT_ADDRESS"], contact_email=config["CONTACT_EMAIL"])
    response = make_response(pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="acknowledgement-{upload.reference}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/partners/<int:partner_id>/documents/receipts/<int:upload_id>.pdf")
@partner_member(Right.VIEW_DOCUMENTS)
def receipt(partner_id: int, upload_id: int):
    return _acknowledgement(svc.get_upload(g.partner.id, upload_id) or abort(404))


# --- upload, step 1 ------------------------------------------------------------------------

def _details_form(categories, upload=None) -> DetailsForm:
    form = DetailsForm(obj=None)
    form.category.choices = [(str(c.id), c.localized("name")) for c in categories]
    if upload is not None and request.method == "GET":
        form.category.data = str(upload.category_id)
        form.case_number.data = upload.case_number
    return form


@bp.route("/partners/<int:partner_id>/documents/upload", methods=["GET", "POST"])
@partner_member(Right.UPLOAD_DOCUMENTS)
def upload(partner_id: int):
    categories = svc.active_categories()
    form = _details_form(categories)
    if form.validate_on_submit():
        category = svc.active_category(form.category.data)
        if category is None:
            form.category.errors.append(_("Select the category of the documents"))
        else:
            draft = svc.create_draft(g.partner.id, current_user, category, svc.normalise_case_number(form.case_number.data))
            db.session.commit()
            return redirect(url_for(".draft", partner_id=g.partner.id, upload_id=draft.id))
    status = 422 if form.errors else 200
    return render_template("documents/step1.html", partner=g.partner, form=form, categories=categories,
                           upload=None), status


def _draft_or_received_404(upload_id: int):
    draft = svc.get_draft(g.partner.id, upload_id, current_user)
    if draft is None:
        received = svc.get_upload(g.partner.id, upload_id)
        if received is not None:
            return None, redirect(url_for(".draft", partner_id=g.partner.id, upload_id=upload_id))
        abort(404)
    return draft, None


@bp.route("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/details", methods=["GET", "POST"])
@partner_member(Right.UPLOAD_DOCUMENTS)
def details(partner_id: int, upload_id: int):
    draft, done = _draft_or_received_404(upload_id)
    if done:
        return done
    categories = svc.active_categories()
    form = _details_form(categories, draft)
    if form.validate_on_submit():
        category = svc.active_category(form.category.data)
        if category is None:
            form.category.errors.append(_("Select the category of the documents"))
        else:
            svc.change_draft(draft, category, svc.normalise_case_number(form.case_number.data))
            db.session.commit()
            return redirect(url_for(".draft", partner_id=g.partner.id, upload_id=draft.id))
    status = 422 if form.errors else 200
    return render_template("documents/step1.html", partner=g.partner, form=form, categories=categories,
                           upload=draft), status


# --- upload, step 2: files, summary, send ------------------------------------------------------

def _summary(draft, form: FilesForm, status: int = 200, errors: list[FileError] | None = None):
    errors = svc.draft_rejections(draft) if errors is None else errors
    for error in errors:
        form.form_errors.append(error.message)
    return render_template(
        "documents/step2.html", partner=g.partner, upload=draft, form=form, rejected=errors,
        documents=svc.upload_documents(draft), confirm_form=ConfirmForm(), accept=ACCEPT_ATTRIBUTE,
        extensions=", ".join(EXTENSIONS), max_files=svc.max_files(),
        max_megabytes=f"{svc.max_bytes() / (1024 * 1024):g}",
    ), status


@bp.get("/partners/<int:partner_id>/documents/uploads/<int:upload_id>")
@partner_member(Right.UPLOAD_DOCUMENTS)
def draft(partner_id: int, upload_id: int):
    upload = svc.get_upload(g.partner.id, upload_id)
    if upload is not None:
        return render_template("documents/confirmation.html", partner=g.partner, upload=upload,
                               documents=svc.upload_documents(upload),
                               can_view=g.membership.has_right(Right.VIEW_DOCUMENTS))
    draft = svc.get_draft(g.partner.id, upload_id, current_user) or abort(404)
    return _summary(draft, FilesForm())


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/files")
@partner_member(Right.UPLOAD_DOCUMENTS)
@limiter.limit("120/hour", methods=["POST"])
def add_files(partner_id: int, upload_id: int):
    draft, done = _draft_or_received_404(upload_id)
    if done:
        return done
    form = FilesForm()
    if not form.validate_on_submit():
        abort(400)
    incoming = [svc.IncomingFile(name=f.filename, stream=f.stream) for f in request.files.getlist("files") if f.filename]
    if not incoming:
        form.files.errors = [_("Choose at least one file to upload")]
        if _wants_json():
            return jsonify(accepted=[], rejected=[{"name": "", "message": form.files.errors[0]}]), 422
        return _summary(draft, form, 422, errors=[])
    accepted, errors = svc.stage_files(draft, incoming, append=form.append.data == "1")
    db.session.commit()
    if _wants_json():
        return jsonify(accepted=[{"id": d.id, "name": d.display_name} for d in accepted],
                       rejected=[{"name": e.name, "message": str(e.message)} for e in errors]), 422 if errors else 200
    if errors:
        return _summary(draft, FilesForm(formdata=None), 422, errors=errors)
    flash(_("Files added: %(count)s.", count=len(accepted)), "success")
    return redirect(url_for(".draft", partner_id=g.partner.id, upload_id=draft.id))


@bp.post("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/files/<int:document_id>/remove")
@partner_member(Right.UPLOAD_DOCUMENTS)
def remove_file(partner_id: int, upload_id: int, document_id: int):
    draft, done = _draft_or_received_404(upload_id)
    if done:
        return done
    if not ConfirmForm().validate_on_submit():
        abort(400)
    removed = svc.remove_staged(draft, document_id) or abort(404)
    db.session.commit()
    flash(_("%(name)s was removed.", name=removed.display_name), "success")
    return redirect(url_for(".draft", partner_id=g.partner.id, upload_id=draft.id))


@bp.post("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/send")
@partner_member(Right.UPLOAD_DOCUMENTS)
def send(partner_id: int, upload_id: int):
    draft, done = _draft_or_received_404(upload_id)
    if done:
        return done
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not svc.send_draft(draft, current_user):
        db.session.rollback()
        form = FilesForm(formdata=None)
        form.files.errors = [_("Choose at least one file to upload")]
        return _summary(draft, form, 422, errors=[])
    db.session.commit()
    return redirect(url_for(".draft", partner_id=g.partner.id, upload_id=draft.id))


@bp.post("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/cancel")
@partner_member(Right.UPLOAD_DOCUMENTS)
def cancel(partner_id: int, upload_id: int):
    draft, done = _draft_or_received_404(upload_id)
    if done:
        return done
    if not ConfirmForm().validate_on_submit():
        abort(400)
    svc.cancel_draft(draft)
    db.session.commit()
    flash(_("The upload was cancelled. No document was sent."), "info")
    return redirect(url_for(".upload", partner_id=g.partner.id))


@bp.get("/partners/<int:partner_id>/documents/uploads/<int:upload_id>/acknowledgement.pdf")
@partner_member(Right.UPLOAD_DOCUMENTS)
def acknowledgement(partner_id: int, upload_id: int):
    upload = svc.get_upload(g.partner.id, upload_id) or abort(404)
    if upload.status != UploadStatus.RECEIVED:
        abort(404)
    return _acknowledgement(upload)
