from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user

bp = Blueprint("staff", __name__, url_prefix="/staff")

# (endpoint, label, permission): each area adds its back-office pages here.
MENU: list[tuple] = []


def register_menu(endpoint: str, label, permission) -> None:
    if all(item[0] != endpoint for item in MENU):
        MENU.append((endpoint, label, permission))


@bp.context_processor
def _menu():
    def staff_menu():
        # The person and their permissions read once (not through the proxy for every item).
        user = current_user._get_current_object()
        if not getattr(user, "is_staff", False):
            return []
        held = user.staff_permission_set()
        return [item for item in MENU if getattr(item[2], "value", item[2]) in held]

    return {"staff_menu": staff_menu}


from . import views  # noqa: E402,F401
from ..access import StaffPermission  # noqa: E402

register_menu("staff.feedback", _l("Feedback on pages"), StaffPermission.FEEDBACK)
from . import support, terms  # noqa: E402,F401 - user support and terms of use (account area, issue 3)
from . import news, notices  # noqa: E402,F401 - news and agency notices (notifications, issue 6)
from . import letters, partners  # noqa: E402,F401  (issue 4: partners and verification letters)
from . import roles  # noqa: E402,F401  (issue 5: role catalogue and role requests)
from . import documents  # noqa: E402,F401  (issue 7: documents received and their categories)
