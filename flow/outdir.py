"""Output folders of `flow build` and `flow compress`: checked before any work, locked while written,
and never replaced unless the flow made them.

- `check_out(out, ...)`: refuses an output path the run could not create or must not replace: under
  /proc, /sys or /dev, below a file, in a read-only folder, the current folder or one of its ancestors,
  or an existing folder without the flow's marker file (a user's folder is never deleted, --force or not).
- `OutputLock(out, command)`: an flock on `.<name>.lock` beside the folder, holding the PID; a second
  run into the same folder exits 2 naming the holder. The kernel drops the lock when its process dies,
  so the lock of a killed run is taken over without a question.
- `leftovers(out, kind)`: hidden staging/backup folders a killed run left beside `out`.
- `atomic_folder(out, ...)`: write a folder as a whole into a temporary folder beside it, then swap it
  into place; the files of the old folder the flow did not write (flow.manifest) are kept.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from flow.errors import UsageError

log = logging.getLogger(__name__)

_SYSTEM = ("/proc", "/sys", "/dev")
#: lock files this process holds, with their nesting depth
_HELD: dict[str, int] = {}


def check_out(out, *, option: str = "--out", marker: str, kind: str, force: bool = False) -> Path:
    """`out` resolved, or a UsageError saying why it cannot be this run's output folder.

    marker: the file the flow writes into every such folder (build_state.json, compression.json);
    an existing non-empty folder without it belongs to the user and is refused."""
    given = Path(out)
    fix = f"pass another {option}"
    try:
        out = given.expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"{option} {given}: cannot resolve the path ({exc}); {fix}") from None
    s = str(out)
    if any(s == p or s.startswith(p + "/") for p in _SYSTEM):
        raise UsageError(f"{option} {given} is inside the kernel's {s.split('/')[1]} file system; {fix}")
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        where = "the current folder" if out == cwd else f"an ancestor of the current folder {cwd}"
        raise UsageError(
            f"{option} {given} is {where}; the flow replaces its output folder as a whole, so it must be a "
            f"folder of its own (e.g. {option} ./{kind.split()[0]}-out)"
        )
    for parent in [out, *out.parents]:
        if parent.exists():
            if parent != out and not parent.is_dir():
                raise UsageError(f"{option} {given}: {parent} is a file, not a folder; {fix}")
            break
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {given} exists and is a file, not a folder; {fix}")
    existing = next(p for p in [out.parent, *out.parent.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {given}: {existing} is not writable; {fix}")
    if out.is_dir():
        try:
            entries = [p.name for p in out.iterdir()]
        except OSError as exc:
            raise UsageError(f"{option} {given} cannot be read ({exc.strerror}); {fix}") from None
        if entries and marker not in entries:
            raise UsageError(
                f"{option} {given} exists and is not an eie-flow {kind} (no {marker}; it holds "
                f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}); the flow never replaces a folder "
                f"it did not write{', --force or not' if force else ''}: {fix} or remove it yourself"
            )
    return out


class OutputLock:
    """Exclusive lock on an output folder for one run (see module docstring)."""

    def __init__(self, out: Path, command: str):
        self.out = Path(out)
        self.path = self.out.parent / f".{self.out.name}.lock"
        self.command = command
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        if _HELD.get(key):  # this process holds it already (the CLI locks around the whole command)
            _HELD[key] += 1
            self._nested = True
            return self
        self._nested = False
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise UsageError(f"cannot lock {self.out} ({exc.strerror}); pass another --out") from None
                holder = self._holder()
                raise UsageError(
                    f"{self.out} is being written by another run ({holder}); wait for it to finish, or "
                    "pass another --out"
                ) from None
            try:  # the file may have been unlinked by a finishing run between open and flock
                if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                    raise FileNotFoundError
            except FileNotFoundError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {self.command}\n".encode())
            self.fd = fd
            _HELD[key] = 1
            return self
        raise UsageError(f"cannot lock {self.out}: the lock file keeps changing; retry")

    def _holder(self) -> str:
        try:
            text = self.path.read_text().split()
            return f"PID {int(text[0])}, `flow {' '.join(text[1:2]) or '?'}`"
        except (OSError, ValueError, IndexError):
            return "PID unknown"

    def __exit__(self, *exc) -> None:
        key = str(self.path.resolve())
        if getattr(self, "_nested", False):
            _HELD[key] -= 1
            return
        _HELD.pop(key, None)
        if self.fd is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


#: what follows `.<name>.` in the hidden folders the flow makes beside an output folder (tempfile's
#: 8 random characters; exact, so that `b` never claims the folders of a folder named `b.x`)
STAGING = r"[a-z0-9_]{8}\.building"
BACKUP = r"old-[a-z0-9_]+"
PARTIAL = r"tmp-[a-z0-9_]{8}"


def leftovers(out: Path, suffix: str) -> list[Path]:
    """Folders beside `out` named `.<name>.<suffix>` (a regex: STAGING, BACKUP, PARTIAL), oldest first."""
    import re

    out = Path(out)
    pat = re.compile(re.escape(f".{out.name}.") + suffix + "$")
    if not out.parent.is_dir():
        return []
    found = [p for p in out.parent.iterdir() if pat.match(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def recover_swap(out: Path, pattern: str = BACKUP) -> None:
    """A run killed between moving `out` aside and moving the new folder in leaves no `out` but a
    backup: put the newest backup back; otherwise delete stale backups. Call with the lock held."""
    out = Path(out)
    backups = leftovers(out, pattern)
    if not out.exists() and backups:
        newest = backups.pop()
        inner = newest / "x"  # flow.compress.io.atomic_folder moves the old folder to <backup>/x
        (inner if inner.is_dir() and len(list(newest.iterdir())) == 1 else newest).rename(out)
        log.warning("restored %s from %s (a run was killed while replacing it)", out, newest.name)
        if newest.exists():
            shutil.rmtree(newest, ignore_errors=True)
    for b in backups:
        shutil.rmtree(b, ignore_errors=True)


@contextmanager
def atomic_folder(out_dir: Path, *, legacy_names: Iterable[str] = (), derived: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a temporary folder `.<name>.tmp-*` beside `out_dir` to write the new folder into. When the
    body succeeds: the new folder's `.flow-manifest.json` lists what was written there, the user's files
    of an existing `out_dir` (flow.manifest.foreign: not in its manifest) are carried over, and the new
    folder takes `out_dir`'s place by renames (the old one is moved aside, then deleted), so `out_dir`
    is never half written and a user's file in it is never lost. On failure `out_dir` is untouched.

    legacy_names: top-level names that count as the flow's in a folder without a manifest (written by
    an older flow); derived: top-level names that are always the flow's (see flow.manifest.foreign)."""
    from flow import manifest

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        yield tmp
        manifest.write(tmp)
        if out_dir.exists():
            manifest.carry_over(out_dir, tmp, legacy_names, derived)
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            out_dir.rename(old / "x")  # recover_swap puts it back if a kill comes before the next rename
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
