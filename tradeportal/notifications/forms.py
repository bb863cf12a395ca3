"""The inbox filters: a GET form, so a filtered list is a link that can be kept."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField

STATES = ("all", "unread", "read")


class DateInput(DateField):
    """`<input type="date">` whose parse error names the field."""

    def __init__(self, label, invalid_message, **kwargs):
        super().__init__(label, format="%Y-%m-%d", **kwargs)
        self.invalid_message = invalid_message

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = datetime.strptime(valuelist[0].strip(), "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(str(self.invalid_message)) from None


class InboxFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search, not a change

    date_from = DateInput(_l("From"), _l("Enter the start date as a date, for example 2026-03-31"))
    date_to = DateInput(_l("To"), _l("Enter the end date as a date, for example 2026-03-31"))
    kind = SelectField(_l("Type"), validate_choice=False)
    state = RadioField(_l("Show"), default="all", validate_choice=False,
                       choices=[("all", _l("All notifications")), ("unread", _l("Unread only")), ("read", _l("Read only"))])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.state.data not in STATES:
            self.state.data = "all"
        if self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors.append(_l("The end date must be the same as or after the start date"))
            ok = False
        return ok
