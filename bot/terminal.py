"""Text bound for a terminal or a log: control characters escaped, so article text and file names can
neither move the cursor, ring the bell, nor forge extra report lines."""

from __future__ import annotations

import logging
import re

# C0 and C1 controls, DEL, bidirectional overrides and lone surrogates (undecodable bytes of a file name)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with control characters written as escapes (\\x1b, \\u202e); `lines` keeps newlines and tabs."""
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_escape, text)


class PrintableFormatter(logging.Formatter):
    """A log formatter whose messages carry no raw control characters (a newline in a message is escaped
    too, so a message is one line; a traceback keeps its lines)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)
