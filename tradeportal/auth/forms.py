from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from .passwords import PasswordRules


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address")), Length(max=254)],
        filters=[_strip],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password")), Length(max=128)],
    )


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Enter the code from your authenticator app or a recovery code")), Length(max=40)],
    )


class EnrolForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(message=_l("Enter the 6-digit code that your authenticator app shows")), Length(max=20)],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[
            DataRequired(message=_l("Enter your e-mail address")),
            Length(max=254, message=_l("Enter an e-mail address in the correct format, like name@example.com")),
            Email(message=_l("Enter an e-mail address in the correct format, like name@example.com")),
        ],
        filters=[_strip],
    )


class ResetPasswordForm(FlaskForm):
    # Set by the view: the account's address, for the password rules.
    account_email = None
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("Enter a new password")), PasswordRules()],
    )


class ButtonForm(FlaskForm):
    """A form that is only a button (with its CSRF token)."""
