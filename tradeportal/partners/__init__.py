"""Business partners: register lookup, registration, verification letters, members, acting for a partner."""
from flask import Blueprint

bp = Blueprint("partners", __name__)

from .. import access  # noqa: E402
from . import cli, views, views_members  # noqa: E402,F401
from .resolver import header_context, resolve_partner  # noqa: E402

access.register_partner_resolver(resolve_partner)


@bp.app_context_processor
def _acting_for():
    return {"acting_for": header_context}


def _register_deletion_blocker() -> None:
    """Refuse deleting the account of a partner's only administrator, once the account area offers the hook."""
    import importlib.util

    if importlib.util.find_spec("tradeportal.account.services") is None:
        return
    from ..account import services as account_services

    blockers = getattr(account_services, "deletion_blockers", None)
    if isinstance(blockers, list):
        from .members import only_administrator_blocker

        if only_administrator_blocker not in blockers:
            blockers.append(only_administrator_blocker)


_register_deletion_blocker()

from .audiences import register as _register_audiences  # noqa: E402

_register_audiences()
