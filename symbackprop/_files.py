"""Writing output files whole or not at all.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
>>> write_atomic(str(path), "hello\\n"); path.read_text()
'hello\\n'
"""
from __future__ import annotations

import os
import tempfile

from ._errors import OutputError


def _mode_for(path: str) -> int:
    """The existing file's mode, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``.

    A failure (or Ctrl-C) part-way leaves an existing ``path`` as it was.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist; create it first")
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".symbackprop-", dir=folder)
    except OSError as err:
        raise OutputError(f"cannot write in {folder}: {err.strerror}; choose another folder") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_text(path, what: str, error=ValueError) -> str:
    """A UTF-8 file's text, or ``error`` saying why not (missing, a folder, not UTF-8, empty).

    what: how the message names the file, e.g. "spec file".
    """
    from pathlib import Path
    p = Path(path)
    if not p.exists():
        raise error(f"{what} {str(path)!r} does not exist: check the path")
    if p.is_dir():
        raise error(f"{what} {str(path)!r} is a folder, not a file")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {str(path)!r} is not UTF-8 text") from None
    except OSError as err:
        raise error(f"cannot read {what} {str(path)!r}: {err.strerror}") from None
    if not text.strip():
        raise error(f"{what} {str(path)!r} is empty")
    return text
