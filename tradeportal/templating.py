"""Templates compiled once per language: fixed messages and links written in at compile time.

Every page shows 40 to 100 fixed messages (`_("Help")`) and fixed links (`url_for('public.help')`,
`asset_url('css/portal.css')`). Each is a call at every rendering (Jinja's `Context.call`, the
catalogue look-up, the link's cache), about 35,000 instructions: a tenth of a simple page. Their
result depends only on the language and on the prefix the portal is mounted under, so the
environment keeps one overlay per (language, prefix) whose templates have these calls replaced,
while compiling, by their result:

- `_("text")` and `gettext("text")` with one literal and nothing else: the translated text, marked
  safe as the template `gettext` marks it (and `%` formatted with no values, as it does);
- `url_for("endpoint")` with one literal and nothing else: the endpoint's URL under this prefix;
- `asset_url("file")`: the fingerprinted URL of a static file.

Calls with values (`_("… %(name)s", name=…)`, `url_for("x", id=…)`), plural forms and
`{% trans %}` blocks stay calls. Templates of the debug server are not baked (static files and
catalogues change while one works), nor outside a request:
those use the environment itself, with the calls. A template loaded by a baked one (extends,
include, import) comes from the same overlay, so a page is in one language throughout.
`tests/security/test_templating_baked.py` renders every template both ways and compares.
"""
from __future__ import annotations

from flask.globals import _cv_request
from flask.templating import Environment
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup, escape

from . import i18n

# At most this many overlays (languages × mount prefixes); beyond, the plain environment serves.
MAX_OVERLAYS = 12
_GETTEXT_NAMES = frozenset({"_", "gettext"})
_LINK_NAMES = frozenset({"url_for", "asset_url"})


class BakedCalls(Extension):
    """Replaces fixed-message and fixed-link calls by their result while a template compiles."""

    def filter_stream(self, stream: TokenStream):
        env = self.environment
        key = getattr(env, "baked_key", None)
        if key is None:
            yield from stream
            return
        autoescape = env.autoescape(stream.name) if callable(env.autoescape) else env.autoescape
        buffer: list[Token] = []
        previous_type = None
        for token in stream:
            buffer.append(token)
            if len(buffer) < 4:
                continue
            name, open_, literal, close = buffer[-4:]
            if (name.type == "name" and open_.type == "lparen" and literal.type == "string"
                    and close.type == "rparen" and previous_type != "dot"
                    and (name.value in _GETTEXT_NAMES or name.value in _LINK_NAMES)):
                replacement = self._bake(name, literal, autoescape)
                if replacement is not None:
                    ready = buffer[:-4]
                    for done in ready:
                        yield done
                    previous_type = close.type
                    yield from replacement
                    buffer = []
                    continue
            previous_type = buffer[0].type
            yield buffer.pop(0)
        yield from buffer

    def _bake(self, name: Token, literal: Token, autoescape: bool) -> list[Token] | None:
        """The tokens of `("result")` (`("text"|safe)` for a message under autoescape, which the
        template gettext returns as Markup), or None to keep the call."""
        line = name.lineno
        try:
            if name.value in _GETTEXT_NAMES:
                text = self.environment.baked_translations.ugettext(literal.value)
                if not autoescape:
                    return [Token(line, "lparen", "("), Token(line, "string", text % {} if "%" in text else text),
                            Token(line, "rparen", ")")]
                text = Markup(text) % {} if "%" in text else text
                return [Token(line, "lparen", "("), Token(line, "string", str(text)), Token(line, "pipe", "|"),
                        Token(line, "name", "safe"), Token(line, "rparen", ")")]
            function = self.environment.globals.get(name.value)
            if function is None:
                return None
            url = function(literal.value)
        except Exception:  # noqa: BLE001 - an unknown endpoint or a bad format: the call says so at run time
            return None
        return [Token(line, "lparen", "("), Token(line, "string", str(url)), Token(line, "rparen", ")")]


class PortalEnvironment(Environment):
    """Flask's environment, handing each request's templates from the overlay of its language and prefix."""

    baked_key: tuple | None = None  # set on the overlays only

    def __init__(self, app, **options):
        super().__init__(app, **options)
        self._overlays: dict[tuple, Environment] = {}
        self.baking = True  # False: every template with its calls (the tests compare both)

    def _for_request(self) -> Environment:
        if self.baked_key is not None:
            return self  # an overlay: its templates' includes stay in it
        ctx = _cv_request.get(None)
        if ctx is None or self.app.debug or not self.baking:
            return self
        locale = i18n._chosen_locale()  # chosen now if the request has not asked yet (rendering would)
        if locale is None:
            return self
        key = (str(locale), ctx.request.root_path)
        overlay = self._overlays.get(key)
        if overlay is None:
            if len(self._overlays) >= MAX_OVERLAYS:
                return self
            overlay = self._make_overlay(key)
        return overlay

    def _make_overlay(self, key: tuple) -> Environment:
        from flask_babel import get_translations

        # A cache of its own: `overlay()` would otherwise start from a copy of this one's templates.
        overlay = self.overlay(extensions=[BakedCalls], cache_size=400)
        overlay.baked_translations = get_translations()  # the catalogue of the request's language
        overlay.baked_key = key
        overlay._overlays = {}
        self._overlays[key] = overlay
        return overlay

    def make_globals(self, d):
        """A template's globals: the environment's own dict when the template adds none.

        Jinja chains them (`ChainMap(d, env.globals)`) so that a template may add globals of its
        own; every `{% from … import … %}` then compares the importer's globals with the macro
        template's, and a ChainMap answers those set operations slowly (about 200,000
        instructions an import, and as much again to make each render's context). No template
        here adds globals, so they share the environment's dict (later additions still show).
        """
        if not d:
            return self.globals
        return super().make_globals(d)

    def get_template(self, name, parent=None, globals=None):
        env = self._for_request()
        if env is self:
            return super().get_template(name, parent, globals)
        return env.get_template(name, parent, globals)

    def select_template(self, names, parent=None, globals=None):
        env = self._for_request()
        if env is self:
            return super().select_template(names, parent, globals)
        return env.select_template(names, parent, globals)


# --- list rows printed with autoescape off -----------------------------------------------------
# The inbox and the documents list escape each row's texts in the view and print them as they are
# (notifications/_row.html, documents/index.html). markupsafe's escape() wraps its C escaper in
# two Python calls and a Markup object (about 0.5 µs a value; a page of 20 rows escapes 100):
# those rows need the escaped text only, so they call the C escaper itself. It is markupsafe's
# private name: if a release drops it, escape() does the same work. tests/test_perf_guards.py
# checks both give markupsafe's text.
try:
    from markupsafe._speedups import _escape_inner as _c_escape
except ImportError:  # markupsafe without its C extension, or a release that renamed it
    _c_escape = None


def html_text(value) -> str:
    """`str(markupsafe.escape(value))` for a str (the text of a value, HTML-escaped)."""
    if _c_escape is not None and type(value) is str:
        return _c_escape(value)
    return str(escape(value))
