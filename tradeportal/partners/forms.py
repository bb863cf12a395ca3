from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..config import LOCALES
from .identifiers import accepted_schemes, normalise
from .letters import normalise_code
from .models import MemberRole, PartnerKind

LANGUAGE_CHOICES = [("fr", "Français"), ("en", "English"), ("de", "Deutsch")]
assert [code for code, _ in LANGUAGE_CHOICES] == list(LOCALES)


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(_l("Company name or identification number"), validators=[Optional(), Length(max=100)])
    legal_form = StringField(_l("Legal form"), validators=[Optional(), Length(max=80)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=16)])
    town = StringField(_l("Town"), validators=[Optional(), Length(max=100)])


class TakeOverForm(FlaskForm):
    locale = SelectField(_l("Language of the verification letter"), choices=LANGUAGE_CHOICES)
    attest = BooleanField(
        _l("I confirm that I am authorised to register this business partner and to act for it with the agency."),
        validators=[DataRequired(message=_l("Confirm that you are authorised to act for this business partner"))],
    )


def _identifier_check(form, field):
    if field.data and not normalise(field.data, accepted_schemes()):
        raise ValidationError(_l("Enter a valid identification number, for example CHE-123.456.789"))


class ManualEntryForm(FlaskForm):
    kind = RadioField(
        _l("Kind of business partner"),
        choices=[(PartnerKind.LEGAL_ENTITY, _l("Legal entity (company, association)")),
                 (PartnerKind.NATURAL_PERSON, _l("Natural person (private person)")),
                 (PartnerKind.BRANCH, _l("Branch of a registered company"))],
        validators=[DataRequired(message=_l("Select the kind of business partner"))],
    )
    identifier = StringField(_l("Enterprise identification number (UID)"), validators=[Optional(), Length(max=40), _identifier_check])
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter the name")), Length(max=200)])
    legal_form = StringField(_l("Legal form"), validators=[Optional(), Length(max=80)])
    address_line1 = StringField(_l("Address line 1"), validators=[DataRequired(message=_l("Enter the address")), Length(max=200)])
    address_line2 = StringField(_l("Address line 2"), validators=[Optional(), Length(max=200)])
    postcode = StringField(_l("Postcode"), validators=[DataRequired(message=_l("Enter the postcode")), Length(max=16)])
    town = StringField(_l("Town"), validators=[DataRequired(message=_l("Enter the town")), Length(max=100)])
    country = StringField(_l("Country code"), default="CH",
                          validators=[DataRequired(message=_l("Enter the country code, for example CH")),
                                      Length(min=2, max=2, message=_l("Enter the country code with two letters, for example CH"))])
    head_office_identifier = StringField(_l("Identification number of the head office"),
                                         validators=[Optional(), Length(max=40), _identifier_check])
    branch_number = StringField(_l("Branch number"), validators=[Optional(), Length(max=16)])
    locale = SelectField(_l("Language of the verification letter"), choices=LANGUAGE_CHOICES)
    attest = BooleanField(
        _l("I confirm that I am authorised to register this business partner and to act for it with the agency."),
        validators=[DataRequired(message=_l("Confirm that you are authorised to act for this business partner"))],
    )

    def validate_identifier(self, field):
        if self.kind.data == PartnerKind.LEGAL_ENTITY and not field.data:
            raise ValidationError(_l("Enter the enterprise identification number (UID)"))

    def validate_head_office_identifier(self, field):
        if self.kind.data == PartnerKind.BRANCH and not field.data:
            raise ValidationError(_l("Enter the identification number of the head office"))

    def validate_branch_number(self, field):
        if self.kind.data == PartnerKind.BRANCH and not (field.data or "").strip():
            raise ValidationError(_l("Enter the branch number"))

    def data_for_service(self) -> dict:
        def canonical(value):
            found = normalise(value, accepted_schemes()) if value else None
            return found[1] if found else None

        branch = self.kind.data == PartnerKind.BRANCH
        return {
            "kind": self.kind.data, "identifier": canonical(self.identifier.data),
            "name": self.name.data.strip(), "legal_form": (self.legal_form.data or "").strip(),
            "address_line1": self.address_line1.data.strip(), "address_line2": (self.address_line2.data or "").strip(),
            "postcode": self.postcode.data.strip().upper(), "town": self.town.data.strip(),
            "country": self.country.data.strip().upper(),
            "head_office_identifier": canonical(self.head_office_identifier.data) if branch else None,
            "branch_number": (self.branch_number.data or "").strip() if branch else None,
            "locale": self.locale.data,
        }


class RedeemForm(FlaskForm):
    accept_terms = BooleanField(
        _l("I have read the terms of use for administrators and accept them."),
        validators=[DataRequired(message=_l("Accept the terms of use for administrators"))],
    )
    code = StringField(_l("One-time code"), validators=[DataRequired(message=_l("Enter the one-time code from the letter"))])

    def validate_code(self, field):
        if field.data and normalise_code(field.data) is None:
            raise ValidationError(_l("Enter the one-time code as printed in the letter: 10 letters and digits, for example ABCDE-23456"))


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token."""


class JoinSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Identification number or name of your employer"), validators=[Optional(), Length(max=100)])


class AccessRequestForm(FlaskForm):
    partner = HiddenField()
    reason = TextAreaField(_l("Why do you need access?"), validators=[
        DataRequired(message=_l("Enter why you need access")),
        Length(max=1000, message=_l("The reason must be 1,000 characters or fewer")),
    ])


class ChooseForm(FlaskForm):
    partner = RadioField(_l("Business partner"), coerce=int, validate_choice=True,
                         validators=[DataRequired(message=_l("Select the business partner you act for"))])
    next = HiddenField()


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address of your colleague"), validators=[
        DataRequired(message=_l("Enter the e-mail address of your colleague")),
        Email(message=_l("Enter an e-mail address in the right format, like name@example.com"), check_deliverability=False),
        Length(max=254),
    ])
    role = RadioField(_l("Role"), default=MemberRole.MEMBER,
                      choices=[(MemberRole.MEMBER, _l("Member")), (MemberRole.DEPUTY, _l("Deputy (same rights as the administrator)"))],
                      validators=[DataRequired(message=_l("Select a role"))])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[(MemberRole.ADMINISTRATOR, _l("Administrator")), (MemberRole.DEPUTY, _l("Deputy")),
                                            (MemberRole.MEMBER, _l("Member"))])


class DecisionForm(FlaskForm):
    decision = RadioField(_l("Your decision"), choices=[("approve", _l("Approve: the person becomes a member")),
                                                         ("refuse", _l("Refuse"))],
                          validators=[DataRequired(message=_l("Select approve or refuse"))])
    message = TextAreaField(_l("Message to the person"), validators=[Length(max=1000, message=_l("The message must be 1,000 characters or fewer"))])

    def validate_message(self, field):
        if self.decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError(_l("Enter a message that tells the person why you refuse"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Enter the reason")),
                                                     Length(max=1000, message=_l("The reason must be 1,000 characters or fewer"))])
