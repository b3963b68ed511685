"""The partner outbox: one directory per partner, one file per interchange, never half a file.

A file is written under a hidden temporary name (``.tmp-<name>.<pid>``: a pickup agent skips
dot files, and two processes writing the same document never share one), flushed to disk,
then renamed to its name, and the directory is flushed so the rename survives a crash. A
rename replaces a file of the same name whole: re-writing a document (after a crash between
the database commit and the rename) gives the same name and the same bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

from edi.errors import OutboxError

_TMP = ".tmp-"


def write(outbox: Path, partner_id: str, name: str, content: bytes) -> Path:
    """Write ``content`` as ``<outbox>/<partner_id>/<name>`` atomically; its path."""
    directory = outbox / partner_id
    final = directory / name
    temporary = directory / f"{_TMP}{name}.{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
        _sync_directory(directory)
    except OSError as err:
        raise OutboxError(f"cannot write {final}: {err.strerror or err}") from None
    return final


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean(outbox: Path) -> list[Path]:
    """Remove the temporary files that processes no longer running left behind; their paths."""
    removed: list[Path] = []
    if not outbox.is_dir():
        return removed
    for path in outbox.glob(f"*/{_TMP}*"):
        pid = path.name.rsplit(".", 1)[-1]
        if pid.isdigit() and _alive(int(pid)):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise OutboxError(f"cannot remove {path}: {err.strerror or err}") from None
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
