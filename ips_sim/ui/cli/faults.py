"""Faults of the machine, not of the input, as one line each: a full disk, a name too long, a
deleted current folder, standard output that cannot be written, library warnings.

Each line names what failed and what to do, adds where finished work is kept (the interrupt
hint), and the command exits with status 1. Library warnings a user can act on become one
plain line (none under ``--quiet``); the rest are silenced.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import warnings

import click

from ips_sim.ui.cli import interrupt

ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and run the same command again",
    errno.EDQUOT: "the disk quota is used up: free some space and run the same command again",
    errno.ENAMETOOLONG: "a name is too long for this file system: give a shorter --out",
    errno.EACCES: "permission denied: give a folder you can write",
    errno.EPERM: "not permitted: give a folder you can write",
    errno.EROFS: "the file system is read-only: give a folder you can write",
    errno.EIO: "input/output error: check the disk and run the same command again",
    errno.EMFILE: "too many open files: raise the limit (ulimit -n) or use fewer workers",
}


def cwd_gone() -> bool:
    """The current folder was deleted under the process."""
    try:
        os.getcwd()
        return False
    except FileNotFoundError:
        return True


def from_echo(exc: BaseException) -> bool:
    """The error came from printing (click.echo): standard output or error cannot be written."""
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in ("echo", "secho") and "click" in code.co_filename:
            return True
        tb = tb.tb_next
    return False


def stdout_broken() -> bool:
    """Standard output cannot be written (a full device, a closed pipe)."""
    try:
        sys.stdout.flush()
        return False
    except (OSError, ValueError):
        return True


def mute_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush cannot print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    try:
        sys.stdout = open(os.devnull, "w")
    except OSError:  # pragma: no cover
        pass


def describe(exc: OSError) -> str:
    """One line for an OSError: what failed, what to do, where finished work is kept."""
    hint = interrupt.hint()
    if cwd_gone():
        return ("ips-sim: the current folder was deleted while ips-sim was working: cd to an existing folder "
                f"and run the same command again; {hint}")
    reason = exc.strerror or type(exc).__name__
    what = ADVICE.get(exc.errno, f"{reason}: check the folder and run the same command again")
    where = exc.filename if exc.filename is not None else "(file)"
    if exc.errno in ADVICE:
        what = f"{reason}: {ADVICE[exc.errno].split(': ', 1)[1]}"
    return f"ips-sim: {where}: {what}; {hint}"


def say(line: str) -> None:
    """A line on stderr; never fails (stderr may be broken too)."""
    try:
        click.echo(line, err=True)
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- library noise

_PLAIN = {
    # category name -> the line a user can act on (None: silenced)
    "ConvergenceWarning": "note: the statistical fit did not fully converge: look at its plot and consider "
                          "a longer history",
}


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("quiet"):
            return True
        ctx = ctx.parent
    return False


def _show(message, category, filename, lineno, file=None, line=None):
    """Library warnings: a plain line for what a user can act on (once), nothing for the rest."""
    text = _PLAIN.get(category.__name__)
    if text is None and "ips_sim" in str(filename) and issubclass(category, UserWarning):
        text = f"note: {message}"
    if text is None or _quiet() or text in _shown:
        return
    _shown.add(text)
    say(text)


_shown: set[str] = set()


def install() -> None:
    """Warnings and library log messages routed as described in the module docstring."""
    _shown.clear()
    warnings.showwarning = _show
    # matplotlib's note about its config folder (an unwritable HOME) concerns a cache, not results
    logging.getLogger("matplotlib").setLevel(logging.ERROR)
    os.environ.setdefault("MPLCONFIGDIR", _mpl_config_dir())


def _mpl_config_dir() -> str:
    home = os.path.expanduser("~/.config/matplotlib")
    if os.access(os.path.dirname(home) if not os.path.isdir(home) else home, os.W_OK):
        return home
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"ips-sim-matplotlib-{os.getuid()}")
