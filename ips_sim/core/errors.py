"""The user-error type: bad input reported as one line per problem, never a traceback.

Library modules raise :class:`UserError` (or a subclass) with every problem
they found; the command line prints each message on its own line and exits
with status 2. Nothing here knows about the command line.
"""

from __future__ import annotations

MAX_LINE = 400  # characters of one message line; longer echoed values are cut (see ``clip``)


def clip(text: str, limit: int = MAX_LINE) -> str:
    """``text`` cut to ``limit`` characters with a note of how much was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text) - limit + 40} more characters)"


class UserError(Exception):
    """Bad input or a refused request; ``messages`` holds one line per problem."""

    exit_code = 2

    def __init__(self, messages: list[str] | str):
        if isinstance(messages, str):
            messages = [messages]
        self.messages = [clip(" ".join(str(m).splitlines())) for m in messages]
        super().__init__("\n".join(self.messages))


class EnvironmentFault(UserError):
    """The machine, not the input, stopped the command (a full disk, a killed worker ...): exit status 1."""

    exit_code = 1
