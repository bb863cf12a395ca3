from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.validators import AnyOf, DataRequired, Email, InputRequired, Length

from ..auth.passwords import PasswordRules
from ..config import LOCALES
from ..i18n import LANGUAGE_NAMES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _current_locale() -> str:
    locale = str(get_locale() or "")
    return locale if locale in LOCALES else LOCALES[0]


_EMAIL_FORMAT = _l("Enter an e-mail address in the correct format, like name@example.com")


class SignUpForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address")),
                    Length(max=254, message=_EMAIL_FORMAT), Email(message=_EMAIL_FORMAT)],
        filters=[_strip],
    )
    first_name = StringField(
        _l("First name"),
        validators=[DataRequired(message=_l("Enter your first name")),
                    Length(max=100, message=_l("Your first name must be 100 characters or fewer"))],
        filters=[_strip],
    )
    last_name = StringField(
        _l("Last name"),
        validators=[DataRequired(message=_l("Enter your last name")),
                    Length(max=100, message=_l("Your last name must be 100 characters or fewer"))],
        filters=[_strip],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter a password")), PasswordRules(email_field="email")],
    )
    locale = RadioField(
        _l("Preferred language"),
        choices=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        default=_current_locale,
        validate_choice=False,
        validators=[InputRequired(message=_l("Choose your preferred language")),
                    AnyOf(LOCALES, message=_l("Choose your preferred language"))],
    )
    accept_terms = BooleanField(
        _l("I have read and accept the terms of use"),
        validators=[DataRequired(message=_l("Accept the terms of use to create an account"))],
    )


class AcceptTermsForm(FlaskForm):
    accept_terms = BooleanField(
        _l("I have read and accept the terms of use"),
        validators=[DataRequired(message=_l("Accept the terms of use to continue"))],
    )
