"""Where the defaults live: the package's data folder (a copy of the repository's calibration/).

Kept apart from scenario.py so modules that read data files (prices) do not import the schema.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
DATA_SUFFIXES = (".csv", ".yaml")  # what of calibration/ ships in the package


CALIBRATION_ENV = "IPS_SIM_CALIBRATION_DIR"  # a folder to use instead of the packaged calibration data


def calibration_dir() -> Path:
    """Folder holding the defaults table and fitted parameters: the copy shipped in the package.

    ``IPS_SIM_CALIBRATION_DIR`` overrides it (tests, or a site with its own fit). The
    repository's ``calibration/`` is where ``ips-sim calibrate`` writes; ``make data``
    (:func:`refresh_package_data`) copies it into the package, and a test checks the two agree.
    """
    env = os.environ.get(CALIBRATION_ENV)
    if env:
        return Path(env)
    return PACKAGE_DATA


def repository_calibration_dir() -> Path:
    """``calibration/`` of the source checkout (where calibration writes), or ./calibration when installed."""
    repo = Path(__file__).resolve().parents[2] / "calibration"
    return repo if repo.is_dir() else Path("calibration")


def refresh_package_data(source: Path | None = None) -> list[str]:
    """Copy the defaults and fit (``*.csv``, ``*.yaml``) from ``calibration/`` into the package; names copied."""
    import shutil

    source = source or repository_calibration_dir()
    PACKAGE_DATA.mkdir(exist_ok=True)
    copied = []
    for path in sorted(source.iterdir()):
        if path.suffix in DATA_SUFFIXES:
            shutil.copyfile(path, PACKAGE_DATA / path.name)
            copied.append(path.name)
    return copied


def read_csv_rows(path: Path, missing: str, error=None, skip_blank: bool = True) -> list[list[str]]:
    """Rows of a user's CSV file (blank ones dropped unless ``skip_blank`` is False).

    A missing or unreadable file is one line of ``error``.

    ``missing`` says what the file should be (for the no-such-file line); ``error`` is the
    :class:`~ips_sim.core.errors.UserError` kind the caller collects (default UserError).
    """
    import csv

    from ips_sim.core.errors import UserError

    error = error or UserError
    src = str(path)
    kind = what_is(path)
    if kind == "nothing":
        raise error([f"{src}: (file): no such file: {missing}"])
    if kind != "a file":
        raise error([f"{src}: (file): is {kind}, not a file: {missing}"])
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise error([f"{src}: (file): cannot read: {exc}"]) from None
    return [r for r in rows if any(c.strip() for c in r)] if skip_blank else rows


def what_is(path) -> str:
    """What is at ``path``, in words: "a file", "a folder", "a named pipe (FIFO)", ... or "nothing".

    Said instead of "no such file" when a CSV is expected and something else is there; a FIFO is
    never opened (reading one would wait for a writer for ever).
    """
    import stat

    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return "nothing"
    for test, words in ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a regular file"  # pragma: no cover


def not_this_csv(src: str, rows: list[list[str]], columns, what: str) -> str | None:
    """A line describing (never printing) a file whose first line names none of ``columns``; None if it does.

    A system file given by mistake (``/etc/passwd``) must not be echoed line by line in error messages.
    """
    header = {c.strip().lower() for c in rows[0]} if rows else set()
    if header & {c.lower() for c in columns}:
        return None
    return (f"{src}: (file): not {what}: its first line names none of the columns {', '.join(columns)} "
            f"({len(rows):,} lines; content not shown)")
