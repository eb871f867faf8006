"""Atomic file writing: a file is either its previous version or the complete new one, never half.

Every writer of the project goes through :func:`atomic_path`: the content is written to a
temporary file next to the target (same folder, so the same file system), flushed to disk, and
renamed over the target with ``os.replace``, which is atomic on POSIX and Windows.  A crash or a
kill at any moment leaves the previous good version (or nothing), and at most a temporary
``.<name>.tmp-<pid><suffix>`` file, which is removed when the writer fails normally.

>>> import tempfile, json
>>> folder = Path(tempfile.mkdtemp())
>>> path = write_json(folder / "a" / "summary.json", {"n": 3})
>>> json.loads(path.read_text()), sorted(p.name for p in path.parent.iterdir())
({'n': 3}, ['summary.json'])
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

__all__ = ["atomic_path", "write_text", "write_json", "write_bytes"]


def _temporary_name(path: Path) -> Path:
    """``.<stem>.tmp-<pid><suffix>`` beside ``path``: hidden, unique to this process, same suffix
    (so that writers that pick a format from the suffix, like matplotlib or numpy, keep it)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write to; on a normal exit it replaces ``path`` atomically.

    Parent folders are created.  If the body raises, the temporary file is removed and ``path``
    is left as it was.  Use it for any writer that takes a path::

        with atomic_path("runs/x/last.pt") as tmp:
            torch.save(checkpoint, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:            # on disk before the rename makes it visible
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path`` as a Path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path`` as a Path."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy scalars as floats) to ``path`` atomically."""
    return write_text(path, json.dumps(obj, indent=2, default=float) + "\n")
