"""Names of scenarios and sweeps: each becomes one folder name, so each must be a safe path component.

A name given in a file (``name:``) is checked and refused with what is allowed;
a name taken from a file name (no ``name:`` in the file) is made safe instead,
because ``my scenario.yaml``, ``café.yaml`` and ``a+b.yaml`` are good files.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 200        # UTF-8; file systems allow 255 bytes per name, leaving room for suffixes
RESERVED_SUFFIXES = (".partial",)   # ips-sim's working folders are <name>.partial
NAME_RULE = (f"a name is used as a folder name: 1 to {MAX_NAME_CHARS} letters, digits, '_', '-' or '.', "
             "not starting with '.' or '-', not ending in .partial")

_ALLOWED = re.compile(r"[^\W]|[-.]")  # a letter, a digit, '_' (\w), '-' or '.'


def _allowed_char(c: str) -> bool:
    return bool(_ALLOWED.fullmatch(c))


def name_problem(name) -> str | None:
    """Why ``name`` cannot be a scenario or sweep name (``NAME_RULE`` with the detail), or None if it can."""
    if not isinstance(name, str):
        return f"must be text; {NAME_RULE}"
    if not name:
        return f"is empty; {NAME_RULE}"
    if unicodedata.normalize("NFC", name) != name:
        return f"is not in Unicode normal form NFC (retype it); {NAME_RULE}"
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"is {len(name):,} characters long; {NAME_RULE} (at most {MAX_NAME_BYTES} bytes in UTF-8)"
    if name.startswith((".", "-")):
        return f"starts with {name[0]!r}; {NAME_RULE}"
    bad = sorted({c for c in name if not _allowed_char(c)})
    if bad:
        shown = " ".join(repr(c) if c.isprintable() else c.encode("unicode_escape").decode() for c in bad[:8])
        return f"has characters that are not allowed ({shown}); {NAME_RULE}"
    if name.lower().endswith(RESERVED_SUFFIXES):
        return f"ends in {name[name.rfind('.'):]}; {NAME_RULE}"
    return None


def safe_name(text: str, fallback: str = "scenario") -> str:
    """A valid name made from ``text`` (a file name without its extension).

    >>> safe_name("my scenario"), safe_name("café"), safe_name("a+b"), safe_name("."), safe_name("x.partial")
    ('my_scenario', 'café', 'a_b', 'scenario', 'x_partial')
    """
    text = unicodedata.normalize("NFC", str(text))
    out = "".join(c if _allowed_char(c) else "_" for c in text)
    out = re.sub(r"_{2,}", "_", out).lstrip("._-").rstrip("_")
    for suffix in RESERVED_SUFFIXES:
        if out.lower().endswith(suffix):
            out = out[: -len(suffix)] + "_" + suffix[1:]
    out = out[:MAX_NAME_CHARS]
    while len(out.encode("utf-8")) > MAX_NAME_BYTES:
        out = out[:-1]
    out = out.rstrip("_")
    return out if name_problem(out) is None else fallback


def readable(name: str) -> str:
    """A name in words for people: underscores as spaces, first letter capital ("usual_services" -> "Usual services")."""
    text = re.sub(r"[_]+", " ", str(name)).strip()
    return text[:1].upper() + text[1:]
