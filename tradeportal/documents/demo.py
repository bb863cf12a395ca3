"""Demo documents (idempotent): three categories, and two uploads of the demo partner with their files stored.

Called by `tradeportal.demo.seed()`; the caller commits (files written here are deleted
again if that commit does not happen, as for any upload).
"""
from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select

from ..account.models import User
from ..extensions import db
from .models import Category, Document, DocumentStatus, Upload

CATEGORIES = (
    # (fr, en, de) names, (fr, en, de) descriptions, position
    (("Déclaration en douane / documents justificatifs", "Customs declaration / supporting documents",
      "Zollanmeldung / Unterlagen"),
     ("Factures, listes de colisage, documents de transport joints à une déclaration.",
      "Invoices, packing lists and transport documents that belong to a declaration.",
      "Rechnungen, Packlisten und Transportdokumente zu einer Zollanmeldung."), 10),
    (("Certificat d'origine", "Certificate of origin", "Ursprungsnachweis"),
     ("Preuves de l'origine des marchandises, déclarations du fournisseur.",
      "Proofs of the origin of goods, supplier's declarations.",
      "Nachweise des Warenursprungs, Lieferantenerklärungen."), 20),
    (("Correspondance", "Correspondence", "Korrespondenz"),
     ("Lettres et réponses à une demande de l'administration.",
      "Letters and answers to a request of the agency.",
      "Briefe und Antworten auf eine Anfrage der Behörde."), 30),
)


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing one line of ASCII text (no library needed)."""
    safe = "".join(ch for ch in text if 32 <= ord(ch) < 127 and ch not in "()\\")
    stream = f"BT /F1 14 Tf 72 760 Td ({safe}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def seed_categories() -> list[Category]:
    existing = {c.name_en: c for c in db.session.execute(select(Category)).scalars()}
    categories = []
    for names, descriptions, position in CATEGORIES:
        category = existing.get(names[1])
        if category is None:
            category = Category(name_fr=names[0], name_en=names[1], name_de=names[2],
                                description_fr=descriptions[0], description_en=descriptions[1],
                                description_de=descriptions[2], position=position, active=True)
            db.session.add(category)
        categories.append(category)
    db.session.flush()
    return categories


def seed(partner_id: int | None, user_email: str, staff_email: str) -> str | None:
    """Categories, then (once) two uploads for the demo partner: one received, one processed by the staff member."""
    from . import services as svc

    categories = seed_categories()
    if partner_id is None:
        return None
    if db.session.execute(select(Upload.id).where(Upload.partner_id == partner_id).limit(1)).first():
        return None
    user = db.session.execute(select(User).where(User.email_normalized == user_email)).scalar_one_or_none()
    staff_user = db.session.execute(select(User).where(User.email_normalized == staff_email)).scalar_one_or_none()
    batches = (
        (categories[0], "8000000683", [("Commercial invoice 2026-0412.pdf", tiny_pdf("Commercial invoice 2026-0412")),
                                       ("Packing list.txt", "Packliste / Packing list\n3 palettes, 1,240 kg\n".encode())]),
        (categories[1], "EUR1A2026", [("Supplier's declaration.pdf", tiny_pdf("Supplier's declaration of origin"))]),
    )
    try:
        uploads = [svc.receive_files(partner_id=partner_id, category_id=category.id, case_number=case,
                                     files=[svc.IncomingFile(name, io.BytesIO(data)) for name, data in files],
                                     user_id=getattr(user, "id", None))
                   for category, case, files in batches]
    except svc.UploadRejected as rejected:  # e.g. clamd configured but not reachable
        return f"  Demo documents not stored: {rejected}"
    # The older upload was received two days ago and processed by the agency.
    first = uploads[1]
    earlier = first.received_at - timedelta(days=2)
    first.received_at = first.created_at = earlier
    for document in db.session.execute(select(Document).where(Document.upload_id == first.id)).scalars():
        document.received_at = document.created_at = earlier
        document.status = DocumentStatus.PROCESSED
        document.processed_at = earlier + timedelta(hours=3)
        document.processed_by_id = getattr(staff_user, "id", None)
    db.session.flush()
    return f"  Demo documents: {len(uploads)} uploads of the demo partner (references {', '.join(u.reference for u in uploads)})"
