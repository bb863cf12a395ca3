"""The account navigation of signed-in pages, rendered once per distinct content (issue #9).

Every signed-in page shows the same links in its header: dashboard, the notification bell with its
count, the partner acted for, the person's name, back office, account, sign out (a form with the
session's CSRF token). Rendered as two includes, that is about half a million instructions a page
(each include copies the whole template context, then the helpers run) for a fragment that changes
only when one of its inputs does. `account_nav()` (a template global, called by base.html) computes
those inputs — the values `_account_links.html` and `notifications/_bell.html` read — and renders the
fragment only for a combination it has not seen; a worker keeps at most `MAX_ENTRIES` of them.

The key holds everything the fragment reads: language and mount prefix (the messages and links),
the person (id, name, staff), the unread count, the endpoint (the bell's aria-current), the partner
acted for and how many there are, the path (the "Switch" link's `next`, only shown with several
partners), the CSRF token and the `oob` flag. A value added to those templates must be added here;
`tests/test_chrome.py` renders the fragment both ways for each input.
"""
from __future__ import annotations

from flask import current_app, request
from jinja2 import pass_context
from markupsafe import Markup

from . import i18n

MAX_ENTRIES = 2048
TEMPLATE = "_account_links.html"


def _inputs(context) -> tuple:
    user = context.get("current_user")
    acting_for = context.get("acting_for")
    acting = acting_for() if acting_for is not None else None
    partner = acting.get("partner") if acting else None
    count = acting.get("count", 0) if acting else 0
    badge = context.get("notification_badge")
    csrf = context.get("csrf_token")
    return (
        i18n.current_language(current_app.config["DEFAULT_LOCALE"]), request.root_path,
        user.id, user.full_name, bool(user.is_staff),
        badge() if badge is not None else None, request.endpoint,
        getattr(partner, "name", None) if partner is not None else None, count,
        context.get("current_path") if count > 1 else None,
        csrf() if csrf is not None else None, bool(context.get("oob")),
    )


def render_uncached(context) -> Markup:
    """The fragment as the include renders it (the cache's source, and the tests' reference)."""
    template = context.environment.get_template(TEMPLATE)
    return Markup(template.render(context.get_all()))


@pass_context
def account_nav(context) -> Markup:
    """`_account_links.html` for this request, from the worker's cache when its inputs repeat."""
    if current_app.debug:
        return render_uncached(context)  # templates change while one works
    cache = current_app.extensions.setdefault("tp.account_nav", {})
    key = _inputs(context)
    fragment = cache.get(key)
    if fragment is None:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        fragment = cache[key] = render_uncached(context)
    return fragment


# --- fragments of list pages, rendered once per distinct content --------------------------------
# A list's page links and filter fields, and a service's sub-navigation, are macro calls or an
# include (0.1 to 1.5 M instructions each on the documents list) for a few lines that depend only on
# the language, the mount prefix and a handful of values. `fragment()` keeps each distinct one per
# worker, at most MAX_ENTRIES (then it starts again); the debug server renders each time.

def fragment(name: str, key: tuple, render) -> Markup:
    """`render()` (a Markup), from the worker's cache when `name` and `key` repeat in this language
    and under this mount prefix. `key` must hold every other value the fragment shows."""
    app = current_app._get_current_object()  # one lookup through the proxy, not three
    if app.debug:
        return render()
    cache = app.extensions.setdefault("tp.fragments", {})
    full_key = (name, i18n.current_language(app.config["DEFAULT_LOCALE"]), request.root_path, *key)
    try:
        found = cache.get(full_key)
    except TypeError:  # a value that cannot be a key (a list): no cache for it
        return render()
    if found is None:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        found = cache[full_key] = render()
    return found


def pagination(page, endpoint: str, args: dict) -> Markup:
    """The "Previous page / Page n / Next page" links of a list (macros/ui.html's `page_links`).

    `page` has .number, .has_prev and .has_next; `args` are the other query parameters to keep
    (and the path's, such as partner_id). Nothing when the list fits on one page."""
    if not (page.has_prev or page.has_next):
        return Markup("")
    state = (page.number, bool(page.has_prev), bool(page.has_next))

    def render() -> Markup:
        macros = current_app.jinja_env.get_template("macros/ui.html").module
        return macros.page_links(page, endpoint, args)  # a macro of an autoescaping template: Markup

    return fragment("pagination", (endpoint, *state, *args.items()), render)
