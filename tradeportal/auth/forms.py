from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class SignInForm(FlaskForm):
    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address")), Length(max=254)],
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
