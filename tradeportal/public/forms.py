from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length


class FeedbackForm(FlaskForm):
    page = HiddenField()
    text = TextAreaField(
        _l("Your feedback"),
        validators=[
            DataRequired(message=_l("Enter your feedback")),
            Length(max=2000, message=_l("Your feedback must be 2,000 characters or fewer")),
        ],
    )
