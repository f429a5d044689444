"""Interrupted work resumes: the finished work units of a long command, kept in ``<out>.partial``.

Every command that may run long (``run``, ``sweep``, ``sensitivity``, ``state``) keeps a
:class:`Checkpoint`: each finished unit of work (a chunk of replications, a sweep point, a
batch of sample points ...) is saved as one file through :func:`output.write_bytes`
(temporary name, then renamed), beside ``key.json``, what the run is (resolved scenario,
seed, design ...). On the same ``--out`` a later command

- finds no folder: starts one;
- finds one but was not given ``--resume``: refused with one line (saved work is never
  silently thrown away);
- finds one saved under another key: refused with one line (results of different runs are
  never mixed);
- otherwise loads the saved units and runs only the missing ones.

Temporary files of a process killed while writing are removed when the store opens; once the
results are written, ``discard()`` removes the folder.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from ips_sim.core.errors import UserError
from ips_sim.runner.output import partial_dir, write_bytes

__all__ = ["Checkpoint", "partial_dir"]

KEY_FILE = "key.json"


def _plain(x):
    """numpy numbers as Python numbers (non-finite values kept: units are read back exactly)."""
    import numpy as np

    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _canonical(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, default=str)


class Checkpoint:
    """Finished work units of one run in ``folder`` (``partial_dir(out)``), stored under ``key``.

    ``codec`` is ``"json"`` (units as readable JSON: numbers, lists, mappings) or ``"pickle"``
    (any Python object, e.g. replication records); ``units`` names the subfolder holding them.
    ``what`` and ``settings`` word the refusals ("an unfinished <what>", "a different
    <settings>"); ``error`` is the :class:`UserError` kind raised.
    """

    CODECS = {"json": ".json", "pickle": ".pkl"}

    def __init__(self, folder: str | Path, key: dict, *, codec: str = "json", units: str = "units",
                 what: str = "run", settings: str = "settings", error: type[UserError] = UserError):
        if codec not in self.CODECS:
            raise ValueError(f"codec {codec!r}: one of {', '.join(self.CODECS)}")
        self.folder = Path(folder)
        self.key = json.loads(_canonical(key))
        self.codec = codec
        self.units = self.folder / units
        self.what, self.settings, self.error = what, settings, error

    # ------------------------------------------------------------------ opening

    def saved_key(self) -> Any:
        """The key the folder was started with; None if there is none (or it cannot be read)."""
        try:
            return json.loads((self.folder / KEY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def matches(self) -> bool:
        """The folder was started with this key."""
        return _canonical(self.saved_key()) == _canonical(self.key)

    def open(self, resume: bool) -> Checkpoint:
        """Refuse saved work without ``resume`` or of another key; then start (or continue) the folder."""
        if self.folder.exists():
            if not resume:
                raise self.error([f"{self.folder}: an unfinished {self.what} is saved here: add --resume to "
                                  "continue it, or delete the folder to start again"])
            if self.saved_key() is None and any(p.is_file() for p in self.folder.rglob("*")):
                raise self.error([f"{self.folder}: holds files that ips-sim did not write (no {KEY_FILE}); "
                                  "ips-sim keeps unfinished work here and never mixes it with yours: move them"])
            empty = self.saved_key() is None and not self.names()
            if not empty and not self.matches():
                raise self.error([f"{self.folder}: the unfinished {self.what} saved here has a different "
                                  f"{self.settings}: --resume needs the same settings, or delete the folder "
                                  "to start again"])
        self.units.mkdir(parents=True, exist_ok=True)
        write_bytes(self.folder / KEY_FILE, (json.dumps(self.key, sort_keys=True, indent=1) + "\n").encode())
        self.clean()
        return self

    def clean(self) -> None:
        """Remove temporary files and folders of a process killed while writing a unit."""
        for stale in self.units.glob(".*.tmp*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)

    def part(self, units: str) -> Checkpoint:
        """Another units folder of the same (opened) run, for work in parts (a trial's two arms)."""
        other = Checkpoint(self.folder, self.key, codec=self.codec, units=units, what=self.what,
                           settings=self.settings, error=self.error)
        other.units.mkdir(parents=True, exist_ok=True)
        other.clean()
        return other

    # ------------------------------------------------------------------ units

    def path(self, name: str) -> Path:
        return self.units / f"{name}{self.CODECS[self.codec]}"

    def save(self, name: str, obj: Any) -> None:
        """Save unit ``name`` whole (temporary file, renamed): a reader sees all of it or nothing."""
        if self.codec == "json":
            data = (json.dumps(obj, indent=1, sort_keys=True, allow_nan=True, default=_plain) + "\n").encode()
        else:
            data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        write_bytes(self.path(name), data)

    def load(self, name: str) -> Any:
        """Unit ``name`` as saved, or None if it is missing or unreadable (then it is run again)."""
        try:
            data = self.path(name).read_bytes()
            return json.loads(data) if self.codec == "json" else pickle.loads(data)
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            return None

    def names(self) -> list[str]:
        """Names of the saved units, sorted."""
        ext = self.CODECS[self.codec]
        return sorted(p.name[:-len(ext)] for p in self.units.glob(f"*{ext}") if not p.name.startswith("."))

    # ------------------------------------------------------------------ the end

    def hand_over(self, dest: Path) -> None:
        """A copy of the units folder at ``dest`` for a command whose results include the units (hard links
        where the file system has them, so nothing is duplicated); the store itself stays until ``discard()``."""

        def link(src, dst):
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)

        shutil.copytree(self.units, dest, copy_function=link,
                        ignore=shutil.ignore_patterns(".*"))

    def discard(self) -> None:
        """Remove what the store wrote (its key and units): the results it was kept for are written.

        A file a user put in the folder meanwhile is left, with the folders holding it.
        """
        ours = set(self.CODECS.values())
        for p in sorted(self.folder.rglob("*"), key=lambda q: len(q.parts), reverse=True):
            if p.is_dir() and not p.is_symlink():
                try:
                    p.rmdir()
                except OSError:
                    pass
            elif p.parent != self.folder and (p.suffix in ours or (p.name.startswith(".") and ".tmp" in p.name)):
                p.unlink(missing_ok=True)
        (self.folder / KEY_FILE).unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass
