"""PDFs with WeasyPrint, fetching nothing but our own static files.

WeasyPrint is imported when this module is, and this module when the app is created
(partners.letters, reached by the blueprints; tests/test_perf_guards.py checks it), so
a gunicorn worker pays the import at start, not in its first PDF request.

Rendering takes one of TRADEPORTAL_PDF_CONCURRENCY slots (default 2), shared by every
thread and every worker process of this instance directory (flock on small files), so
that PDFs can never occupy all the workers: a request that finds every slot taken
waits at most TRADEPORTAL_PDF_WAIT_SECONDS (default 10), then answers 503 with
Retry-After instead of queueing for ever.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

import weasyprint
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ServiceUnavailable

_STATIC_PREFIX = "tp-static:"
DEFAULT_CONCURRENCY = 2
DEFAULT_WAIT_SECONDS = 10.0


class ForbiddenFetch(ValueError):
    pass


class PdfBusy(ServiceUnavailable):
    """Every PDF slot stayed taken for the whole wait: 503, try again in a moment."""

    name = _l("The service is busy")
    description = _l("Too many documents are being prepared at the moment. Try again in a few seconds.")

    def __init__(self, retry_after: int = 5):
        super().__init__(retry_after=retry_after)


def _url_fetcher(url: str, *args, **kwargs):
    # Only our static folder; never the network or the rest of the disk.
    if not url.startswith(_STATIC_PREFIX):
        raise ForbiddenFetch(f"refused to fetch {url!r} while rendering a PDF")
    static = Path(current_app.static_folder).resolve()
    target = (static / url[len(_STATIC_PREFIX):].lstrip("/")).resolve()
    if static not in target.parents or not target.is_file():
        raise ForbiddenFetch(f"refused to fetch {url!r} while rendering a PDF")
    return {"string": target.read_bytes(), "filename": target.name}


def _setting(name: str, default: float) -> float:
    value = current_app.config.get(name)
    if value in (None, ""):
        value = os.environ.get(f"TRADEPORTAL_{name}") or default
    return float(value)


@contextmanager
def rendering_slot():
    """Hold one of the PDF slots of this instance directory while the block runs (PdfBusy after the wait)."""
    count = max(1, int(_setting("PDF_CONCURRENCY", DEFAULT_CONCURRENCY)))
    deadline = time.monotonic() + _setting("PDF_WAIT_SECONDS", DEFAULT_WAIT_SECONDS)
    folder = Path(current_app.config["INSTANCE_PATH"]) / "pdf-slots"
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for number in range(count):
            # A lock belongs to this open file: two threads of one process exclude each other too,
            # and the kernel releases it if the worker dies.
            handle = open(folder / f"slot-{number}", "a+b")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() >= deadline:
            raise PdfBusy()
        time.sleep(0.02)


def render_pdf(template: str, locale: str, **context) -> bytes:
    """Render `pdf/<template>` in `locale` to PDF bytes."""
    with force_locale(locale):
        html = render_template(template, static_prefix=_STATIC_PREFIX, **context)
    with rendering_slot():
        document = weasyprint.HTML(string=html, url_fetcher=_url_fetcher, base_url=_STATIC_PREFIX)
        return document.write_pdf()
