from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.record_once
def _set_up(_state) -> None:
    from ..access import register_signed_in_gate
    from . import stash
    from .gates import account_ready_gate

    register_signed_in_gate(account_ready_gate)
    stash.install()


@bp.before_app_request
def _session_ended():
    from .stash import signed_in_request_without_session

    return signed_in_request_without_session()


from . import views, enrolment, reset  # noqa: E402,F401
from ..cli import WORKER_TASKS  # noqa: E402
from .services import send_reset_links  # noqa: E402

if send_reset_links not in WORKER_TASKS:
    WORKER_TASKS.append(send_reset_links)
