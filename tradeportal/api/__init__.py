"""API self-service (pages under /partners/<id>/api) and the B2B JSON API (/api/v1). See docs/API.md."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l

bp = Blueprint("api", __name__)

from . import views  # noqa: E402,F401
from .v1 import v1  # noqa: E402
from . import v1_documents  # noqa: E402,F401
from ..cli import WORKER_TASKS  # noqa: E402
from ..notifications.services import register_kind  # noqa: E402
from .feed import install as _install_feed  # noqa: E402
from .webhooks import worker_task  # noqa: E402

bp.register_blueprint(v1)
register_kind("api_application", _l("API application"))
_install_feed()
if worker_task not in WORKER_TASKS:
    WORKER_TASKS.append(worker_task)
