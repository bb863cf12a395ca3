"""Security and caching headers on every response, errors included."""
from __future__ import annotations

from flask import Flask, request

from .current import request_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
)


def register(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint == "static":
            if request.args.get("v"):
                headers["Cache-Control"] = "public, max-age=31536000, immutable"
        elif _signed_in():
            # Pages of a signed-in person must not stay in shared or back-button caches.
            headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response


def _signed_in() -> bool:
    try:
        user = request_user()
        return bool(user is not None and user.is_authenticated)
    except Exception:  # noqa: BLE001 - outside a request context or before the loader ran
        return False
