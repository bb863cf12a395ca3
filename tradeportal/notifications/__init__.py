"""Notifications: inbox, badge, e-mail copies, agency notices. See docs/NOTIFICATIONS.md.

Other areas call `notifications.services.notify_user` / `notify_partner` (the
signatures are in that module's docstring).
"""
from flask import Blueprint

from ..current import request_user

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _badge_helpers():
    from .services import badge, badge_label

    def notification_badge() -> int:
        # Called by the bell on every signed-in page: one query, cached for the request.
        user = request_user()
        return badge(user) if user is not None and user.is_authenticated else 0

    return {"notification_badge": notification_badge, "notification_badge_label": badge_label}


from . import views  # noqa: E402,F401
from ..cli import WORKER_TASKS  # noqa: E402
from .worker import fan_out_notices  # noqa: E402

# `flask tp send-mail` fans queued agency notices out on each pass, before delivering mail.
if fan_out_notices not in WORKER_TASKS:
    WORKER_TASKS.append(fan_out_notices)
