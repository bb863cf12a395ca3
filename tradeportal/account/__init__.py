"""The account area: profile, preferences, security settings, activity history, deletion."""
from flask import Blueprint

bp = Blueprint("account", __name__)

from . import views, security_views  # noqa: E402,F401
