"""The signed-in home: what this person may use, for the partner they act for."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import views  # noqa: E402,F401
