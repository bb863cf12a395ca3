from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401
from . import feed  # noqa: E402,F401 - news list and Atom feeds (notifications, issue 6)
