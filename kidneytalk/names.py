"""File names as the user sees them: any name works, and is shown on one line, escaped.

On POSIX a file name is bytes. Python decodes names that are not valid UTF-8
with lone surrogates (``surrogateescape``), which cannot be printed, logged
or stored in SQLite, and a name may hold newlines, terminal escapes or
bidirectional overrides that split or disguise messages, ``list`` rows and log
lines. Everything KidneyTalk shows or records about a name goes through
:func:`shown`: undecodable bytes become ``\\xff``, control and format
characters become ``\\n``, ``\\x1b``, ``\\u202e``; the file itself is always
opened by its real path.
"""

from __future__ import annotations

import os
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_text(text: str) -> str:
    """``text`` printable on one line: surrogates, control and format characters escaped."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    return "".join(out)


def shown(path: str | os.PathLike[str]) -> str:
    """A file's name for messages, lists and logs."""
    return safe_text(os.path.basename(os.fspath(path)) or os.fspath(path))


def shown_path(path: str | os.PathLike[str]) -> str:
    """A whole path for messages, JSON and the catalog."""
    return safe_text(os.fspath(path))


def error_summary(exc: BaseException, limit: int = 160) -> str:
    """``Type: first paragraph`` of an exception, printable, on one line and at most ``limit``
    characters of message: a library's multi-paragraph error text must not become a status or a
    report line."""
    paragraph: list[str] = []
    for line in str(exc).splitlines():
        if line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    first = " ".join(" ".join(paragraph).split())
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    return safe_text(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
