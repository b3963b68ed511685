"""``scv stack up | down | status``: start, stop and inspect the local stack's processes."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console

from stack import credentials as creds
from stack import state as stack_state
from stack.components import Component, all_components
from stack.errors import ComponentFailed, CorruptState, PortInUse
from stack.jars import ensure_jars, jars_dir, prune_stale
from stack.settings import StackSettings

_STATE_DIRS = (*stack_state.STATE_DIRS, "cache")


def _check_state_dir(settings: StackSettings) -> None:
    state = settings.state_dir
    if state.exists() and not state.is_dir():
        raise CorruptState(f"state dir {state} is not a directory; remove it or set SCV_STATE_DIR")
    for name in _STATE_DIRS:
        sub = state / name
        if sub.exists() and not sub.is_dir():
            raise CorruptState(f"state dir {state}: {name} is not a directory; remove it")


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def components(settings: StackSettings, *, create_secrets: bool = False) -> list[Component]:
    """The stack's components; only ``up`` creates the secrets (``down`` and ``status`` read)."""
    _check_state_dir(settings)
    if create_secrets:
        return all_components(settings, creds.load_or_create(settings.state_dir))
    return all_components(settings, creds.load_existing(settings.state_dir))


def _tail(log: Path, lines: int = 5) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_healthy(component: Component, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    reason = "not started"
    while time.monotonic() < deadline:
        if component.pid_file.running() is None:
            raise ComponentFailed(component.name, "exited during start-up", component.log)
        probed = component.probe()
        if probed is None:
            return
        reason = probed
        time.sleep(0.5)
    raise ComponentFailed(
        component.name, f"not healthy after {timeout:.0f}s: {reason}", component.log
    )


def up(settings: StackSettings, console: Console) -> None:
    """Start every component that is not running and wait until all are healthy (idempotent)."""
    _check_state_dir(settings)
    stack_state.create(settings)
    if settings.secure:
        _mark_secure(settings)
    if settings.is_secure:
        from stack.tls import ensure_tls

        if ensure_tls(settings):
            console.print(f"tls: a CA and the broker's certificate made in {settings.conf_dir}/tls")
    stack = components(settings, create_secrets=True)
    for component in stack:
        component.check_prerequisites()

    with console.status("jars: checking the Maven cache") as status:
        downloaded = 0

        def on_artifact(name: str) -> None:
            nonlocal downloaded
            downloaded += 1
            status.update(f"jars: downloading from Maven Central ({downloaded}) {name}")

        if ensure_jars(settings, on_artifact):
            console.print(f"jars: resolved into {jars_dir(settings)} ({downloaded} downloaded)")
        if not any(c.pid_file.running() for c in stack):
            prune_stale(settings)

    started: list[Component] = []
    for component in stack:
        if component.name == "connect":
            # Connect needs a healthy broker; the databases and Kafka start side by side.
            for earlier in started:
                _await(earlier, settings, console)
            started.clear()
        running = component.pid_file.running()
        if running is not None:
            _wait_healthy(component, settings.start_timeout)
            console.print(f"{component.name}: already running (pid {running.pid})")
            continue
        if not _port_free(settings.host, component.port):
            raise PortInUse(component.name, component.port, component.port_env_var)
        component.prepare()
        with component.log.open("ab") as out:
            out.write(f"\n==== scv stack up {time.strftime('%Y-%m-%dT%H:%M:%S')} ====\n".encode())
        from stack.processes import spawn

        pid = spawn(
            component.argv(),
            log=component.log,
            env=component.env(),
            user=component.user,
            cwd=component.home,
            fds=component.inherited_fds(),
        )
        component.pid_file.write(pid)
        started.append(component)
    for component in started:
        _await(component, settings, console)


def _mark_secure(settings: StackSettings) -> None:
    """Record that this state directory is a secure stack's (its broker is formatted with the
    SCRAM users): a plain stack's formatted broker cannot become one without a purge."""
    if settings.secure_marker.exists():
        return
    # The broker's home is data/kafka (a link to /var/lib/scv/... under root): followed.
    if (settings.data_dir / "kafka" / "data" / "meta.properties").exists():
        raise CorruptState(
            f"{settings.state_dir} holds a stack started without --secure (its broker has no "
            "SCRAM users): `scv stack down --purge` it first, or use another SCV_STATE_DIR"
        )
    settings.secure_marker.write_text("scv stack up --secure\n")


def _await(component: Component, settings: StackSettings, console: Console) -> None:
    t0 = time.monotonic()
    with console.status(f"{component.name}: starting"):
        _wait_healthy(component, settings.start_timeout)
        component.bootstrap()
    proc = component.pid_file.read()
    pid = proc.pid if proc else "?"
    console.print(
        f"{component.name}: healthy on {settings.host}:{component.port} "
        f"(pid {pid}, {time.monotonic() - t0:.1f}s)"
    )


def down(settings: StackSettings, console: Console, purge: bool = False) -> None:
    """Stop exactly the processes ``up`` started, in reverse order; optionally delete state."""
    from stack.processes import stop

    if settings.state_dir.exists():
        for component in reversed(components(settings)):
            proc = component.pid_file.read()
            if proc is None:
                continue
            with console.status(f"{component.name}: stopping (pid {proc.pid})"):
                was_running = stop(proc, component.stop_signal, component.stop_timeout)
            component.pid_file.clear()
            console.print(f"{component.name}: {'stopped' if was_running else 'was not running'}")
    if purge:
        _purge(settings, console)


def _purge(settings: StackSettings, console: Console) -> None:
    deleted = stack_state.purge(settings)
    if deleted:
        console.print(f"purged {settings.state_dir}: {len(deleted)} entries (kept the jar cache)")


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    name: str
    state: str  # "running" | "unhealthy" | "down"
    pid: int | None
    port: int
    version: str
    log: str
    detail: str | None


def status(settings: StackSettings) -> list[ComponentStatus]:
    result = []
    for component in components(settings):
        proc = component.pid_file.running()
        detail = None
        if proc is None:
            state = "down"
        else:
            detail = component.probe()
            state = "running" if detail is None else "unhealthy"
        try:
            version = component.version()
        except Exception as exc:  # noqa: BLE001 - status must report, never crash
            version = f"unknown ({exc.__class__.__name__})"
        result.append(
            ComponentStatus(
                name=component.name,
                state=state,
                pid=proc.pid if proc else None,
                port=component.port,
                version=version,
                log=str(component.log),
                detail=detail,
            )
        )
    return result


def status_as_dicts(rows: list[ComponentStatus]) -> list[dict[str, object]]:
    return [asdict(r) for r in rows]


@contextlib.contextmanager
def running_stack(settings: StackSettings, console: Console) -> Iterator[None]:
    """``up`` for the duration of a block, then ``down`` (used by the demo and tests)."""
    up(settings, console)
    try:
        yield
    finally:
        down(settings, console)
