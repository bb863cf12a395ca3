"""Templates compiled per language (tradeportal/templating.py) give the very pages of the plain ones.

Every page the signed-in fuzzing finds (every GET route of `app.url_map` with the world's objects,
as an actor who may see it) and the public pages are fetched in French, English and German twice:
with the baked overlays, then with every call made at rendering. The two pages must be equal, once
the values that change with each answer (CSRF tokens, the session's remaining seconds) are set aside.
"""
from __future__ import annotations

import re

import pytest

from .sweep import routes, url
from .test_fuzz_signed_in import _pages, open_more_forms

pytestmark = pytest.mark.usefixtures("no_rate_limits")

MOVING = [
    # Every CSRF field, prefixed ones included ("remove-csrf_token"): the token carries the second it was made.
    (re.compile(r'(name="(?:[\w-]+-)?csrf_token"[^>]*value=")[^"]*"'), r'\1"'),
    (re.compile(r'(<meta name="csrf-token" content=")[^"]*"'), r'\1"'),
    (re.compile(r'data-session="[^"]*"'), 'data-session=""'),
    # A flash message shows on whichever page comes next (here the other rendering of the pair).
    (re.compile(r'\s*<div class="notice notice--\w+"><p>.*?</p></div>'), ""),
]


def _normalised(body: str) -> str:
    for pattern, replacement in MOVING:
        body = pattern.sub(replacement, body)
    return body


def _public_pages(app, world):
    for route in routes(app):
        if route.method == "GET" and route.access == "public" and route.endpoint != "static":
            try:
                yield url(app, world, route), "anonymous"
            except Exception:  # noqa: BLE001 - a public route the matrix builds no URL for: not a page
                continue


def test_baked_templates_render_the_same_pages_in_every_language(app, world):
    open_more_forms(world)
    env = app.jinja_env
    compared, baked_seen = 0, set()
    differences = []
    pages = sorted(set(_pages(app, world)) | set(_public_pages(app, world)))
    try:
        for address, actor in pages:
            client = world.client(actor) if actor != "anonymous" else app.test_client()
            for lang in ("fr", "en", "de"):
                target = f"{address}{'&' if '?' in address else '?'}lang={lang}"
                env.baking = True
                baked = client.get(target)
                env.baking = False
                plain = client.get(target)
                if 410 in (plain.status_code, baked.status_code):
                    continue  # shown once (an API key page): the second rendering is refused by design
                if "html" not in (plain.content_type or "") or plain.status_code != baked.status_code:
                    if plain.status_code != baked.status_code:
                        differences.append(f"{target} as {actor}: {baked.status_code} baked, {plain.status_code} plain")
                    continue
                compared += 1
                a, b = _normalised(baked.get_data(as_text=True)), _normalised(plain.get_data(as_text=True))
                if a != b:
                    import difflib
                    diff = "".join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True)))[:30])
                    differences.append(f"{target} as {actor}: the pages differ\n{diff}")
    finally:
        env.baking = True
    baked_seen = {key[0] for key in env._overlays}
    assert compared > 150, compared
    assert baked_seen >= {"fr", "en", "de"}, baked_seen
    assert not differences, "\n".join(differences[:20])
