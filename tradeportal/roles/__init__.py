"""Business partner roles, the rights of members, and the role gate. See docs/ROLES.md."""
from flask import Blueprint

bp = Blueprint("roles", __name__)

from .. import access  # noqa: E402
from . import views  # noqa: E402,F401
from .gate import role_gate  # noqa: E402
from .notify import register_kinds  # noqa: E402

# Every partner_member(right) route: the right only counts while a role of the partner opens its service.
access.register_partner_gate(role_gate)
register_kinds()



@bp.app_context_processor
def _roles_helpers():
    from .services import service_label

    return {"service_label": service_label}

from ..notifications.notices import register_notice_audience  # noqa: E402
from .services import role_holders  # noqa: E402

register_notice_audience("role", role_holders)
