"""The state directory: created private by ``up``, marked as the stack's, purged only as marked.

``up`` creates the state directory and its sub-directories with mode 0700 (they hold the
sandbox secrets, database files and logs with data in them) and writes a marker file,
``.scv-stack``, that lists the data directories it placed outside the state directory (see
:func:`stack.components.base.service_home`). ``down --purge`` deletes the entries ``up``
creates and those recorded directories, and nothing else: a state directory without the marker
(``SCV_STATE_DIR=$HOME`` by mistake) is refused, a symlink is removed as a link and never
followed, and the jar cache is kept.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from stack.errors import CorruptState
from stack.settings import StackSettings

#: Written by ``up``; a purge refuses a state directory without it.
MARKER = ".scv-stack"
#: The sub-directories ``up`` creates, mode 0700.
STATE_DIRS = ("logs", "run", "data", "conf")
#: Everything a purge may delete inside the state directory (the jar cache is not state).
PURGED = (*STATE_DIRS, "secrets.env")
#: The only place outside the state directory where ``up`` puts data (for a service user that
#: cannot reach a private state directory); a recorded path elsewhere is never deleted.
EXTERNAL_ROOT = Path("/var/lib/scv")


def private_dir(path: Path) -> Path:
    """``path`` as a directory; mode 0700 if this call creates it (an existing one is kept)."""
    if path.is_dir():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        if path.is_dir():
            return path  # another process created it a moment ago: it is not ours to chmod
        raise
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; say it exactly
    return path


def create(settings: StackSettings) -> None:
    """The state directory and its sub-directories (0700 when new), and the marker."""
    state = private_dir(settings.state_dir)
    for name in STATE_DIRS:
        private_dir(state / name)
    marker = state / MARKER
    if not marker.exists():
        _write_marker(marker, [])


def _read_marker(marker: Path) -> list[str]:
    try:
        data = json.loads(marker.read_text())
        external = data["external"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptState(f"{marker} is not the marker `scv stack up` writes; remove it") from exc
    if not isinstance(external, list) or not all(isinstance(p, str) for p in external):
        raise CorruptState(f"{marker} is not the marker `scv stack up` writes; remove it")
    return external


def _write_marker(marker: Path, external: list[str]) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps({"created_by": "scv stack up", "external": external}) + "\n")
    os.replace(tmp, marker)


def record_external(settings: StackSettings, path: Path) -> None:
    """Note a data directory ``up`` placed outside the state directory, so a purge finds it.

    Without a marker (a state directory of an older scv, before its next ``up``) nothing is
    recorded: the next ``up`` writes the marker and records the directory again.
    """
    marker = settings.state_dir / MARKER
    if not marker.is_file() or marker.is_symlink():
        return
    external = _read_marker(marker)
    if str(path) not in external:
        _write_marker(marker, [*external, str(path)])


def _remove(entry: Path) -> None:
    """Delete ``entry``; a symlink is unlinked, never followed (rmtree does not follow either)."""
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink(missing_ok=True)
    else:
        shutil.rmtree(entry)


def _deletable_external(recorded: str) -> Path | None:
    """The recorded path if it is a real directory under EXTERNAL_ROOT (no symlink on the way)."""
    path = Path(recorded)
    if not path.is_absolute() or not path.is_dir():
        return None
    if path.resolve() != path or not path.is_relative_to(EXTERNAL_ROOT) or path == EXTERNAL_ROOT:
        return None
    return path


def purge(settings: StackSettings) -> list[Path]:
    """Delete what ``up`` created (but the jar cache); returns what was deleted."""
    state = settings.state_dir
    if not state.exists():
        return []
    marker = state / MARKER
    if not marker.is_file() or marker.is_symlink():
        if not any((state / name).exists() or (state / name).is_symlink() for name in PURGED):
            return []  # purged already, or never used: nothing of ours to delete
        raise CorruptState(
            f"{state} has no {MARKER} marker, so `scv stack up` did not create it; refusing "
            "to delete anything there (check --state-dir / SCV_STATE_DIR; an older scv's state "
            "dir gets the marker at its next `scv stack up`)"
        )
    external = _read_marker(marker)
    deleted = []
    for name in PURGED:
        entry = state / name
        if entry.exists() or entry.is_symlink():
            _remove(entry)
            deleted.append(entry)
    for recorded in external:
        path = _deletable_external(recorded)
        if path is not None:
            shutil.rmtree(path)
            deleted.append(path)
            parent = path.parent
            if parent != EXTERNAL_ROOT and not any(parent.iterdir()):
                parent.rmdir()  # the per-state-dir folder under EXTERNAL_ROOT, now empty
    marker.unlink()
    return deleted
