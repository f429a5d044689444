"""Results folders: written whole or not at all, and never at the expense of a user's files.

Every command that writes results goes through :class:`OutputFolder`:

- ``check()`` runs before any simulation and refuses, with one line, a target
  that is the current folder or one of its parents, a file, a path under a
  file, a folder that cannot be written, a folder holding files ips-sim did
  not write, or a folder of results from a different scenario or seed (unless
  ``overwrite``);
- ``lock()`` holds an exclusive lock so two commands never write the same folder;
- ``write()`` yields a temporary sibling folder; when the block finishes, the
  folder is stamped (``manifest.json`` gains an ``output`` section naming the
  kind of result, its identity and its files) and renamed into place. On any
  error or interrupt the temporary folder is removed and the old results stay.

A folder is recognised as ips-sim's own by that stamp, so only folders this
module wrote are ever replaced, and only with exactly the files it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ips_sim.core.errors import UserError
from ips_sim.core.hashing import content_hash
from ips_sim.core.version import __version__

MANIFEST = "manifest.json"


def identity_hash(identity: dict) -> str:
    """A stable hash of what makes two results "the same run" (kind, resolved scenario, seed ...)."""
    return content_hash(identity, 16)


def read_stamp(folder: Path) -> dict | None:
    """The ``output`` stamp of a folder ips-sim wrote, ``{}`` for an older ips-sim folder, None otherwise."""
    try:
        with open(Path(folder) / MANIFEST, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    stamp = doc.get("output")
    if isinstance(stamp, dict) and stamp.get("written_by", "").startswith("ips-sim"):
        return stamp
    if "ips-sim" in (doc.get("versions") or {}) or "fingerprint" in doc:
        return {}  # written by an ips-sim from before stamps: ours, identity unknown
    return None


def partial_dir(out: str | Path) -> Path:
    """Where the unfinished work of results folder ``out`` is kept: ``<out>.partial`` (see :mod:`ips_sim.runner.resume`)."""
    out = Path(out)
    return out.parent / f"{out.name}.partial"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


class OutputFolder:
    """The folder ``path`` that one command writes its results to (see the module docstring)."""

    def __init__(self, path: str | Path, identity: dict, *, kind: str, overwrite: bool = False,
                 option: str = "--out"):
        self.path = Path(path)
        self.kind = kind
        self.identity = identity_hash({"kind": kind, **identity})
        self.overwrite = overwrite
        self.option = option
        self._lock_file = None

    # ------------------------------------------------------------------ where

    @property
    def partial(self) -> Path:
        """Work in progress (checkpoints) lives beside the results: ``<out>.partial``."""
        return partial_dir(self.path)

    def _lock_path(self) -> Path:
        return self.path.parent / f".{self.path.name}.lock"

    def _say(self, why: str) -> UserError:
        return UserError([f"{self.option}: {self.path}: {why}"])

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """Refuse, before any work, every target that would lose or mix up files; see the module docstring."""
        path = self.path
        if not path.name or path.name in (".", ".."):
            raise self._say("give a folder name (ips-sim never writes into '.' or '..' itself)")
        resolved = path.resolve()
        here = Path.cwd().resolve()
        if resolved == here or resolved in here.parents:
            raise self._say("is the current folder or one of its parents: give a new folder for the results")
        if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
            raise self._say("is the root or your home folder: give a new folder for the results")
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                raise self._say(f"{parent} is a file, not a folder")
        if path.exists() and not path.is_dir():
            raise self._say("is a file: give a folder for the results")
        if self.partial.exists() and not self.partial.is_dir():
            raise UserError([f"{self.option}: {self.partial}: is a file where ips-sim keeps unfinished work: "
                             "move or delete it"])
        if path.is_dir() and any(path.iterdir()):
            stamp = read_stamp(path)
            if stamp is None:
                raise self._say("holds files that ips-sim did not write; ips-sim never replaces them: "
                                "give a new or empty folder")
            foreign = sorted(set(_files(path)) - set(stamp.get("files", _files(path))))
            if foreign:
                raise self._say(f"holds files that ips-sim did not write ({', '.join(foreign[:3])}"
                                f"{' ...' if len(foreign) > 3 else ''}); ips-sim never replaces them: "
                                "move them or give another folder")
            if stamp.get("identity") != self.identity and not self.overwrite:
                what = "a different kind of result" if stamp.get("kind") not in (None, self.kind) else \
                    "results of a different scenario, seed or settings"
                raise self._say(f"holds {what}: add --overwrite to replace them, or give another folder")
        self._check_writable()

    def _check_writable(self) -> None:
        base = next((p for p in [self.path, *self.path.parents] if p.exists()), Path("."))
        try:
            probe = base / f".ips-sim-probe-{os.getpid()}"
            probe.mkdir()
            probe.rmdir()
        except OSError as exc:
            raise self._say(f"cannot write in {base}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------ lock

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive for the whole command: a second command on the same folder is refused at once."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self._lock_path()
        f = open(lock_path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise self._say("another ips-sim command is writing this folder now: wait for it or stop it") from None
        try:
            self._clean_leftovers()
            yield
        finally:
            try:
                lock_path.unlink()
            except OSError:
                pass
            f.close()

    def _clean_leftovers(self) -> None:
        """Temporary folders of an earlier run killed while writing (we hold the lock: none is in use)."""
        parent, name = self.path.parent, self.path.name
        for pattern in (f".{name}.tmp-*", f".{name}.old-*", f".{name}.partial-*"):
            for stale in parent.glob(pattern):
                shutil.rmtree(stale, ignore_errors=True)

    # ------------------------------------------------------------------ write

    @contextmanager
    def write(self, manifest: dict | None = None) -> Iterator[Path]:
        """A temporary folder that becomes ``path`` only if the block finishes (stamped, renamed)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.parent / f".{self.path.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            yield tmp
            self._stamp(tmp, manifest)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self._promote(tmp)

    def _stamp(self, tmp: Path, manifest: dict | None) -> None:
        doc = dict(manifest or {})
        if (tmp / MANIFEST).exists():
            with open(tmp / MANIFEST, encoding="utf-8") as f:
                doc = {**json.load(f), **doc}
        files = sorted(set(_files(tmp)) | {MANIFEST})
        doc["output"] = {"kind": self.kind, "identity": self.identity, "files": files,
                         "written_by": f"ips-sim {__version__}"}
        write_json(tmp / MANIFEST, doc)

    def _promote(self, tmp: Path) -> None:
        old = None
        if self.path.exists():
            old = self.path.parent / f".{self.path.name}.old-{os.getpid()}"
            self.path.rename(old)
        tmp.rename(self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, doc: dict) -> None:
    """JSON with sorted keys and a final newline, written to a temporary name and renamed."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True, default=json_default)
        f.write("\n")
    os.replace(tmp, path)


def write_bytes(path: Path, data: bytes) -> None:
    """Bytes written to a temporary name, synced and renamed: a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def json_default(x):
    import math

    import numpy as np

    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
