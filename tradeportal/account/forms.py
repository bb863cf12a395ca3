"""Forms of the account area. Messages name the field, as in every form of the portal."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField, ValidationError
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from ..config import LOCALES
from ..i18n import LANGUAGE_NAMES
from .validation import normalise_phone, valid_extension

MAX_PASSWORD_INPUT = 128


def _password_field(label):
    return PasswordField(label, validators=[
        DataRequired(message=_l("Enter your current password")),
        Length(max=MAX_PASSWORD_INPUT, message=_l("Enter your current password")),
    ])


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[
        DataRequired(message=_l("Enter your first name")),
        Length(max=100, message=_l("Your first name must be 100 characters or fewer")),
    ])
    last_name = StringField(_l("Last name"), validators=[
        DataRequired(message=_l("Enter your last name")),
        Length(max=100, message=_l("Your last name must be 100 characters or fewer")),
    ])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=40, message=_l("Enter a phone number with its country code, like +41 44 123 45 67"))])
    phone_extension = StringField(_l("Extension"), validators=[Optional()])
    locale = RadioField(_l("Language"), choices=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
                        validators=[InputRequired(message=_l("Choose your language"))])
    email_notifications = RadioField(
        _l("E-mail for new notifications"),
        choices=[("on", _l("Yes, send me an e-mail for each new notification")),
                 ("off", _l("No, I will read them in the portal"))],
        validators=[InputRequired(message=_l("Choose whether you want an e-mail for new notifications"))],
    )

    def validate_phone(self, field):
        if field.data and normalise_phone(field.data) is None:
            raise ValidationError(_l("Enter a phone number with its country code, like +41 44 123 45 67"))

    def validate_phone_extension(self, field):
        if field.data:
            if not valid_extension(field.data):
                raise ValidationError(_l("Enter an extension of 1 to 6 digits"))
            if not (self.phone.data or "").strip():
                raise ValidationError(_l("Enter the phone number that the extension belongs to"))


class EmailChangeForm(FlaskForm):
    email = EmailField(_l("New e-mail address"), validators=[
        DataRequired(message=_l("Enter your new e-mail address")),
        Length(max=254, message=_l("Your e-mail address must be 254 characters or fewer")),
        Email(message=_l("Enter an e-mail address in the right format, like name@example.com"), check_deliverability=False),
    ])
    password = _password_field(_l("Current password"))


class PasswordChangeForm(FlaskForm):
    password = _password_field(_l("Current password"))
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(message=_l("Enter your new password")),
    ])


class PasswordConfirmForm(FlaskForm):
    """The password again, before a sensitive change."""

    password = _password_field(_l("Current password"))


class CodeForm(FlaskForm):
    code = StringField(_l("Code from the new app"), validators=[
        DataRequired(message=_l("Enter the 6-digit code from your new authenticator app")),
        Length(max=20, message=_l("Enter the 6-digit code from your new authenticator app")),
    ])


class DeleteAccountForm(FlaskForm):
    password = _password_field(_l("Current password"))
    confirm = BooleanField(_l("I understand that my user account and my personal data will be erased and cannot be restored"),
                           validators=[DataRequired(message=_l("Confirm that you want to delete your user account"))])


class EmptyForm(FlaskForm):
    """Only the CSRF token: for buttons that post."""
