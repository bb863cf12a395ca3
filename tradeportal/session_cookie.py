"""Flask's signed session cookie, verified once per worker (issue #9).

Every request with a session cookie has Flask build a serializer (the secret key's derivation) and
check the cookie's HMAC, about 60 µs: 4 % of a signed-in page. A browser sends the same cookie on
every request until the session changes, so each worker remembers the cookies whose signature it
has checked, with the payload (as the serializer writes it: each request gets a fresh copy) and the
time it was signed. A remembered cookie is still refused once older than the session lifetime,
exactly as itsdangerous refuses it; a forged or altered cookie is never remembered (its bytes
differ), and a change of secret key (or of its fallbacks) forgets everything.
"""
from __future__ import annotations

import time

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

MAX_ENTRIES = 4096


class PortalSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._verified: dict[str, tuple[str, int]] = {}
        self._keys: tuple = ()

    def open_session(self, app, request):
        value = request.cookies.get(self.get_cookie_name(app))
        if not value or not app.secret_key:
            return super().open_session(app, request)
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._keys:
            self._verified.clear()
            self._keys = keys
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._verified.get(value)
        if known is not None:
            payload, signed_at = known
            # itsdangerous's rule: refused when older than max_age, or signed in the future
            if 0 <= int(time.time()) - signed_at <= max_age:
                return self.session_class(self.serializer.loads(payload))
            return self.session_class()
        try:
            data, signed = self.get_signing_serializer(app).loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if len(self._verified) >= MAX_ENTRIES:
            self._verified.clear()
        self._verified[value] = (self.serializer.dumps(data), int(signed.timestamp()))
        return self.session_class(data)
