"""The application's log: one line per record, whatever a visitor typed.

A path, an e-mail address or an exception message may carry CR/LF, ANSI escapes
or other control characters; written as they are, they could forge log lines or
repaint a terminal. `SafeFormatter` escapes every non-printable character of the
message (`\\r`, `\\n`, `\\x1b`…) and prefixes each line of a traceback with "| ",
so that a new record always starts a line with "[". Records go to standard error,
or to TRADEPORTAL_LOG_FILE when it is set.
"""
from __future__ import annotations

import logging

from flask import Flask
from flask.logging import default_handler, wsgi_errors_stream

FORMAT = "[%(asctime)s] %(levelname)s in %(name)s: %(message)s"


def escape(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


class SafeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        saved = record.msg, record.args, record.exc_text
        record.msg, record.args, record.exc_text = escape(record.getMessage()), None, None
        try:
            return super().format(record)
        finally:
            record.msg, record.args, record.exc_text = saved

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return _quoted(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return _quoted(stack_info)


def _quoted(text: str) -> str:
    return "\n".join("| " + escape(line) for line in text.splitlines())


def configure(app: Flask) -> None:
    """Give the `tradeportal` logger (Flask's app.logger) one handler with the safe formatter."""
    logger = logging.getLogger("tradeportal")
    for handler in list(logger.handlers):
        if handler is default_handler or getattr(handler, "tradeportal", False):
            logger.removeHandler(handler)
    path = app.config.get("LOG_FILE")
    handler = logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(wsgi_errors_stream)
    handler.tradeportal = True
    handler.setFormatter(SafeFormatter(FORMAT))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
