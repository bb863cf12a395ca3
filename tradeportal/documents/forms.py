"""Forms of the documents area: the two upload steps, the list's filters, staff's categories and filters."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..notifications.forms import DateInput
from ..roles.forms import description_field, name_field
from .services import normalise_case_number


class DetailsForm(FlaskForm):
    """Step 1: category and case or reference number."""

    category = RadioField(_l("Category"), coerce=str, validate_choice=False,
                          validators=[InputRequired(message=_l("Select the category of the documents"))])
    case_number = StringField(_l("Case or reference number"), validators=[
        DataRequired(message=_l("Enter the case or reference number"))])

    def validate_category(self, field):
        if field.data not in {value for value, _label in self.category.choices}:
            raise ValidationError(_l("Select the category of the documents"))

    def validate_case_number(self, field):
        if normalise_case_number(field.data) is None:
            raise ValidationError(_l("Enter a case or reference number of 1 to 10 letters and digits, without spaces"))


class FilesForm(FlaskForm):
    """Step 2: the files (a plain multiple file input; the script only enhances it)."""

    files = MultipleFileField(_l("Files"))
    append = HiddenField()


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token (send, cancel, remove, mark processed)."""


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search, not a change

    category = SelectField(_l("Category"), validate_choice=False)
    case_number = StringField(_l("Case or reference number"), validators=[Optional(), Length(max=10)])
    date_from = DateInput(_l("Received from"), _l("Enter the start date as a date, for example 2026-03-31"))
    date_to = DateInput(_l("Received until"), _l("Enter the end date as a date, for example 2026-03-31"))

    def validate_case_number(self, field):
        if field.data and normalise_case_number(field.data) is None:
            raise ValidationError(_l("Enter a case or reference number of 1 to 10 letters and digits, without spaces"))

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors.append(_l("The end date must be the same as or after the start date"))
            ok = False
        return ok


class StaffFilterForm(ListFilterForm):
    partner = StringField(_l("Business partner (name, identification number or number)"),
                          validators=[Optional(), Length(max=100)])
    state = SelectField(_l("Show"), default="received", validate_choice=False, choices=[
        ("received", _l("Received, not processed yet")), ("processed", _l("Processed")),
        ("all", _l("All documents")), ("test", _l("Test uploads (API test keys)"))])


class CategoryForm(FlaskForm):
    name_fr = name_field(_l("Name in French"), _l("Enter the name in French"))
    description_fr = description_field(_l("Description in French"))
    name_en = name_field(_l("Name in English"), _l("Enter the name in English"))
    description_en = description_field(_l("Description in English"))
    name_de = name_field(_l("Name in German"), _l("Enter the name in German"))
    description_de = description_field(_l("Description in German"))
    position = StringField(_l("Position in the list"), default="0")

    def validate_position(self, field):
        value = ("" if field.data is None else str(field.data)).strip()  # the category's int when the field is not posted
        if not value.isdigit() or int(value) > 9999:
            raise ValidationError(_l("Enter the position as a whole number from 0 to 9999"))
    active = BooleanField(_l("Active: partners can choose this category"), default=True)
