"""Back office: documents received (filter, download, mark processed) and the categories of documents."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import StaffPermission, staff
from ..documents import services as svc
from ..documents import staff_services as staff_svc
from ..documents.forms import CategoryForm, ConfirmForm, StaffFilterForm
from ..documents.models import Category
from ..documents.views import attachment_response
from ..extensions import db
from ..pagination import paginate
from . import bp, register_menu

register_menu("staff.documents", _l("Documents received"), StaffPermission.DOCUMENTS)
register_menu("staff.document_categories", _l("Document categories"), StaffPermission.DOCUMENTS)

FILTER_KEYS = ("state", "partner", "category", "case_number", "page")


def _list_query(source) -> str:
    pairs = [(k, (source.get(k) or "").strip()[:100]) for k in FILTER_KEYS if (source.get(k) or "").strip()]
    return urlencode(pairs)


@bp.get("/documents")
@staff(StaffPermission.DOCUMENTS)
def documents():
    form = StaffFilterForm(formdata=request.args)
    form.category.choices = [("", _("All categories"))] + [(str(c.id), c.localized("name")) for c in svc.all_categories()]
    valid = form.validate()
    page = None
    state = form.state.data if form.state.data in staff_svc.STATES else "received"
    if valid:
        category_id = int(form.category.data) if (form.category.data or "").isdigit() else None
        stmt = staff_svc.staff_query(state=state, partner=form.partner.data or "", category_id=category_id,
                                     case_number=svc.normalise_case_number(form.case_number.data))
        page = paginate(stmt, request.args.get("page", 1, type=int))
    filters = {k: v for k, v in request.args.items() if k in FILTER_KEYS and k != "page" and v.strip()}
    return render_template("staff/documents.html", form=form, page=page, filters=filters, state=state,
                           back=_list_query(request.args), confirm_form=ConfirmForm()), 200 if valid else 422


@bp.get("/documents/<int:document_id>/download")
@staff(StaffPermission.DOCUMENTS)
def document_download(document_id: int):
    document = staff_svc.staff_document(document_id) or abort(404)
    try:
        stream = svc.open_document(document)
    except FileNotFoundError:
        current_app.logger.error("the file of document %s is missing", document.id)
        abort(404)
    svc.record_download(document, user=current_user, staff=True)
    db.session.commit()
    return attachment_response(document, stream)


@bp.post("/documents/<int:document_id>/processed")
@staff(StaffPermission.DOCUMENTS)
def document_processed(document_id: int):
    document = staff_svc.staff_document(document_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if staff_svc.mark_processed(current_user, document):
        db.session.commit()
        flash(_("%(name)s is marked as processed. The business partner is notified.", name=document.display_name), "success")
    else:
        flash(_("%(name)s was already processed.", name=document.display_name), "info")
    back = (request.form.get("back") or "")[:500]
    return redirect(url_for("staff.documents") + (f"?{back}" if back and "//" not in back and "\\" not in back else ""))


# --- categories -----------------------------------------------------------------------------

@bp.get("/document-categories")
@staff(StaffPermission.DOCUMENTS)
def document_categories():
    return render_template("staff/documents_categories.html", categories=svc.all_categories())


def _category_form_page(form, category):
    if form.validate_on_submit():
        data = {name: f.data for name, f in form._fields.items() if name != "csrf_token"}
        category, changed = staff_svc.save_category(current_user, category, data)
        db.session.commit()
        flash(_("The category %(name)s is saved.", name=category.localized("name")) if changed else _("Nothing was changed."),
              "success" if changed else "info")
        return redirect(url_for("staff.document_categories"))
    return render_template("staff/documents_category_form.html", form=form, category=category), 422 if form.errors else 200


@bp.route("/document-categories/new", methods=["GET", "POST"])
@staff(StaffPermission.DOCUMENTS)
def document_category_new():
    return _category_form_page(CategoryForm(), None)


@bp.route("/document-categories/<int:category_id>/edit", methods=["GET", "POST"])
@staff(StaffPermission.DOCUMENTS)
def document_category_edit(category_id: int):
    category = db.session.get(Category, category_id) or abort(404)
    form = CategoryForm(obj=category)
    if request.method == "GET":
        form.position.data = str(category.position)
    return _category_form_page(form, category)
