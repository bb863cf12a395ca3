"""Demo data: an agency set-up a tester can use at once (flask tp seed-demo).

Idempotent: running it twice changes nothing. The passwords and authenticator
secrets printed here are for demonstration only, never for a real portal.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from .account.models import User, normalise_email
from .auth.passwords import hash_password
from .db import utcnow
from .extensions import db
from .partners.identifiers import che_check_digit, format_che, luhn_valid
from .partners.models import RegisterEntry
from .public.models import NewsItem, TermsVersion
from .roles.models import Role

DEMO_PASSWORD = "Demo-Portal-2026!"
# Fixed secrets so that a tester can add them to an authenticator app once.
STAFF = ("staff@agency.example", "Sandra", "Keller", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
USERS = (
    ("anna.muster@example.com", "Anna", "Muster", "fr", "KRUGS4ZANFZSA3TPOQQGCIDSMVQWYIDT"),
    ("ben.fischer@example.com", "Ben", "Fischer", "de", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
)

ROLES = [
    # code, (fr, en, de), needs_review, needs_contact, services
    ("goods_traffic", ("Trafic des marchandises", "Goods traffic", "Warenverkehr"), False, True, "certificates,api_self_service,documents"),
    ("transport", ("Transport", "Transport", "Transport"), False, False, "certificates,documents"),
    ("authorised_consignee", ("Destinataire agréé", "Authorised consignee", "Zugelassener Empfänger"), True, True, "api_self_service,documents"),
    ("authorised_consignor", ("Expéditeur agréé", "Authorised consignor", "Zugelassener Versender"), True, True, "api_self_service,documents"),
    ("payments", ("Paiements", "Payments", "Zahlungen"), False, False, "payments"),
]
ROLE_DESCRIPTIONS = {
    "fr": "Rôle de partenaire commercial « {name} » : ouvre les services du portail qui s'y rattachent.",
    "en": "Business partner role “{name}”: opens the portal services that belong to it.",
    "de": "Geschäftspartnerrolle «{name}»: öffnet die zugehörigen Dienste des Portals.",
}

NEWS = [
    (
        ("Le portail est ouvert", "The portal is open", "Das Portal ist eröffnet"),
        (
            "Vous pouvez désormais enregistrer votre entreprise et demander vos rôles en ligne.\n\nL'authentification à deux facteurs est obligatoire pour chaque compte d'utilisateur.",
            "You can now register your company and request your roles online.\n\nTwo-factor authentication is mandatory for every user account.",
            "Sie können Ihr Unternehmen jetzt online registrieren und Ihre Rollen beantragen.\n\nDie Zwei-Faktor-Authentisierung ist für jedes Benutzerkonto obligatorisch.",
        ),
        20,
    ),
    (
        ("Certificats EUR.1 numériques", "Digital EUR.1 certificates", "Digitale EUR.1-Bescheinigungen"),
        (
            "Les certificats de circulation des marchandises EUR.1 seront bientôt délivrés sous forme numérique, vérifiables par code QR.",
            "Movement certificates EUR.1 will soon be issued in digital form, verifiable by QR code.",
            "Warenverkehrsbescheinigungen EUR.1 werden bald digital ausgestellt und sind per QR-Code überprüfbar.",
        ),
        8,
    ),
    (
        ("Maintenance prévue samedi", "Maintenance planned on Saturday", "Geplante Wartung am Samstag"),
        (
            "Le portail sera indisponible samedi de 6 h à 8 h pour une maintenance.",
            "The portal will be unavailable on Saturday from 6:00 to 8:00 for maintenance.",
            "Das Portal ist am Samstag von 6.00 bis 8.00 Uhr wegen Wartungsarbeiten nicht verfügbar.",
        ),
        1,
    ),
]

TERMS = (
    "Conditions d'utilisation du portail.\n\nVotre compte d'utilisateur est personnel : ne le partagez jamais. Vous répondez des actions faites avec votre compte pour les partenaires commerciaux que vous représentez.\n\nL'administration peut suspendre un compte en cas d'abus.",
    "Terms of use of the portal.\n\nYour user account is personal: never share it. You are responsible for what is done with your account for the business partners you act for.\n\nThe agency may suspend an account that is misused.",
    "Nutzungsbedingungen des Portals.\n\nIhr Benutzerkonto ist persönlich: Geben Sie es nie weiter. Sie verantworten, was mit Ihrem Konto für die Geschäftspartner getan wird, die Sie vertreten.\n\nDie Behörde kann ein missbräuchlich genutztes Konto sperren.",
)

_WORDS_A = ["Alpen", "Rhein", "Leman", "Jura", "Ticino", "Helvetia", "Aare", "Sarine", "Berna", "Limmat", "Nord", "Sud", "Lac", "Mont", "Gotthard", "Vallée", "Saane", "Emme", "Thur", "Reuss"]
_WORDS_B = ["Logistik", "Transports", "Trading", "Import", "Export", "Handel", "Spedition", "Cargo", "Freight", "Distribution", "Négoce", "Metall", "Textil", "Chemie", "Horlogerie", "Food", "Pharma", "Bois", "Papier", "Maschinen"]
_FORMS = ["AG", "SA", "GmbH", "Sàrl", "Einzelunternehmen", "Genossenschaft"]
_TOWNS = [("3003", "Bern"), ("1201", "Genève"), ("8001", "Zürich"), ("4051", "Basel"), ("1003", "Lausanne"), ("6900", "Lugano"), ("9000", "St. Gallen"), ("2000", "Neuchâtel"), ("1700", "Fribourg"), ("6003", "Luzern")]
_STREETS = ["Bahnhofstrasse", "Rue du Marché", "Hauptstrasse", "Avenue de la Gare", "Industriestrasse", "Via Nassa", "Seestrasse", "Rue du Rhône"]


def _che_numbers(rng: random.Random, count: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        eight = f"{rng.randrange(10**7, 10**8)}"
        check = che_check_digit(eight)
        if check is not None:
            numbers.add(format_che(eight + str(check)))
    return sorted(numbers)


def _siren_numbers(rng: random.Random, count: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        eight = f"{rng.randrange(10**7, 10**8)}"
        for last in range(10):
            if luhn_valid(eight + str(last)):
                numbers.add(eight + str(last))
                break
    return sorted(numbers)


def register_rows(count: int = 220, seed: int = 2026) -> list[dict]:
    """Synthetic companies with valid identifiers; a few are branches of others."""
    rng = random.Random(seed)
    swiss = _che_numbers(rng, count - 20)
    french = _siren_numbers(rng, 20)
    rows = []
    for index, identifier in enumerate(swiss + french):
        postcode, town = rng.choice(_TOWNS)
        country = "CH"
        if identifier in french:
            postcode, town, country = f"750{rng.randrange(10, 20)}", "Paris", "FR"
        name = f"{rng.choice(_WORDS_A)} {rng.choice(_WORDS_B)} {rng.choice(_FORMS)}"
        if any(r["name"] == name for r in rows):
            name = f"{name} {index}"
        rows.append(
            {
                "identifier": identifier,
                "name": name,
                "legal_form": name.rsplit(" ", 1)[-1] if not name[-1].isdigit() else "AG",
                "address_line1": f"{rng.choice(_STREETS)} {rng.randrange(1, 120)}",
                "address_line2": None,
                "postcode": postcode,
                "town": town,
                "country": country,
                "head_office_identifier": None,
                "branch_number": None,
            }
        )
    # Every tenth Swiss company after the first 20 is a branch of one of the first 20.
    for index in range(20, len(swiss), 10):
        rows[index]["head_office_identifier"] = rows[index % 20]["identifier"]
        rows[index]["branch_number"] = f"{index:04d}"
    return rows


def _user(email, first, last, locale, secret, password=DEMO_PASSWORD) -> tuple[User, bool]:
    existing = db.session.execute(select(User).where(User.email_normalized == normalise_email(email))).scalar_one_or_none()
    if existing:
        return existing, False
    now = utcnow()
    user = User(
        email=email, email_normalized=normalise_email(email), password_hash=hash_password(password),
        first_name=first, last_name=last, locale=locale, email_confirmed_at=now,
        totp_secret=secret, totp_enrolled_at=now,
    )
    db.session.add(user)
    return user, True


def _accept_current_terms() -> None:
    """Demo accounts have accepted the current terms, so a tester reaches the portal at once."""
    from .auth.models import TermsAcceptance
    from .public.services import current_terms

    db.session.flush()
    terms = current_terms()
    if terms is None:
        return
    accepted = set(db.session.execute(
        select(TermsAcceptance.user_id).where(TermsAcceptance.terms_version_id == terms.id)
    ).scalars())
    emails = [STAFF[0]] + [u[0] for u in USERS]
    for user in db.session.execute(select(User).where(User.email_normalized.in_(emails))).scalars():
        if user.id not in accepted:
            db.session.add(TermsAcceptance(user_id=user.id, terms_version_id=terms.id))


def seed() -> list[str]:
    from .access import StaffPermission

    lines = []
    for code, names, review, contact, services in ROLES:
        if db.session.execute(select(Role).where(Role.code == code)).scalar_one_or_none() is None:
            db.session.add(Role(
                code=code, name_fr=names[0], name_en=names[1], name_de=names[2],
                description_fr=ROLE_DESCRIPTIONS["fr"].format(name=names[0]),
                description_en=ROLE_DESCRIPTIONS["en"].format(name=names[1]),
                description_de=ROLE_DESCRIPTIONS["de"].format(name=names[2]),
                needs_review=review, needs_contact=contact, services=services,
            ))
    if not db.session.execute(select(func.count()).select_from(RegisterEntry)).scalar():
        for row in register_rows():
            db.session.add(RegisterEntry(name_search=row["name"].lower(), **row))
    if not db.session.execute(select(func.count()).select_from(NewsItem)).scalar():
        for titles, bodies, days_ago in NEWS:
            db.session.add(NewsItem(
                published_at=utcnow() - timedelta(days=days_ago),
                title_fr=titles[0], title_en=titles[1], title_de=titles[2],
                body_fr=bodies[0], body_en=bodies[1], body_de=bodies[2],
            ))
    if not db.session.execute(select(func.count()).select_from(TermsVersion)).scalar():
        db.session.add(TermsVersion(version=1, published_at=utcnow() - timedelta(days=30),
                                    body_fr=TERMS[0], body_en=TERMS[1], body_de=TERMS[2]))
    staff_user, _new = _user(STAFF[0], STAFF[1], STAFF[2], "fr", STAFF[3])
    staff_user.is_staff = True
    staff_user.staff_permissions = ",".join(sorted(p.value for p in StaffPermission))
    for email, first, last, locale, secret in USERS:
        _user(email, first, last, locale, secret)
    db.session.flush()
    _accept_current_terms()
    from .partners.demo import seed as seed_demo_partner
    from .roles.demo import seed as seed_demo_roles

    seed_demo_partner()
    seed_demo_roles()
    documents_line = _seed_documents()
    db.session.commit()

    lines.append("Demo data loaded. These credentials are for demonstration only.")
    lines.append(f"  Password of every demo account: {DEMO_PASSWORD}")
    lines.append(f"  Staff:  {STAFF[0]}  authenticator secret {STAFF[3]}")
    for email, _f, _l, _loc, secret in USERS:
        lines.append(f"  User:   {email}  authenticator secret {secret}")
    lines.append("  Current code of an account: flask --app app tp totp-code EMAIL")
    if documents_line:
        lines.append(documents_line)
    return lines


def _seed_documents() -> str | None:
    """Document categories (three languages) and, once, a few documents of the demo partner."""
    from .documents.demo import seed as seed_demo_documents
    from .partners.demo import DEMO_ADMIN, DEMO_ENTRY_INDEX
    from .partners.models import Partner

    identifier = register_rows()[DEMO_ENTRY_INDEX]["identifier"]
    partner_id = db.session.execute(select(Partner.id).where(Partner.registration_key == identifier)).scalar()
    return seed_demo_documents(partner_id, DEMO_ADMIN, normalise_email(STAFF[0]))
