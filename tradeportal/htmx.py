"""htmx helpers: one view serves the full page and its fragment.

Views call `render_page_or_partial`; they never read HX-* headers themselves.
"""
from __future__ import annotations

from flask import make_response, render_template, request
from markupsafe import Markup, escape


def is_partial() -> bool:
    """True for an htmx request that wants a fragment (not a boosted page or history restore)."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render_page_or_partial(page: str, fragment: str, status: int = 200, announce: str | None = None, **context):
    """Render `fragment` for htmx, else `page`; both vary on HX-Request.

    `announce` is a short sentence for screen readers, sent out-of-band into the
    one live region of base.html.
    """
    if is_partial():
        body = render_template(fragment, **context)
        if announce:
            # str(): adding Markup to the rendered str would escape the whole fragment.
            body = body + str(announcement(announce))
    else:
        body = render_template(page, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def announcement(text: str) -> Markup:
    """An out-of-band swap that puts `text` into the live region."""
    return Markup('<div id="live-region" hx-swap-oob="innerHTML"><p>{}</p></div>').format(escape(text))
