"""Sign-up, e-mail confirmation and the terms of use a person accepts."""
from flask import Blueprint

bp = Blueprint("onboarding", __name__)


@bp.record_once
def _set_up(_state) -> None:
    from ..access import register_signed_in_gate
    from .services import terms_gate

    register_signed_in_gate(terms_gate)


from . import views  # noqa: E402,F401
