"""Forms of API self-service. Each action also asks for the password again."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, RadioField, StringField, TextAreaField, ValidationError
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..account.forms import MAX_PASSWORD_INPUT
from ..roles.forms import MultiCheckboxField
from .services import SCOPES
from .webhooks import url_problem


def _password():
    return PasswordField(_l("Your password"), validators=[
        DataRequired(message=_l("Enter your current password")),
        Length(max=MAX_PASSWORD_INPUT, message=_l("Enter your current password")),
    ])


class PasswordAgainForm(FlaskForm):
    password = _password()


class ApplicationForm(FlaskForm):
    name = StringField(_l("Name of the application"), validators=[
        DataRequired(message=_l("Enter the name of the application")),
        Length(max=120, message=_l("The name of the application must be 120 characters or fewer")),
    ])
    description = TextAreaField(_l("Description"), validators=[
        Optional(), Length(max=1000, message=_l("The description must be 1000 characters or fewer")),
    ])
    scopes = MultiCheckboxField(_l("What the application may do"), choices=list(SCOPES.items()),
                                validators=[DataRequired(message=_l("Choose at least one thing the application may do"))])
    environment = RadioField(_l("Environment"), choices=[
        ("test", _l("Test: only the business partner's test data")),
        ("live", _l("Live: the business partner's real data")),
    ], validators=[InputRequired(message=_l("Choose the environment"))])
    password = _password()


class WebhookForm(FlaskForm):
    url = StringField(_l("Callback address (URL)"), validators=[
        DataRequired(message=_l("Enter the callback address, starting with https://")),
        Length(max=500, message=_l("The callback address must be 500 characters or fewer")),
    ])
    password = _password()

    def validate_url(self, field):
        if url_problem(field.data.strip()):
            raise ValidationError(_l("Enter a callback address starting with https://"))


class DownloadForm(FlaskForm):
    ticket = HiddenField()
    client_secret = HiddenField()
    access_token = HiddenField()
    refresh_token = HiddenField()
