"""Forms of the roles area: requesting a role, rights of a member, the staff's catalogue and decisions."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectMultipleField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..access import Right
from ..partners.resolver import RIGHT_LABELS
from .models import SERVICES
from .services import SERVICE_LABELS

PHONE = re.compile(r"^\+?[0-9 ()./-]{6,40}$")
REASON_LENGTH = Length(max=1000, message=_l("The reason must be 1,000 characters or fewer"))


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes sharing one name (the error summary links to the first: `<id>-0`)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token."""


class RoleRequestForm(FlaskForm):
    """One role per request; the contact person only for roles that need one (`needs_contact`)."""

    # No Optional(): it would stop the chain before the checks below, which depend on the role.
    contact_name = StringField(_l("Name of the contact person"), validators=[Length(max=200)])
    contact_email = EmailField(_l("E-mail address of the contact person"), validators=[Length(max=254)])
    contact_phone = TelField(_l("Phone number of the contact person"), validators=[Length(max=40)])

    def __init__(self, *args, needs_contact: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_contact = needs_contact

    def validate_contact_name(self, field):
        if self.needs_contact and not (field.data or "").strip():
            raise ValidationError(_l("Enter the name of the contact person"))

    def validate_contact_email(self, field):
        value = (field.data or "").strip()
        if self.needs_contact and not value:
            raise ValidationError(_l("Enter the e-mail address of the contact person"))
        if value:
            Email(message=_l("Enter an e-mail address in the right format, like name@example.com"),
                  check_deliverability=False)(self, field)

    def validate_contact_phone(self, field):
        value = (field.data or "").strip()
        if self.needs_contact and not value:
            raise ValidationError(_l("Enter the phone number of the contact person"))
        if value and not PHONE.match(value):
            raise ValidationError(_l("Enter a phone number with digits only, like +41 58 462 60 00"))

    def contact(self) -> dict | None:
        if not self.needs_contact:
            return None
        return {"name": " ".join((self.contact_name.data or "").split()),
                "email": (self.contact_email.data or "").strip(),
                "phone": " ".join((self.contact_phone.data or "").split())}


class RightsForm(FlaskForm):
    rights = MultiCheckboxField(_l("Rights"), choices=[(r.value, RIGHT_LABELS[r]) for r in Right],
                                validate_choice=True)


def name_field(label, missing):
    """A name of a catalogue entry in one language (roles here, document categories too)."""
    return StringField(label, validators=[DataRequired(message=missing),
                                          Length(max=120, message=_l("The name must be 120 characters or fewer"))])


def description_field(label):
    return TextAreaField(label, validators=[Optional(), Length(max=2000, message=_l("The description must be 2,000 characters or fewer"))])


class RoleForm(FlaskForm):
    """A role of the catalogue; the code is given once, at creation."""

    code = StringField(_l("Code"), validators=[
        DataRequired(message=_l("Enter the code")),
        Regexp(r"^[a-z][a-z0-9_]{1,39}$", message=_l("Enter a code of 2 to 40 lower-case letters, digits and underscores, starting with a letter")),
    ])
    name_fr = name_field(_l("Name in French"), _l("Enter the name in French"))
    description_fr = description_field(_l("Description in French"))
    name_en = name_field(_l("Name in English"), _l("Enter the name in English"))
    description_en = description_field(_l("Description in English"))
    name_de = name_field(_l("Name in German"), _l("Enter the name in German"))
    description_de = description_field(_l("Description in German"))
    needs_review = BooleanField(_l("The agency reviews each request before the role is active"))
    needs_contact = BooleanField(_l("A contact person is required"))
    services = MultiCheckboxField(_l("Portal services the role opens"), choices=[(s, SERVICE_LABELS[s]) for s in SERVICES],
                                  validate_choice=True)
    active = BooleanField(_l("Active: partners can request this role"), default=True)

    def data_for_service(self) -> dict:
        data = {name: field.data for name, field in self._fields.items() if name not in ("csrf_token", "code")}
        if "code" in self._fields:  # removed from the form when a role is edited
            data["code"] = (self.code.data or "").strip()
        return data


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Your decision"), choices=[("approve", _l("Approve: the role becomes active")),
                                                         ("reject", _l("Reject"))],
                          validators=[DataRequired(message=_l("Select approve or reject"))])
    reason = TextAreaField(_l("Reason"), validators=[REASON_LENGTH])  # no Optional(): it would skip validate_reason

    def validate_reason(self, field):
        if self.decision.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the reason for the rejection"))


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Enter the reason for the revocation")),
                                                     REASON_LENGTH])
