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


def up(settings: StackSettings, console: Console, *, supervise: bool = False) -> None:
    """Start every component that is not running and wait until all are healthy (idempotent);
    with ``supervise``, then the supervisor (:mod:`stack.supervisor`) unless it runs."""
    _check_state_dir(settings)
    stack_state.create(settings)
    if settings.secure:
        _mark_secure(settings)
    _mark_brokers(settings)
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
        start(component, "scv stack up")
        started.append(component)
    for component in started:
        _await(component, settings, console)
    if supervise:
        from stack import supervisor

        running = supervisor.pid_file(settings).running()
        proc = supervisor.launch(settings)
        state = "already running" if running else "started"
        console.print(
            f"supervisor: {state} (pid {proc.pid}); restarts a dead component, "
            f"log {supervisor.log_path(settings)}"
        )


def start(component: Component, by: str) -> int:
    """Spawn ``component`` detached and record its pid file (no wait for health); its pid.

    ``by`` heads the log's section: ``scv stack up``, or the supervisor's restart."""
    settings = component.settings
    if not _port_free(settings.host, component.port):
        raise PortInUse(component.name, component.port, component.port_env_var)
    component.prepare()
    with component.log.open("ab") as out:
        out.write(f"\n==== {by} {time.strftime('%Y-%m-%dT%H:%M:%S')} ====\n".encode())
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
    return pid


def _mark_brokers(settings: StackSettings) -> None:
    """Record how many brokers this state directory's stack has (its nodes are formatted as
    one cluster of that size: the count cannot change without a purge)."""
    marker = settings.brokers_marker
    if marker.exists():
        recorded = settings.cluster_size
        if settings.brokers != 1 and settings.brokers != recorded:
            raise CorruptState(
                f"{settings.state_dir} holds a {recorded}-broker stack: `scv stack down --purge` "
                "it first, or use another SCV_STATE_DIR"
            )
        return
    formatted = (settings.data_dir / "kafka" / "data" / "meta.properties").exists()
    if settings.brokers != 1 and formatted:
        raise CorruptState(
            f"{settings.state_dir} holds a single-broker stack: `scv stack down --purge` it "
            "first, or use another SCV_STATE_DIR"
        )
    if settings.brokers != 1 and settings.is_secure:
        raise CorruptState("a secure stack (--secure) has one broker: --brokers 3 is not supported")
    marker.write_text(f"{settings.brokers}\n")


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
        from stack import supervisor

        # First, or it would restart what this stops.
        if supervisor.pid_file(settings).read() is not None:
            with console.status("supervisor: stopping"):
                was_running = supervisor.shut_down(settings)
            console.print(f"supervisor: {'stopped' if was_running else 'was not running'}")
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
    state: str  # "running" | "unhealthy" | "down"; the supervisor's may be "off"
    pid: int | None
    port: int
    version: str
    log: str
    detail: str | None


def status(settings: StackSettings) -> list[ComponentStatus]:
    """A row per component (the supervisor's: :func:`supervisor_status`)."""
    from stack import supervisor

    restarts = supervisor.read_record(settings)
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
                detail=_with_restarts(detail, restarts.get(component.name)),
            )
        )
    return result


def _with_restarts(detail: str | None, record: dict[str, object] | None) -> str | None:
    """The component's detail, and what the supervisor did to it, if anything."""
    if not record or not record.get("restarts"):
        return detail
    said = f"restarted {record['restarts']}x by the supervisor, last {record['last_restart']}" + (
        f" after {record['last_exit']}" if record.get("last_exit") else ""
    )
    return f"{detail}; {said}" if detail else said


def supervisor_status(settings: StackSettings) -> ComponentStatus:
    """The supervisor's row: ``off`` when ``up`` was not asked to start one (not a failure),
    ``down`` when it was and died."""
    from stack import supervisor

    restarts = supervisor.read_record(settings)
    tracked = supervisor.pid_file(settings).read()
    if tracked is None:
        state, detail = "off", "scv stack up --supervise starts it"
    elif tracked.alive():
        total = sum(int(str(r.get("restarts", 0))) for r in restarts.values())
        state, detail = "running", f"{total} restarts"
    else:
        state, detail = "down", f"pid {tracked.pid} gone; `scv stack up --supervise` restarts it"
    return ComponentStatus(
        name=supervisor.NAME,
        state=state,
        pid=tracked.pid if tracked is not None and state == "running" else None,
        port=0,
        version="",
        log=str(supervisor.log_path(settings)),
        detail=detail,
    )


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
