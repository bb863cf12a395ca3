from flask import Blueprint, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..i18n import current_language

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

    def staff_nav():
        """The back office's menu as (link, label, is this page): links and labels made once per
        language, mount point and set of permissions (every staff page shows the menu)."""
        user = current_user._get_current_object()
        if not getattr(user, "is_staff", False):
            return []
        key = (current_language(), request.root_path, user.staff_permissions or "")
        entries = _nav.get(key)
        if entries is None:
            if len(_nav) > 64:
                _nav.clear()
            entries = _nav[key] = [(endpoint, url_for(endpoint), str(label)) for endpoint, label, _p in staff_menu()]
        here = request.endpoint
        return [(url, label, endpoint == here) for endpoint, url, label in entries]

    return {"staff_menu": staff_menu, "staff_nav": staff_nav}


_nav: dict = {}


from . import views  # noqa: E402,F401
from ..access import StaffPermission  # noqa: E402

register_menu("staff.feedback", _l("Feedback on pages"), StaffPermission.FEEDBACK)
from . import support, terms  # noqa: E402,F401 - user support and terms of use (account area, issue 3)
from . import news, notices  # noqa: E402,F401 - news and agency notices (notifications, issue 6)
from . import letters, partners  # noqa: E402,F401  (issue 4: partners and verification letters)
from . import roles  # noqa: E402,F401  (issue 5: role catalogue and role requests)
from . import documents  # noqa: E402,F401  (issue 7: documents received and their categories)
