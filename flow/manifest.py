"""Which files the flow wrote, and their content: the one record behind "up to date" and "ours to replace".

A record maps a path (relative to its folder, '/'-separated) to ``[size, sha256]``. It is used in
two places:

- `.flow-manifest.json` inside an output folder the flow writes as a whole (a compressed-model
  folder): the files listed there are the flow's; anything else in the folder is the user's and is
  carried over when the flow replaces the folder (`carry_over`), never deleted.
- `build_state.json` of a build: each step's record of the files it wrote (`changes` between two
  `snapshot`s), checked (`verify`) before the step is called up to date, and folded (`digest`) into
  the fingerprints of the steps after it, so that a changed input reruns everything that read it.

`content_digest` hashes the inputs a step reads from outside the build folder (a model file, a data
file, the kernel sources) for the same purpose.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Iterable, Mapping

from flow.errors import FlowError

log = logging.getLogger(__name__)

MANIFEST = ".flow-manifest.json"
FORMAT = 1
_CHUNK = 1 << 20

Record = dict[str, list]  # rel path -> [size, sha256 hex]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _walk(root: Path, skip: frozenset[str] = frozenset()) -> Iterable[Path]:
    """Regular files under `root` (symlinks are not followed), sorted; names in `skip` are left out
    at the top level (the record files themselves)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        here = Path(dirpath)
        for name in sorted(filenames):
            p = here / name
            if here == root and name in skip:
                continue
            if p.is_file() and not p.is_symlink():
                yield p


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def scan(root: Path, rels: Iterable[str] | None = None, *, skip: Iterable[str] = (MANIFEST,)) -> Record:
    """``{rel: [size, sha256]}`` of the files `rels` (default: every file under `root`, except `skip`)."""
    root = Path(root)
    paths = (root / r for r in rels) if rels is not None else _walk(root, frozenset(skip))
    out: Record = {}
    for p in paths:
        if p.is_file():
            out[_rel(p, root)] = [p.stat().st_size, file_sha256(p)]
    return out


def snapshot(root: Path, *, skip: Iterable[str] = ()) -> dict[str, tuple[int, int, int]]:
    """Cheap state of every file under `root`: ``{rel: (size, mtime_ns, inode)}`` (no hashing)."""
    root = Path(root)
    out = {}
    for p in _walk(root, frozenset(skip)):
        st = p.stat()
        out[_rel(p, root)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def changes(before: Mapping[str, tuple], after: Mapping[str, tuple]) -> tuple[set[str], set[str]]:
    """(files written or changed, files removed) between two `snapshot`s."""
    written = {r for r, s in after.items() if before.get(r) != s}
    return written, set(before) - set(after)


def verify(root: Path, files: Mapping[str, list]) -> str | None:
    """None when every recorded file is there with its size and content; else the first difference,
    as a phrase ("reports/rtl.json changed since it was written")."""
    root = Path(root)
    for rel, rec in sorted(files.items()):
        p = root / rel
        try:
            size, sha = int(rec[0]), str(rec[1])
        except (TypeError, ValueError, IndexError):
            return f"the record of {rel} is damaged"
        if not p.is_file():
            return f"{rel} is missing"
        if p.stat().st_size != size or file_sha256(p) != sha:
            return f"{rel} changed since it was written"
    return None


def digest(files: Mapping[str, list]) -> str:
    """One hash of a record (paths, sizes and contents)."""
    return hashlib.sha256(json.dumps(sorted(files.items()), default=str).encode()).hexdigest()[:16]


def content_digest(items: Iterable[object]) -> str:
    """One hash of what a step reads from outside the build: each item a Path (a file's content, or
    every file of a folder with its relative path, __pycache__ left out; a missing path counts as
    missing) or a string."""
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, Path):
            h.update(f"path {item.name}\0".encode())
            if item.is_file():
                h.update(file_sha256(item).encode())
            elif item.is_dir():
                for rel, (size, sha) in scan(item, skip=()).items():
                    if "__pycache__" in rel.split("/"):  # Python's own caches come and go
                        continue
                    h.update(f"{rel}\0{size}\0{sha}\0".encode())
            else:
                h.update(b"missing")
        else:
            h.update(f"str {item}\0".encode())
    return h.hexdigest()[:16]


# -- .flow-manifest.json of an output folder --------------------------------------------------------


def write(folder: Path, files: Record | None = None) -> Record:
    """Write `folder`/.flow-manifest.json listing `files` (default: every file now in the folder)."""
    folder = Path(folder)
    files = scan(folder) if files is None else files
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps({"format": FORMAT, "files": files}, indent=1, sort_keys=True))
    os.replace(tmp, folder / MANIFEST)
    return files


def read(folder: Path) -> Record | None:
    """The files `folder`'s manifest lists; None when it has none or it is damaged."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return None
    return {str(k): v for k, v in files.items()}


def foreign(folder: Path, legacy_names: Iterable[str] = (), derived: Iterable[str] = ()) -> list[str]:
    """Files in `folder` the flow did not write: not in its manifest. A folder without a (readable)
    manifest was written by an older flow: there, files whose top-level name is in `legacy_names`
    count as the flow's. Top-level names in `derived` are always the flow's (what other commands
    write into the folder by default, e.g. `flow csim`'s csim/: results of the contents replaced)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    owned = read(folder)
    legacy, derived = set(legacy_names), set(derived)
    out = []
    for p in folder.rglob("*"):  # symlinked folders are not entered
        if not (p.is_symlink() or p.is_file()):  # a user's symlink is theirs too
            continue
        rel = _rel(p, folder)
        top = rel.split("/")[0]
        if rel in (MANIFEST, f".{MANIFEST}.tmp") or top in derived:
            continue
        if (owned is not None and rel in owned) or (owned is None and top in legacy):
            continue
        out.append(rel)
    return sorted(out)


def carry_over(old: Path, new: Path, legacy_names: Iterable[str] = (), derived: Iterable[str] = ()) -> list[str]:
    """Put the user's files of `old` (see `foreign`) at the same places in `new`, before `new` replaces
    `old`: hard links where possible (no copy, no window where the file exists nowhere), else copies.
    A user's file at a path the flow writes in `new` stops the replacement (FlowError naming it)."""
    old, new = Path(old), Path(new)
    theirs = foreign(old, legacy_names, derived)
    clash = [r for r in theirs if (new / r).exists() or (new / r).is_symlink()]
    if clash:
        raise FlowError(
            f"{old} holds file(s) the flow did not write at path(s) it writes: {', '.join(clash[:5])}; "
            f"move them out of {old} and rerun (nothing was replaced)"
        )
    for rel in theirs:
        src, dst = old / rel, new / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    if theirs:
        log.info("kept %d file(s) of yours in %s: %s", len(theirs), old.name, ", ".join(theirs[:5]))
    return theirs
