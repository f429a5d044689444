"""The user-error type: bad input reported as one line per problem, never a traceback.

Library modules raise :class:`UserError` (or a subclass) with every problem
they found; the command line prints each message on its own line and exits
with status 2. Nothing here knows about the command line.
"""

from __future__ import annotations

MAX_LINE = 600  # characters of one message line; longer lines lose their middle (see ``clip_line``)
LINE_TAIL = 250  # the end of a line says what is allowed: it is kept whole


def clip(text: str, limit: int = MAX_LINE) -> str:
    """``text`` cut to ``limit`` characters with a note of how much was left out."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... ({len(text) - limit + 40} more characters)"


def clip_line(text: str, limit: int = MAX_LINE) -> str:
    """A message line cut in its middle: the head names the file and field, the tail says what is allowed."""
    text = str(text)
    if len(text) <= limit:
        return text
    head = limit - LINE_TAIL - 40
    return f"{text[:head]} ...({len(text) - head - LINE_TAIL} characters left out)... {text[-LINE_TAIL:]}"


class UserError(Exception):
    """Bad input or a refused request; ``messages`` holds one line per problem."""

    exit_code = 2

    def __init__(self, messages: list[str] | str):
        if isinstance(messages, str):
            messages = [messages]
        self.messages = [clip_line(" ".join(str(m).splitlines())) for m in messages]
        super().__init__("\n".join(self.messages))


class EnvironmentFault(UserError):
    """The machine, not the input, stopped the command (a full disk, a killed worker ...): exit status 1."""

    exit_code = 1
