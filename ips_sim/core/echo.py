"""How user input is shown in error lines: one line, bounded length, no control characters.

Every error line echoes the bad value so the user can find it, but a value can
be a 100,000-item list, a whole file read by mistake or text with newlines and
terminal escape codes. :func:`shown` is the one way to echo a value; :class:`ips_sim.core.errors.UserError`
bounds each whole line.
"""

from __future__ import annotations

import reprlib

from ips_sim.core import errors

MAX_VALUE_CHARS = 200      # an echoed value (repr) is cut to this many characters; UserError bounds whole lines

_repr = reprlib.Repr()
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxdict = 8
_repr.maxstring = _repr.maxother = MAX_VALUE_CHARS
_repr.maxlevel = 3


def escape_controls(text: str) -> str:
    """Control characters (newline, escape, NUL, ...) written as \\n, \\x1b, ... so a line stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def clip(text, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` on one line (control characters escaped), cut to about ``limit`` characters."""
    return errors.clip(escape_controls(str(text)), limit + 40)


def shown(value) -> str:
    """A value as echoed in an error line: its repr, nested containers abbreviated, at most a few hundred characters."""
    if isinstance(value, (list, tuple, dict, set)):
        size = len(value)
        text = _repr.repr(value)
        if size > 8:
            kind = "items" if not isinstance(value, dict) else "keys"
            text = f"{text} ({size:,} {kind})"
        return clip(text, MAX_VALUE_CHARS + 40)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a value whose repr fails is still reported
        text = f"<{type(value).__name__}>"
    return clip(text)
