"""The one set of checked readers for every file the flow reads (config, data, compressed folder,
bundle, build state, test vectors): a missing, empty, truncated, random-byte or wrong-type file is a
UsageError (exit 2) naming the file, what is wrong and the fix, never a traceback.

It lives in flow.runtime because the board's driver reads bundle files with it too, and the runtime
imports nothing of flow but `errors` and `fixed` (everything above may import it).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from flow.errors import UsageError


class FileError(UsageError):
    """A file the flow reads is missing, unreadable, damaged or of the wrong kind (exit code 2)."""


def bad_file(path, what: str, fix: str) -> FileError:
    """`<path>: <what>; <fix>`, one line."""
    what = " ".join(str(what).split())  # one line, whatever the underlying library said
    return FileError(f"{path}: {what}; {fix}")


def require_file(path, fix: str, *, kind: str = "file", allow_empty: bool = False) -> Path:
    """`path` as a Path, checked to be an existing, readable, non-empty regular file."""
    path = Path(path)
    if path.is_dir():
        raise bad_file(path, f"is a folder, not a {kind}", fix)
    if not path.exists():
        raise bad_file(path, f"does not exist (a {kind} is expected here)", fix)
    if not path.is_file():
        raise bad_file(path, f"is not a regular file (a {kind} is needed)", fix)
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise bad_file(path, f"cannot be read ({exc.strerror or exc})", fix) from None
    if size == 0 and not allow_empty:
        raise bad_file(path, f"is empty (0 bytes), not a {kind}", fix)
    return path


def read_text(path, fix: str, *, kind: str = "text file", allow_empty: bool = False) -> str:
    """A UTF-8 text file; binary content is refused."""
    path = require_file(path, fix, kind=kind, allow_empty=allow_empty)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise bad_file(path, f"cannot be read ({exc.strerror or exc})", fix) from None
    if b"\x00" in raw:
        raise bad_file(path, f"holds binary data, not a {kind}", fix)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_file(path, f"is not UTF-8 text (byte {exc.start}), not a {kind}", fix) from None


def read_json_object(path, fix: str, *, kind: str = "JSON file") -> dict:
    """A JSON file whose top level is an object."""
    text = read_text(path, fix, kind=kind)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_file(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}; truncated or damaged?)", fix) from None
    if not isinstance(data, dict):
        raise bad_file(path, f"holds a JSON {type(data).__name__}, not an object", fix)
    return data


def load_npz(path, fix: str, *, required: tuple[str, ...] = (), kind: str = ".npz archive") -> dict[str, np.ndarray]:
    """Every array of an .npz archive (no pickles), read and checked to be complete."""
    path = require_file(path, fix, kind=kind)
    with open(path, "rb") as f:
        head = f.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise bad_file(path, f"is a single .npy array, not a {kind} of named arrays", fix)
    if not zipfile.is_zipfile(path):
        raise bad_file(path, f"is not a {kind} (not a zip archive: truncated, damaged or another format)", fix)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            missing = [k for k in required if k not in names]
            if missing:
                raise bad_file(
                    path, f"lacks array(s) {', '.join(missing)} (holds: {', '.join(names) or 'none'})", fix
                )
            arrays = {k: np.asarray(z[k]) for k in names}
    except FileError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError (pickled objects), OSError, zlib.error
        raise bad_file(path, f"is damaged ({type(exc).__name__}: {exc})", fix) from None
    for name, a in arrays.items():
        if a.dtype == object:
            raise bad_file(path, f"array {name!r} holds Python objects, not numbers", fix)
    return arrays


def check_array(path, name: str, a: Any, *, ndim: tuple[int, ...] | None = None, numeric: bool = True,
                fix: str = "") -> np.ndarray:
    """One array of a file: numeric (not bool/str) and of one of the allowed ranks."""
    a = np.asarray(a)
    if numeric and not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise bad_file(path, f"{name} has dtype {a.dtype}; it must be numeric", fix)
    if ndim is not None and a.ndim not in ndim:
        raise bad_file(path, f"{name} has shape {a.shape}; expected {' or '.join(f'{d}-D' for d in ndim)}", fix)
    return a
