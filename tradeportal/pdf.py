"""PDFs with WeasyPrint, fetching nothing but our own static files.

WeasyPrint is imported when this module is (at worker start, see wsgi), not in
a request. Rendering holds a small semaphore so that PDFs cannot take every
worker thread at once.
"""
from __future__ import annotations

import threading
from pathlib import Path

import weasyprint
from flask import current_app, render_template
from flask_babel import force_locale

_STATIC_PREFIX = "tp-static:"
_slots = threading.BoundedSemaphore(2)


class ForbiddenFetch(ValueError):
    pass


def _url_fetcher(url: str, *args, **kwargs):
    # Only our static folder; never the network or the rest of the disk.
    if not url.startswith(_STATIC_PREFIX):
        raise ForbiddenFetch(f"refused to fetch {url!r} while rendering a PDF")
    static = Path(current_app.static_folder).resolve()
    target = (static / url[len(_STATIC_PREFIX):].lstrip("/")).resolve()
    if static not in target.parents or not target.is_file():
        raise ForbiddenFetch(f"refused to fetch {url!r} while rendering a PDF")
    return {"string": target.read_bytes(), "filename": target.name}


def render_pdf(template: str, locale: str, **context) -> bytes:
    """Render `pdf/<template>` in `locale` to PDF bytes."""
    with force_locale(locale):
        html = render_template(template, static_prefix=_STATIC_PREFIX, **context)
    with _slots:
        document = weasyprint.HTML(string=html, url_fetcher=_url_fetcher, base_url=_STATIC_PREFIX)
        return document.write_pdf()
