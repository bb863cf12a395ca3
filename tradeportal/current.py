"""The request's user, read once instead of through flask_login's `current_user` proxy.

Every attribute read through `current_user` looks the user up again (`has_request_context()`,
then `g` twice: about 3 µs a read on the bench machine), and a signed-in page read it some twenty
times before its hooks and decorators kept the object. Code on every request's path takes the
object with `request_user()` once and reads it as a plain object; other code may keep using
`current_user`. tests/test_perf_guards.py checks both give the same object, signed in or not.
"""
from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user


def request_user():
    """The signed-in user, else Flask-Login's anonymous user; None outside a request."""
    if not has_request_context():
        return None
    found = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if found is None:
        return current_user._get_current_object()  # not loaded yet: Flask-Login loads it
    return found
