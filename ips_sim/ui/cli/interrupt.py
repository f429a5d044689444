"""Ctrl-C and SIGTERM: every command stops at once, keeps finished work and exits 130 with a hint."""

from __future__ import annotations

import os
import signal
import sys

import click

_hint = {"text": "nothing was written"}


def interrupted(hint: str) -> None:
    """Set what to tell the user if the command is interrupted from now on (where work is saved)."""
    _hint["text"] = hint


def hint() -> str:
    """Where finished work is kept now (the line added to an interrupt or a fault)."""
    return _hint["text"]


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
    """Say where the work is; if local workers were stopped mid-work, end the process now.

    Finished work is already saved (checkpoints are written atomically); waiting for the
    stopped pool's threads at exit could hang, so the process exits at once with 130.
    """
    click.echo(f"\ninterrupted: {_hint['text']}", err=True)
    from ips_sim.runner import executors

    if executors.POOL_ABANDONED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
