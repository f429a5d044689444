"""One stable hash of a JSON-like document: what makes two pieces of work "the same".

Keys sorted, compact separators, values JSON cannot write (dates, paths) written as
their text, so the same document always gives the same hash in any process.
Used for run identities (``runner/output.py``), saved work units (state, sweep points)
and checkpoint keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(doc: Any, length: int = 20) -> str:
    """The first ``length`` hex digits of the SHA-256 of ``doc`` as canonical JSON.

    >>> content_hash({"b": 1, "a": [1.5, None]}) == content_hash({"a": [1.5, None], "b": 1})
    True
    """
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
