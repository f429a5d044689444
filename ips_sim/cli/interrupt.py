"""Ctrl-C and SIGTERM: every command stops at once, keeps finished work and exits 130 with a hint."""

from __future__ import annotations

import signal

import click

_hint = {"text": "nothing was written"}


def interrupted(hint: str) -> None:
    """Set what to tell the user if the command is interrupted from now on (where work is saved)."""
    _hint["text"] = hint


def install() -> None:
    """SIGTERM behaves like Ctrl-C: the same clean stop, the same exit status."""
    _hint["text"] = "nothing was written"

    def on_term(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # pragma: no cover - not the main thread (e.g. inside a test runner thread)
        pass


def report() -> None:
    click.echo(f"\ninterrupted: {_hint['text']}", err=True)
