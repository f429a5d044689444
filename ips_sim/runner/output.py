"""Results folders: written whole or not at all, and never at the expense of a user's files.

Every command that writes results goes through :class:`OutputFolder`:

- ``lock()`` holds an exclusive lock (on the resolved folder, so a symbolic link and its target
  are one folder) for the whole command, then recovers what a killed command left and runs
  ``check()``: lock first, then check, so nothing can slip in between;
- ``check()`` refuses, with one line, a target that is the current folder or one of its
  parents, a file, a path under a file, a name too long for the file system, a folder that
  cannot be written, a folder holding files ips-sim did not write, or a folder of results
  from a different scenario or seed (unless ``overwrite``);
- ``write()`` yields a temporary sibling folder (marked as ips-sim's by a file inside); when
  the block finishes, the folder is stamped (``manifest.json`` gains an ``output`` section
  naming the kind of result, its identity and its files) and exchanged with the old folder in
  one step (``renameat2(RENAME_EXCHANGE)``; where the file system lacks it, two renames that
  the next command's recovery completes). Of the old folder only the files its stamp lists are
  removed: a file a user added while the command ran is kept.

A folder is ips-sim's own only by that stamp's list of files, and only those files (and
temporary folders holding the mark) are ever removed. A symbolic link given as the folder is
kept: the results are written in the folder it points to.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ips_sim.core.errors import UserError
from ips_sim.core.hashing import content_hash
from ips_sim.core.version import __version__

MANIFEST = "manifest.json"
TEMP_MARK = ".ips-sim-temporary"  # inside every temporary folder this module makes; nothing else is removed whole
SUFFIXES = (".partial", ".lock")  # siblings named after the folder (checkpoints, lock file)


def identity_hash(identity: dict) -> str:
    """A stable hash of what makes two results "the same run" (kind, resolved scenario, seed ...)."""
    return content_hash(identity, 16)


def _manifest(folder: Path) -> dict | None:
    try:
        with open(Path(folder) / MANIFEST, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def read_stamp(folder: Path) -> dict | None:
    """The ``output`` stamp of a folder ips-sim wrote (with the list of its files), None otherwise.

    Only a stamp that lists its files makes a folder ips-sim's: an old-style manifest key
    (``versions``, ``fingerprint``) proves nothing about the other files in the folder.
    """
    doc = _manifest(folder)
    stamp = (doc or {}).get("output")
    if not isinstance(stamp, dict) or not str(stamp.get("written_by", "")).startswith("ips-sim"):
        return None
    files = stamp.get("files")
    if not isinstance(files, list) or not all(_inside(f) for f in files):
        return None  # a list naming anything outside the folder is no stamp ips-sim wrote
    return stamp


def _inside(name) -> bool:
    """A listed file name that can only mean a file inside the folder (relative, no '..', no empty part)."""
    if not isinstance(name, str) or not name or "\x00" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _older_ips_sim(folder: Path) -> bool:
    """A manifest of an ips-sim from before stamps listed their files."""
    doc = _manifest(folder) or {}
    return "ips-sim" in (doc.get("versions") or {}) or "fingerprint" in doc


def resolved(path: str | Path) -> Path:
    """``path`` absolute with symbolic links followed (the folder that is really written)."""
    return Path(path).resolve()


def partial_dir(out: str | Path) -> Path:
    """Where the unfinished work of results folder ``out`` is kept: ``<out>.partial`` (see :mod:`ips_sim.runner.resume`).

    A symbolic link given as ``out`` is followed, so a link and its target share one store.
    """
    out = Path(out)
    if out.is_symlink():
        out = resolved(out)
    return out.parent / f"{out.name}.partial"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if (p.is_file() or p.is_symlink()) and p.name != TEMP_MARK)


def _name_max(folder: Path) -> int:
    base = next((p for p in [folder, *folder.parents] if p.is_dir()), Path("/"))
    try:
        return os.pathconf(base, "PC_NAME_MAX")
    except (OSError, ValueError):  # pragma: no cover - no pathconf
        return 255


def remove_owned(folder: Path, files: list[str]) -> list[str]:
    """Remove ``files`` (relative names) from ``folder``, then the folders left empty; names of what is left."""
    dirs = set()
    for name in files:
        if not _inside(name):
            continue  # never anything outside the folder, whatever a manifest says
        p = folder / name
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        dirs.update(q for q in p.parents if folder in q.parents)  # the folders that held them
    (folder / TEMP_MARK).unlink(missing_ok=True)
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        try:
            d.rmdir()
        except OSError:
            pass
    left = _files(folder)
    if not left:
        try:
            folder.rmdir()
        except OSError:
            pass
    return left


def _exchange(a: Path, b: Path) -> bool:
    """Swap folders ``a`` and ``b`` in one step (Linux ``renameat2``); False where the system cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - not Linux / old C library
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    if fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM, errno.EXDEV):
        return False  # the file system (or a sandbox) has no exchange: two renames, recoverable
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def folder_lock(target: Path, say) -> Iterator[None]:
    """An exclusive lock on results folder ``target`` (resolved) for one command; ``say(why)`` words a refusal."""
    import fcntl

    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    f = open(lock_path, "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise say("another ips-sim command is writing this folder now: wait for it or stop it") from None
    try:
        yield
    finally:
        try:
            lock_path.unlink()
        except OSError:
            pass
        f.close()


class OutputFolder:
    """The folder ``path`` that one command writes its results to (see the module docstring)."""

    def __init__(self, path: str | Path, identity: dict, *, kind: str, overwrite: bool = False,
                 option: str = "--out"):
        self.path = Path(path)
        self.kind = kind
        self.identity = identity_hash({"kind": kind, **identity})
        self.overwrite = overwrite
        self.option = option
        self.notes: list[str] = []  # lines for the user (files of theirs carried into the new results)

    # ------------------------------------------------------------------ where

    @property
    def target(self) -> Path:
        """The folder really written: ``path`` with symbolic links followed (the link itself is kept)."""
        return resolved(self.path)

    @property
    def partial(self) -> Path:
        """Work in progress (checkpoints) lives beside the results: ``<out>.partial``."""
        return partial_dir(self.target)

    def _say(self, why: str) -> UserError:
        return UserError([f"{self.option}: {self.path}: {why}"])

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """Refuse every target that would lose or mix up files; see the module docstring.

        Called before any work (to refuse early) and again once the lock is held (to be sure).
        """
        path = self.path
        if not path.name or path.name in (".", ".."):
            raise self._say("give a folder name (ips-sim never writes into '.' or '..' itself)")
        target = self.target
        here = Path.cwd().resolve()
        if target == here or target in here.parents:
            raise self._say("is the current folder or one of its parents: give a new folder for the results")
        if target == Path(target.anchor) or target == Path.home().resolve():
            raise self._say("is the root or your home folder: give a new folder for the results")
        extra = len(f"..tmp-{os.getpid()}")  # the longest sibling ips-sim makes: .NAME.tmp-PID
        room = _name_max(target.parent) - extra
        if len(target.name.encode()) > room:
            raise self._say(f"the name is too long for this file system (ips-sim makes '.NAME.tmp-{os.getpid()}' "
                            f"and 'NAME.partial' beside it): give a name of at most {max(room, 1)} bytes")
        for parent in target.parents:
            if parent.exists() and not parent.is_dir():
                raise self._say(f"{parent} is a file, not a folder")
        if target.exists() and not target.is_dir():
            raise self._say("is a file: give a folder for the results")
        if self.partial.exists() and not self.partial.is_dir():
            raise UserError([f"{self.option}: {self.partial}: is a file where ips-sim keeps unfinished work: "
                             "move or delete it"])
        if target.is_dir() and any(target.iterdir()):
            stamp = read_stamp(target)
            if stamp is None:
                if _older_ips_sim(target):
                    raise self._say("holds results of an older ips-sim that did not list its files, so ips-sim "
                                    "cannot tell them from yours: move the folder or give another")
                raise self._say("holds files that ips-sim did not write; ips-sim never replaces them: "
                                "give a new or empty folder")
            self._refuse_foreign(stamp)
            if stamp.get("identity") != self.identity and not self.overwrite:
                what = "a different kind of result" if stamp.get("kind") not in (None, self.kind) else \
                    "results of a different scenario, seed or settings"
                raise self._say(f"holds {what}: add --overwrite to replace them, or give another folder")
        self._check_writable()

    def _refuse_foreign(self, stamp: dict, during: bool = False) -> None:
        foreign = sorted(set(_files(self.target)) - set(stamp["files"]))
        if foreign:
            listed = f"{', '.join(foreign[:3])}{' ...' if len(foreign) > 3 else ''}"
            if during:
                raise self._say(f"files were added while ips-sim was working ({listed}); ips-sim never replaces "
                                "them: move them and run the same command again (with --resume where it has it)")
            raise self._say(f"holds files that ips-sim did not write ({listed}); ips-sim never replaces them: "
                            "move them or give another folder")

    def _check_writable(self) -> None:
        base = next((p for p in [self.target, *self.target.parents] if p.exists()), Path("."))
        try:
            probe = base / f".ips-sim-probe-{os.getpid()}"
            probe.mkdir()
            probe.rmdir()
        except OSError as exc:
            raise self._say(f"cannot write in {base}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------ lock

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive for the whole command (a second command on the same folder is refused at once);
        then what a killed command left is recovered, and the folder checked."""
        with folder_lock(self.target, self._say):
            self.recover()
            self.check()
            yield

    def recover(self) -> None:
        """Finish or undo what a command killed while writing left (we hold the lock: none is in use).

        A folder renamed aside (``.NAME.old-*``) whose place is empty is put back; temporary
        folders holding the mark are removed; a stamped ips-sim folder holding only its listed
        files loses them. Any other folder that merely matches the names is left whole.
        """
        target = self.target
        parent, name = target.parent, target.name
        for stale in sorted(parent.glob(f".{name}.old-*")) + sorted(parent.glob(f".{name}.tmp-*")):
            if not stale.is_dir() or stale.is_symlink():
                continue
            if (stale / TEMP_MARK).exists():
                shutil.rmtree(stale, ignore_errors=True)
                continue
            stamp = read_stamp(stale)
            if stamp is None or set(_files(stale)) - set(stamp["files"]):
                continue  # not provably ours (or holding a user's files): left whole
            if not target.exists() and not target.is_symlink():
                os.rename(stale, target)  # the previous results, put back where they were
            else:
                remove_owned(stale, stamp["files"])

    # ------------------------------------------------------------------ write

    @contextmanager
    def write(self, manifest: dict | None = None) -> Iterator[Path]:
        """A temporary folder that becomes ``path`` only if the block finishes (stamped, exchanged)."""
        target = self.target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        if tmp.exists() and (tmp / TEMP_MARK).exists():
            shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            (tmp / TEMP_MARK).write_bytes(b"")
            yield tmp
            self._stamp(tmp, manifest)
            self._promote(tmp)
        except BaseException as exc:
            if tmp.exists() and (tmp / TEMP_MARK).exists():
                shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
                # a library's writer (pandas, matplotlib) often names no file: name the results folder
                raise OSError(exc.errno, exc.strerror, f"{self.path} (writing the results)") from None
            raise

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
        """Put ``tmp`` in the folder's place; of the old folder remove only its listed files."""
        target = self.target
        if not target.exists():
            (tmp / TEMP_MARK).unlink()
            os.rename(tmp, target)
            return
        stamp = read_stamp(target)
        if stamp is None:  # the folder changed hands while we worked (we hold the lock: a user did it)
            raise self._say("was changed while ips-sim was working and holds files it did not write: move them "
                            "and run the same command again (with --resume where it has it)")
        self._refuse_foreign(stamp, during=True)
        if _exchange(tmp, target):
            old = tmp  # the old results now sit under the temporary name (no mark: they are stamped)
            (target / TEMP_MARK).unlink(missing_ok=True)
        else:
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.rename(target, old)  # recover() puts it back if we die before the next line
            os.rename(tmp, target)
            (target / TEMP_MARK).unlink(missing_ok=True)
        self._carry_over(old, remove_owned(old, stamp["files"]))

    def _carry_over(self, old: Path, left: list[str]) -> None:
        """Files a user added at the last instant: moved into the new results, never deleted."""
        target = self.target
        for name in left:
            dest = target / name
            if dest.exists() or dest.is_symlink():
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(old / name, dest)
            self.notes.append(f"{self.option}: {self.path}: kept your file {name}, added while ips-sim was "
                              "writing (ips-sim never replaces it)")
        rest = remove_owned(old, [])
        if rest:
            self.notes.append(f"{self.option}: {self.path}: files added while ips-sim was writing that clash "
                              f"with its results were kept in {old}: {', '.join(rest[:3])}")
        for line in self.notes:  # rare (a file added in the instant of the exchange), never silent
            print(line, file=sys.stderr)


def write_json(path: Path, doc: dict) -> None:
    """JSON with sorted keys and a final newline, written to a temporary name and renamed."""
    text = json.dumps(doc, indent=2, sort_keys=True, default=json_default) + "\n"
    write_bytes(path, text.encode("utf-8"), sync=False)


def write_bytes(path: Path, data: bytes, sync: bool = True) -> None:
    """Bytes written to a temporary name, synced and renamed: a reader sees the old file or the new one.

    On any failure (a full disk ...) the temporary file is removed and the old file stays.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
