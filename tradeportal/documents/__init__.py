"""Documents: upload in two steps, the partner's list and downloads, acknowledgement of receipt. See docs/DOCUMENTS.md."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("documents", __name__)

from . import views  # noqa: E402,F401
from . import storage  # noqa: E402,F401 - registers the session hooks that keep rows and files together


def _register() -> None:
    from .. import cli
    from ..notifications import services as notifications
    from ..roles import services as roles
    from .staff_services import purge_abandoned

    roles.register_service_endpoint("documents", "documents.home")
    notifications.register_kind("document_processed", _l("Document processed"))
    if purge_abandoned not in cli.WORKER_TASKS:
        cli.WORKER_TASKS.append(purge_abandoned)


_register()
