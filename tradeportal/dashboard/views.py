from flask import redirect, render_template, session, url_for

from ..current import request_user
from ..access import acts_for_partner, signed_in
from ..partners.resolver import ACTING_KEY, acting_membership, active_memberships
from ..partners.services import waiting_of
from ..roles.dashboard import overview as roles_overview
from ..roles.dashboard import partner_url
from . import bp


@bp.get("/dashboard")
@acts_for_partner
@signed_in
def index():
    user = request_user()
    memberships = active_memberships(user)
    acting = acting_membership(user)
    # After sign-in, a person who works for several partners first says which one (as portailpro asks for the SIREN).
    if acting is None and len(memberships) > 1 and ACTING_KEY not in session:
        return redirect(url_for("partners.choose", next=url_for("dashboard.index")))
    # The registrations (also the letter steps of the overview) and the pending access requests: one query.
    registrations, pending_requests = waiting_of(user)
    return render_template(
        "dashboard/index.html", memberships=memberships, acting=acting, registrations=registrations,
        pending_requests=pending_requests,
        # issue 5: tiles, steps, notifications
        overview=roles_overview(user, acting, registrations) if acting else None,
        # the acting partner's links, their fixed parts built once per mount point
        profile_url=partner_url("partners.profile", acting.partner_id) if acting else None,
        members_url=partner_url("partners.members", acting.partner_id) if acting and acting.is_manager else None,
    )
