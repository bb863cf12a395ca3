"""Error pages in the reader's language; problem details (RFC 9457) under /api/."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("The request could not be understood"), _l("Go back, check what you entered and try again.")),
    403: (_l("You do not have access to this page"), _l("If you think you should, ask the administrator of your business partner or contact us.")),
    404: (_l("Page not found"), _l("If you typed the address, check it is correct. If you followed a link, it may be out of date.")),
    405: (_l("This action is not possible here"), _l("Go back to the previous page and use the buttons on the page.")),
    413: (_l("What you sent is too large"), _l("Send smaller files, or fewer at a time.")),
    429: (_l("Too many attempts"), _l("For your security, wait a few minutes before you try again.")),
    500: (_l("Sorry, there is a problem with the service"), _l("Try again later. What you entered has not been saved.")),
}
CSRF_MESSAGE = (
    _l("Your form has expired"),
    _l("For your security, forms expire. Go back, reload the page and send it again."),
)


def _wants_problem_json() -> bool:
    return request.path.startswith("/api/")


def _render(status: int, title, detail):
    if _wants_problem_json():
        response = jsonify(type="about:blank", title=str(title), status=status, detail=str(detail))
        response.status_code = status
        response.mimetype = "application/problem+json"
        return response
    return render_template("errors/error.html", status=status, title=title, detail=detail), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        # A signed-out person's expired form is kept and shown again, not lost.
        from .auth.stash import keep_form_after_csrf_failure

        response = keep_form_after_csrf_failure()
        if response is not None:
            return response
        return _render(400, *CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        title, detail = MESSAGES.get(status, (error.name, error.description))
        response = _render(status, title, detail)
        # The headers the error carries for the client (Allow on 405, Retry-After on 429/503).
        carried = [(k, v) for k, v in error.get_headers() if k in ("Allow", "Retry-After")]
        if carried:
            response = app.make_response(response)
            for key, value in carried:
                response.headers[key] = value
        return response

    @app.errorhandler(InternalServerError)
    def _internal(error):
        db.session.rollback()
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error.original_exception)
        return _render(500, *MESSAGES[500])
