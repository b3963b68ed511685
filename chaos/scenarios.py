"""The named faults of ``scv chaos run``: what each injects, and when, into the running chain.

A scenario gets the running traffic, the stack and the CLI environment; it injects its faults
at fixed seconds of the traffic, brings back what it killed the way an operator or a
supervisor would (``scv stack up``), and returns each fault's name and instant. Recovery of
the connectors and of the pipeline is left to themselves. The run around it (``chaos.run``)
seeds the world, starts the pipeline and views, drains and judges.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chaos.errors import ScenarioFailed
from chaos.harness import Say, Stack, Traffic, scv
from chaos.measure import Fault
from chaos.settings import ChaosSettings

Faults = list[Fault]
ERP, WMS = frozenset({"erp"}), frozenset({"wms"})


@dataclass(frozen=True)
class Context:
    settings: ChaosSettings
    env: Mapping[str, str]
    stack: Stack
    traffic: Traffic
    say: Say


@dataclass(frozen=True)
class Scenario:
    name: str
    #: One line: the fault (``scv chaos list``, the report's column).
    fault: str
    inject: Callable[[Context], Faults]
    #: Seconds the simulator writes after the last fault.
    tail_s: float = 10.0
    #: A runner or views process that exits is restarted (and the restart recorded), as
    #: ``scv run``'s supervisor does; otherwise it fails the run.
    supervised: bool = False


def _connect_kill(c: Context) -> Faults:
    faults: Faults = []

    def kill(label: str) -> None:
        c.say(f"kill -9 Connect ({label})")
        faults.append(Fault(f"connect kill -9 ({label})", c.stack.kill("connect")))

    c.traffic.at(8)
    kill("1 of 5")
    c.stack.up()
    c.traffic.at(22)
    kill("2 of 5")
    c.stack.up()
    # Down while the simulator writes on: the connectors come back to a backlog, and are
    # killed again while they drain it.
    c.traffic.at(36)
    kill("3 of 5, then 8 s down")
    time.sleep(8)
    c.stack.up()
    time.sleep(1)
    kill("4 of 5, draining the backlog")
    c.stack.up()
    c.traffic.at(64)
    kill("5 of 5")
    c.stack.up()
    return faults


def _connector_redeploy(c: Context) -> Faults:
    faults: Faults = []
    for second, source in ((8, "erp"), (28, "wms")):
        name = c.settings.connectors[source]
        c.traffic.at(second)
        c.say(f"delete connector {name}, 6 s of writes, apply it again")
        scv(["connectors", "delete", name], c.env)
        # The fault is in effect once Connect has removed the connector, not when the command
        # started (its tasks stream until then).
        faults.append(Fault(f"{name} deleted", time.time(), frozenset({source})))
        time.sleep(6)
        scv(["connectors", "apply", name], c.env)
    c.traffic.at(48)
    c.say("pause both connectors for 8 s, then resume")
    scv(["connectors", "pause"], c.env)
    faults.append(Fault("connectors paused", time.time()))
    time.sleep(8)
    scv(["connectors", "resume"], c.env)
    return faults


def _database_restart(
    c: Context,
    component: str,
    sig: signal.Signals,
    how: str,
    rounds: tuple[float, ...],
    systems: frozenset[str],
) -> Faults:
    """The legacy application stops (the simulator's run ends), the database dies by ``sig``,
    ``scv stack up`` starts it again, the application writes on (a new run): the connectors
    must come back by themselves."""
    faults: Faults = []
    for n, second in enumerate(rounds, 1):
        c.traffic.at(second)
        c.traffic.pause()
        c.say(f"{how} ({n} of {len(rounds)})")
        at = c.stack.kill(component, sig)
        faults.append(Fault(f"{how} ({n} of {len(rounds)})", at, systems))
        c.stack.up()
        c.traffic.resume()
    return faults


def _postgres_restart(c: Context) -> Faults:
    # SIGQUIT to the postmaster is what `pg_ctl stop -m immediate` sends: no checkpoint, crash
    # recovery at the next start.
    faults = _database_restart(c, "postgres", signal.SIGQUIT, "postgres immediate stop", (8,), ERP)
    c.traffic.at(30)
    c.say("pg_terminate_backend on the connector's walsender")
    faults.append(Fault("walsender terminated", time.time(), ERP))
    if not c.stack.terminate_walsenders():
        raise ScenarioFailed("no active replication slot to terminate")
    return faults


def _mariadb_restart(c: Context) -> Faults:
    return _database_restart(c, "mariadb", signal.SIGKILL, "mariadb kill -9", (8, 30), WMS)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "connect-kill",
            "`kill -9` of the Connect worker 5 times (once while it drains an 8 s backlog), "
            "`scv stack up` after each",
            _connect_kill,
        ),
        Scenario(
            "connector-redeploy",
            "each connector deleted and applied again 6 s later (its offsets kept), then both "
            "paused 8 s and resumed, the simulator writing throughout",
            _connector_redeploy,
        ),
        Scenario(
            "postgres-restart",
            "the ERP's PostgreSQL stopped `-m immediate` (SIGQUIT) and started again, then the "
            "connector's walsender terminated (`pg_terminate_backend`)",
            _postgres_restart,
            supervised=True,
        ),
        Scenario(
            "mariadb-restart",
            "the WMS's MariaDB `kill -9` and started again, twice",
            _mariadb_restart,
            supervised=True,
        ),
    )
}
