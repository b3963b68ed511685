"""One benchmark run: B3 (and the backlog), B1, B2, B4, B5, B6 and memory, on the running stack.

Order, and why::

    record raw end offsets (start of the backlog)
    scv sim init                     seed data: the reference state the runner needs
    B3  stop both connectors → scv sim run (backlog_tx business transactions)
        → resume erp, time its drain → resume wms, time its drain
    record raw end offsets (end of the backlog)
    B1  passthrough instances, group committed at the start offsets, until the end offsets
    B2  `scv pipeline run` instances, same start, same end  → ratio to B1
    B4  the B2 runner continues (same group, state, output) while `scv sim run` writes at each
        rate; a read_committed probe stamps canonical events, matched to the ledger
    B5  the runner continues again, with `scv edi run` reading its canonical topics, while
        `scv sim run` writes at 1,000 changes/s: WMS dispatch commit → its 856 file renamed
        into the outbox (``bench.outbox``)
    B6  the 846 of the midsize profile built in this process (``bench.edi846``)
    memory: sampled from /proc all along

Throughput windows start at the first observed progress, so start-up never counts. Every
section records its error instead of its figures when the stage under test fails.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import children, edi846, hops, kafkautil, ledger, matching, memory, stats
from bench import outbox as outbox_module
from bench.errors import BenchError, ScenarioFailed, SimulatorFailed, StackNotReady
from bench.kafkautil import Offsets, Partition
from bench.settings import BenchSettings

Say = Callable[[str], None]

B2_GOAL_RATIO = 0.5
B4_GOAL_RATE = 1000
B4_GOAL_P99_MS = 1000.0
B5_RATE = 1000
B5_GOAL_P99_MS = 2000.0
B5_SNAPSHOT_TABLES = ("f4101", "f41002")


@dataclass(frozen=True)
class _Readers:
    """B4's three readers (``bench.probe``)."""

    #: The canonical topics, read_committed: the latency's end.
    arrival: Any
    #: The raw topics: the bare Debezium → raw topic floor.
    raw: Any
    #: The canonical topics, read_uncommitted: when the runner's records reached the log.
    log: Any


@dataclass
class Bench:
    settings: BenchSettings
    #: The environment of child processes (the CLI passes its own plus the endpoints).
    env: Mapping[str, str]
    #: Stack component → pid (``scv stack status``).
    stack_pids: Mapping[str, int]
    say: Say = lambda _line: None
    status: Say = lambda _line: None
    sampler: memory.MemorySampler = field(default_factory=memory.MemorySampler)
    result: dict[str, Any] = field(default_factory=dict)
    _backlog_start: Offsets = field(default_factory=dict)
    _backlog_end: Offsets = field(default_factory=dict)
    _changes_per_tx: float = 0.0
    _resumed_wall_ns: int = 0

    # -- names -------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def group(self, scenario: str) -> str:
        return f"{self.settings.prefix}-{scenario}"

    @property
    def topic_prefix(self) -> str:
        return f"{self.settings.prefix}."

    def runner_env(self) -> dict[str, str]:
        """``scv pipeline run`` with its own group, transactional ids and output topics."""
        return {
            **self.env,
            "SCV_TRANSFORMS_GROUP_ID": self.group("pipeline"),
            "SCV_TRANSFORMS_TRANSACTIONAL_ID_PREFIX": self.group("pipeline"),
            "SCV_TRANSFORMS_TOPIC_PREFIX": self.topic_prefix,
            "SCV_TRANSFORMS_SOURCE_PATTERN": self.settings.source_pattern,
        }

    # -- the run -----------------------------------------------------------------------------

    def run(self, only: str | None = None) -> dict[str, Any]:
        """Every scenario, or ``only="b5"``: the seed, then B5 alone (its runner reads the
        seed data first, as B2 does the backlog); ``only="b4"``: the seed, B3 (the backlog and
        the changes per transaction), then B4 alone; ``only="b2"``: the seed, B3, B1 and B2
        (the throughput ratio)."""
        s = self.settings
        self.result = {
            "scv_bench": 1,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": s.quick,
            "run_id": s.run_id,
            "machine": memory.machine(),
            "settings": {
                "instances": s.instances,
                "backlog_tx": s.backlog_tx,
                "b1_runs": s.b1_runs,
                "rates": list(s.rates),
                "step_s": s.step_s,
            },
        }
        for name, pid in self.stack_pids.items():
            self.sampler.watch(name, pid)
        self.sampler.start()
        t0 = time.monotonic()
        try:
            self._check_connectors()
            self._section("backlog", self._seed)
            if only == "b5":
                kafkautil.commit_group(self.bootstrap, self.group("pipeline"), self._backlog_start)
                self._section("b5", self._b5)
                return self.result
            self._section("b3", self._b3)
            if only == "b4":
                # The latency steps alone: B4's runner drains the backlog while catching up,
                # from its start as B2 would have.
                start, _ = self._backlog()
                kafkautil.commit_group(self.bootstrap, self.group("pipeline"), start)
                self._section("b4", self._b4)
                return self.result
            self._section("b1", self._b1)
            self._section("b2", self._b2)
            if only == "b2":
                return self.result
            self._section("b4", self._b4)
            self._section("b5", self._b5)
            # B6 is pure (no stack): last, so it never disturbs the stack's figures.
            self._section("b6", edi846.measure)
        finally:
            self.result["memory"] = self.sampler.stop()
            self.result["machine"]["loadavg_end"] = list(memory.machine()["loadavg"])  # type: ignore[call-overload]
            self.result["seconds"] = round(time.monotonic() - t0, 1)
            if not s.keep_topics:
                self._clean_up()
        return self.result

    def _section(self, name: str, body: Callable[[], dict[str, Any]]) -> None:
        self.status(name)
        started = time.monotonic()
        try:
            found = body()
        except BenchError as exc:
            found = {"error": str(exc)}
            self.say(f"{name}: FAILED: {exc}")
        found["seconds_total"] = round(time.monotonic() - started, 1)
        self.result[name] = found

    def _clean_up(self) -> None:
        passthrough = [f"passthrough{run}" for run in range(self.settings.b1_runs)]
        groups = [self.group(g) for g in (*passthrough, "pipeline")]
        try:
            removed = kafkautil.delete_prefixed(self.bootstrap, self.settings.prefix, groups)
        except BenchError as exc:
            self.say(f"clean-up: {exc}")
            return
        self.status(f"clean-up: removed {len(removed)} topics")

    # -- connectors (B3) ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        from connectors.client import ConnectClient

        with ConnectClient(self.settings.connect_url, timeout=30, retry_for=30) as client:
            yield client

    def _check_connectors(self) -> None:
        from connectors.errors import ConnectorsError

        with self._connect() as client:
            for name in self.settings.connectors.values():
                try:
                    state = client.status(name)
                except ConnectorsError as exc:
                    raise StackNotReady(f"connector {name}: {exc}") from None
                if not state.running:
                    raise StackNotReady(
                        f"connector {name} is {state.state}, not RUNNING: "
                        "run `scv connectors apply` first"
                    )

    def _raw_parts(self, source: str | None = None) -> list[Partition]:
        parts = kafkautil.partitions(self.bootstrap, self.settings.source_pattern)
        if source is None:
            return parts
        return [(t, p) for t, p in parts if t.split(".", 1)[0] == source]

    def _settle(
        self, parts: Callable[[], list[Partition]], quiet_s: float, timeout: float
    ) -> Offsets:
        """End offsets once they stopped moving for ``quiet_s``."""
        deadline = time.monotonic() + timeout
        last = kafkautil.end_offsets(self.bootstrap, parts())
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = kafkautil.end_offsets(self.bootstrap, parts())
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return now
        return last

    def _seed(self) -> dict[str, Any]:
        self._backlog_start = kafkautil.end_offsets(self.bootstrap, self._raw_parts())
        self.status("backlog: scv sim init")
        children.scv(["sim", "init", "--seed", str(self.settings.sim_seed)], self.env, 300)
        self.status("backlog: waiting for the seed data on the raw topics")
        self._settle(self._raw_parts, 2.0, 120)
        return {"start_offsets": sum(self._backlog_start.values())}

    def _b3(self) -> dict[str, Any]:
        from connectors.errors import ConnectorsError
        from connectors.ops import wait_running

        s = self.settings
        with self._connect() as client:
            tombstones = {
                source: (client.get_config(name) or {}).get("tombstones.on.delete", "true")
                == "true"
                for source, name in s.connectors.items()
            }
            starts = {source: kafkautil.end_offsets(self.bootstrap, self._raw_parts(source))
                      for source in s.connectors}  # fmt: skip
            resumed: set[str] = set()
            try:
                for name in s.connectors.values():
                    client.stop(name)
                for source, name in s.connectors.items():
                    self._wait_state(client, name, "STOPPED")
                    starts[source] = kafkautil.end_offsets(self.bootstrap, self._raw_parts(source))
                self.status(f"B3: connectors stopped, writing {s.backlog_tx} business transactions")
                written = time.monotonic()
                out = self._write_backlog()
                write_s = time.monotonic() - written
                run_id = children.sim_run_id(out)
                volume = ledger.volume(
                    ledger.rows(s.store_dsn.get_secret_value(), run_id), tombstones
                )
                self._changes_per_tx = volume.changes_per_tx
                result: dict[str, Any] = {
                    "sim_run": run_id,
                    "business_tx": volume.committed_tx,
                    "changes": volume.changes,
                    "write_s": round(write_s, 1),
                    "write_changes_per_s": round(stats.rate(volume.changes, write_s)),
                    "changes_per_tx": round(volume.changes_per_tx, 2),
                }
                for source, name in s.connectors.items():
                    expected = volume.messages.get(source, 0)
                    self.status(f"B3: {name} resumed, draining {expected} changes")
                    resumed_at = time.monotonic()
                    self._resumed_wall_ns = time.time_ns()
                    client.resume(name)
                    resumed.add(name)
                    result[source] = self._drain_source(
                        source, starts[source], expected, resumed_at
                    )
                    wait_running(name, client, 60)
                    self.say(
                        f"B3 {source}: {result[source]['messages']} changes, "
                        f"{result[source]['changes_per_s']:.0f}/s"
                    )
            except ConnectorsError as exc:
                raise ScenarioFailed(f"connectors: {exc}") from None
            finally:
                for name in s.connectors.values():
                    if name not in resumed:
                        client.resume(name)
        self._backlog_end = self._settle(self._raw_parts, 2.0, 60)
        return result

    def _write_backlog(self) -> str:
        """``scv sim run`` as fast as it goes; once more after a fresh ``sim init`` if another
        user of the shared databases re-initialised them under it."""
        s = self.settings
        args = ["sim", "run", "--rate", str(s.backlog_tx), "--duration", "1",
                "--seed", str(s.sim_seed)]  # fmt: skip
        try:
            return children.scv(args, self.env, 600)
        except ScenarioFailed as exc:
            self.say(f"B3: {exc}; re-initialising and writing again")
        children.scv(["sim", "init", "--seed", str(s.sim_seed)], self.env, 300)
        return children.scv(args, self.env, 600)

    def _wait_state(self, client: Any, name: str, state: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while client.status(name).state != state:
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"connector {name} not {state} after {timeout:.0f}s")
            time.sleep(0.25)

    def _drain_source(
        self, source: str, start: Offsets, expected: int, resumed_at: float
    ) -> dict[str, Any]:
        """Watch the source's raw topics grow until they hold ``expected`` more records."""
        deadline = resumed_at + 300
        first: float | None = None
        first_count = 0
        last_change = resumed_at
        count = 0
        while True:
            ends = kafkautil.end_offsets(self.bootstrap, self._raw_parts(source))
            now = time.monotonic()
            found = sum(o - start.get(part, 0) for part, o in ends.items())
            if found != count:
                last_change = now
                if first is None:
                    first, first_count = now, found
            count = found
            self.status(f"B3: {source} {count}/{expected} changes")
            if count >= expected:
                break
            if first is not None and now - last_change > 10:
                now = last_change  # fewer than expected arrived; measure what did
                break
            if now > deadline:
                raise ScenarioFailed(f"{source}: {count} of {expected} changes after 300s")
            time.sleep(0.05)
        if first is None:
            first = now
        end = kafkautil.end_offsets(self.bootstrap, self._raw_parts(source))
        records = kafkautil.read_range(self.bootstrap, start, end)
        debezium = sorted(
            ns for _ts, value in records if value is not None and (ns := _ts_ns(value)) is not None
        )
        written = sorted(ts for ts, _value in records)
        debezium_s = (debezium[-1] - debezium[0]) / 1e9 if len(debezium) > 1 else 0.0
        written_s = (written[-1] - written[0]) / 1e3 if len(written) > 1 else 0.0
        resumed_wall_ns = self._resumed_wall_ns
        return {
            "expected": expected,
            "messages": count,
            # Kafka's clock: the records' CreateTime (Connect's producer), first to last record
            # of the backlog: the rate at which the raw topics received it.
            "changes_per_s": round(stats.rate(len(written) - 1, written_s), 1),
            "written_s": round(written_s, 3),
            # Debezium's own clock: the envelope's ts_ns (when the connector processed each
            # change), first to last; tombstones carry none.
            "processed_per_s": round(stats.rate(len(debezium) - 1, debezium_s), 1),
            "processed_s": round(debezium_s, 3),
            "startup_s": round((debezium[0] - resumed_wall_ns) / 1e9, 2) if debezium else None,
            # Seen from outside: resume → the topics hold every change.
            "until_complete_s": round(now - resumed_at, 2),
            "changes_per_s_incl_startup": round(stats.rate(count, now - resumed_at), 1),
            "polled_changes_per_s": round(stats.rate(count - first_count, now - first), 1),
        }

    # -- B1 / B2 -----------------------------------------------------------------------------

    def _backlog(self) -> tuple[Offsets, Offsets]:
        if not self._backlog_end:
            raise ScenarioFailed("no backlog (the backlog or B3 step failed)")
        start = {part: self._backlog_start.get(part, 0) for part in self._backlog_end}
        return start, self._backlog_end

    def _drain(
        self,
        label: str,
        group: str,
        kids: list[children.Child],
        profilers: list[children.Child] | None = None,
    ) -> kafkautil.Drain:
        start, end = self._backlog()
        total = sum(end[p] - start[p] for p in end)
        watcher = kafkautil.GroupWatcher(self.bootstrap, group)

        def alive() -> str | None:
            return next((why for kid in kids if (why := kid.exited()) is not None), None)

        def tick(done: int, _total: int) -> None:
            self.status(f"{label}: {done}/{total} raw messages")

        try:
            for i, kid in enumerate(kids):
                pid = kid.start()
                self.sampler.watch(label.split()[0], pid)
                if profilers is not None and self.settings.profile_dir is not None:
                    out = self.settings.profile_dir / f"{label}-{self.settings.run_id}-{i}.txt"
                    profilers.append(children.profiler(pid, out, self.env))
                    profilers[-1].start()
            # Back-to-back reads (10 ms apart): the passthrough drains a quick backlog in well
            # under a second, so a coarse poll would leave most of it outside the window.
            return kafkautil.watch(
                lambda: watcher.committed(end),
                start,
                end,
                timeout=600,
                alive=alive,
                tick=tick,
                interval=0.01,
            )
        except BenchError as exc:
            raise ScenarioFailed(str(exc)) from None
        finally:
            watcher.close()

    def _b1(self) -> dict[str, Any]:
        """The passthrough drains the backlog ``b1_runs`` times, each from the start with a
        group of its own; the figure is the median run. One drain of a quick backlog takes
        about a second, where one slow transaction commit moves the rate by a factor of two
        (9,224 to 34,621 messages/s in three runs of the same backlog)."""
        kafkautil.create_topic(self.bootstrap, f"{self.topic_prefix}passthrough", 3)
        runs = [self._b1_run(i) for i in range(self.settings.b1_runs)]
        median = sorted(runs, key=lambda run: run.per_s)[len(runs) // 2]
        rates = ", ".join(f"{run.per_s:.0f}" for run in runs)
        self.say(f"B1 passthrough: {median.messages} messages, {median.per_s:.0f}/s "
                 f"(median of {len(runs)} drains: {rates})")  # fmt: skip
        return {
            "messages": median.messages,
            "measured_messages": median.measured,
            "measured_share": round(median.measured / median.messages, 3) if median.messages else 0,
            "seconds": round(median.seconds, 2),
            "messages_per_s": round(median.per_s, 1),
            "runs_messages_per_s": [round(run.per_s, 1) for run in runs],
        }

    def _b1_run(self, run: int) -> kafkautil.Drain:
        from transforms.settings import TransformsSettings

        start, _ = self._backlog()
        group = self.group(f"passthrough{run}")
        kafkautil.commit_group(self.bootstrap, group, start)
        out_topic = f"{self.topic_prefix}passthrough"
        kids = []
        for i in range(self.settings.instances):
            transforms = TransformsSettings(
                kafka_bootstrap=self.bootstrap,
                group_id=group,
                transactional_id_prefix=group,
                instance_id=str(i),
                source_pattern=self.settings.source_pattern,
            )
            kids.append(children.passthrough(i, transforms.model_dump_json(), out_topic, self.env))
        try:
            return self._drain(f"passthrough ({run + 1}/{self.settings.b1_runs})", group, kids)
        finally:
            for kid in kids:
                kid.stop()

    def _b2(self) -> dict[str, Any]:
        from transforms.events import CANONICAL_TOPICS

        start, _ = self._backlog()
        group = self.group("pipeline")
        kafkautil.commit_group(self.bootstrap, group, start)
        kids = [children.runner(i, self.runner_env()) for i in range(self.settings.instances)]
        profilers: list[children.Child] = []
        try:
            drain = self._drain("runner", group, kids, profilers)
        finally:
            outputs = [kid.stop() for kid in kids]
            for profiler in profilers:
                self.say(f"profile: {children.tail(profiler.wait(), 1)}")
        canonical = [f"{self.topic_prefix}{t}" for t in CANONICAL_TOPICS]
        quarantine = f"{self.topic_prefix}scv.quarantine.v1"
        counts = kafkautil.count_records(self.bootstrap, [*canonical, quarantine])
        events = sum(counts[t] for t in canonical)
        b1 = self.result.get("b1", {}).get("messages_per_s") or 0.0
        share = stats.ratio(events, drain.messages) or 0.0
        ratio = stats.ratio(drain.per_s, b1)
        self.say(
            f"B2 pipeline: {drain.messages} messages → {events} events, "
            f"{drain.per_s:.0f} messages/s, ratio to B1 {ratio or 0:.2f}"
        )
        return {
            "messages": drain.messages,
            "measured_messages": drain.measured,
            "measured_share": round(drain.measured / drain.messages, 3) if drain.messages else 0,
            "events": events,
            "quarantined": counts[quarantine],
            "seconds": round(drain.seconds, 2),
            "messages_per_s": round(drain.per_s, 1),
            "events_per_s": round(drain.per_s * share, 1),
            "ratio_to_b1": None if ratio is None else round(ratio, 3),
            "goal_ratio": B2_GOAL_RATIO,
            "goal_met": ratio is not None and ratio >= B2_GOAL_RATIO,
            "runner_report": [
                line for out in outputs for line in out.splitlines() if "pipeline:" in line
            ][-2 * len(kids) :],
        }

    # -- B4 ----------------------------------------------------------------------------------

    def _b4(self) -> dict[str, Any]:
        from bench.probe import ArrivalProbe, SeenProbe
        from transforms.events import CANONICAL_TOPICS, EVENT_TYPES

        s = self.settings
        per_tx = self._changes_per_tx
        if per_tx <= 0:
            raise ScenarioFailed("changes per business transaction unknown (B3 failed)")
        group = self.group("pipeline")
        # The runner writes each event's trace header (its raw record, when it consumed it)
        # for the per-hop split (``bench.hops``); the B2 drain runs without it.
        env = {**self.runner_env(), "SCV_TRANSFORMS_TRACE_HOPS": "true"}
        kids = [children.runner(i, env) for i in range(s.instances)]
        for kid in kids:
            self.sampler.watch("runner", kid.start())
        canonical = {f"{self.topic_prefix}{t}" for t in CANONICAL_TOPICS}
        watcher = kafkautil.GroupWatcher(self.bootstrap, group)
        probes: list[Any] = []
        steps: list[dict[str, Any]] = []
        try:
            self._catch_up(kids, watcher)
            canonical_parts = kafkautil.partitions(self.bootstrap, canonical.__contains__)
            probe = ArrivalProbe(self.bootstrap, canonical_parts, self.group("probe"))
            raw = SeenProbe(
                self.bootstrap, self._raw_parts(), self.group("probe-raw"), "read_committed"
            )
            log = SeenProbe(
                self.bootstrap, canonical_parts, self.group("probe-log"), "read_uncommitted"
            )
            for started in (raw, log, probe):
                started.start()
                probes.append(started)
            readers = _Readers(probe, raw, log)
            for n, target in enumerate(s.rates):
                try:
                    step = self._step(n, target, per_tx, readers, set(EVENT_TYPES), kids)
                except SimulatorFailed as exc:
                    # Another user of the shared databases ran the simulator under us: start
                    # from a fresh picture once, let the runner take the seed, write again.
                    self.say(f"B4 {target}/s: {exc}; re-initialising and writing again")
                    children.scv(["sim", "init", "--seed", str(s.sim_seed)], self.env, 300)
                    self._catch_up(kids, watcher)
                    step = self._step(n, target, per_tx, readers, set(EVENT_TYPES), kids)
                steps.append(step)
                split = step["hops_ms"]
                self.say(
                    f"B4 {target}/s: achieved {step['achieved_changes_per_s']:.0f}/s, "
                    f"p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms, "
                    f"floor p99 {(split.get('floor_ms') or {}).get('p99_ms')} ms"
                    + (", lag grows" if step["lag_grows"] else "")
                )
                if step["knee"]:
                    break
        finally:
            for running in probes:
                running.stop()
            for kid in kids:
                kid.stop()
            watcher.close()
        sustained = [st for st in steps if not st["knee"]]
        at_goal = next((st for st in steps if st["target_changes_per_s"] == B4_GOAL_RATE), None)
        return {
            "steps": steps,
            "knee_changes_per_s": steps[-1]["target_changes_per_s"]
            if steps and steps[-1]["knee"]
            else None,
            "max_sustained_changes_per_s": max(
                (st["achieved_changes_per_s"] for st in sustained), default=None
            ),
            "goal": f"p99 < {B4_GOAL_P99_MS:.0f} ms at {B4_GOAL_RATE} changes/s",
            "goal_met": bool(
                at_goal
                and at_goal["p99_ms"] is not None
                and at_goal["p99_ms"] < B4_GOAL_P99_MS
                and not at_goal["lag_grows"]
            ),
        }

    def _catch_up(self, kids: list[children.Child], watcher: kafkautil.GroupWatcher) -> None:
        """Until the runners committed everything on the raw topics (start-up included)."""
        target = kafkautil.end_offsets(self.bootstrap, self._raw_parts())
        deadline = time.monotonic() + 180
        while True:
            committed = watcher.committed(target)
            if kafkautil.reached(committed, target):
                return
            why = next((w for kid in kids if (w := kid.exited()) is not None), None)
            if why is not None:
                raise ScenarioFailed(why)
            if time.monotonic() > deadline:
                raise ScenarioFailed("the runner did not catch up with the raw topics in 180s")
            self.status("B4: runner starting and catching up")
            time.sleep(0.2)

    def _step(
        self,
        n: int,
        target: int,
        per_tx: float,
        readers: _Readers,
        types: set[str],
        kids: list[children.Child],
    ) -> dict[str, Any]:
        s = self.settings
        tx_rate = target / per_tx
        self.status(f"B4 {target} changes/s ({tx_rate:.1f} tx/s) for {s.step_s:.0f}s")
        try:
            out = children.scv(
                ["sim", "run", "--rate", f"{tx_rate:.3f}", "--duration", f"{s.step_s:g}",
                 "--seed", str(s.sim_seed + 1 + n)],
                self.env,
                s.step_s * 10 + 60,
            )  # fmt: skip
        except ScenarioFailed as exc:
            raise SimulatorFailed(str(exc)) from None
        run_id = children.sim_run_id(out)
        found = ledger.rows(s.store_dsn.get_secret_value(), run_id)
        volume = ledger.volume(found, {})
        expected = matching.expected_from_ledger(found, types)
        deadline = time.monotonic() + s.settle_s
        last_matched, last_change = -1, time.monotonic()
        while True:
            result = matching.match(expected, readers.arrival.arrivals())
            matched = len(result.matches)
            now = time.monotonic()
            if matched != last_matched:
                last_matched, last_change = matched, now
            self.status(f"B4 {target}/s: {matched}/{len(expected)} events matched")
            if matched == len(expected) or now > deadline or now - last_change > 3:
                break
            why = next((w for kid in kids if (w := kid.exited()) is not None), None)
            if why is not None:
                raise ScenarioFailed(why)
            time.sleep(0.5)
        latencies = [m.latency_ms for m in result.matches]
        commit_s = [(m.commit_ns - volume.first_commit_ns) / 1e9 for m in result.matches]
        summary = stats.summarize_ms(latencies)
        produced = stats.summarize_ms(
            [v for m in result.matches if (v := m.to_produced_ms) is not None]
        )
        visible = stats.summarize_ms(
            [v for m in result.matches if (v := m.to_visible_ms) is not None]
        )
        growth = stats.trend(commit_s, latencies)
        achieved = stats.rate(volume.changes, volume.span_s)
        behind = children.sim_behind(out)
        lag_grows = growth.grows
        return {
            "target_changes_per_s": target,
            "achieved_changes_per_s": round(achieved, 1),
            "tx_per_s": round(stats.rate(volume.committed_tx, volume.span_s), 1),
            "seconds": round(volume.span_s, 1),
            "sim_run": run_id,
            "sim_behind_s": behind,
            "expected_events": len(expected),
            "matched_events": matched,
            "matched_share": round(matched / len(expected), 3) if expected else None,
            "unmatched_arrivals": result.unmatched_arrivals,
            "missing_by_type": {
                t: n - result.matched_by_type.get(t, 0)
                for t, n in sorted(result.expected_by_type.items())
                if n - result.matched_by_type.get(t, 0)
            },
            **(
                {
                    "p50_ms": summary.p50_ms,
                    "p95_ms": summary.p95_ms,
                    "p99_ms": summary.p99_ms,
                    "max_ms": summary.max_ms,
                    "mean_ms": summary.mean_ms,
                }
                if summary
                else {
                    "p50_ms": None,
                    "p95_ms": None,
                    "p99_ms": None,
                    "max_ms": None,
                    "mean_ms": None,
                }
            ),
            # Where the time goes: commit → produced by the runner (Debezium, raw topic,
            # consume, transform) and produced → visible (transaction commit, reader's fetch).
            "commit_to_produced_ms": _parts(produced),
            "produced_to_visible_ms": _parts(visible),
            # Per hop (``bench.hops``), the bare Debezium → raw topic floor, p99 minus it.
            "hops_ms": hops.summary(
                result.matches,
                readers.raw.seen(),
                readers.log.seen(),
                summary.p99_ms if summary else None,
            ),
            "slope_ms_per_s": growth.slope_ms_per_s,
            "growth_ms": growth.growth_ms,
            "lag_grows": lag_grows,
            # The pipeline fell behind, or the simulator could not hold its schedule (it is one
            # Python process on the same two cores).
            "knee": lag_grows or behind > 1.0,
        }

    # -- B5 ----------------------------------------------------------------------------------

    def edi_env(self, outbox: Path) -> dict[str, str]:
        """``scv edi run`` on the pipeline's canonical topics, its own schema and outbox."""
        return {
            **self.env,
            "SCV_EDI_TOPIC_PREFIX": self.topic_prefix,
            "SCV_EDI_STORE_DSN": self.settings.store_dsn.get_secret_value(),
            "SCV_EDI_DB_SCHEMA": self.edi_schema,
            "SCV_EDI_OUTBOX_DIR": str(outbox),
            # The 846 schedule reads the views' serving table, which no view fills here.
            "SCV_EDI_SCHEDULE_846": "false",
        }

    @property
    def edi_schema(self) -> str:
        return f"bench_{self.settings.run_id}".replace("-", "_")

    def _b5(self) -> dict[str, Any]:
        """The B2/B4 runner and ``scv edi run`` while ``scv sim run`` writes at B5's rate."""
        import tempfile

        s = self.settings
        store = s.store_dsn.get_secret_value()
        group = self.group("pipeline")
        # The item master (GTINs, units) of a world ``scv sim init`` re-created reaches Kafka
        # only by a snapshot; without it every 856 of a partner requiring GTINs is rejected.
        for table in B5_SNAPSHOT_TABLES:
            children.scv(["connectors", "snapshot", "erp", "--table", table], self.env, 120)
        self.status("B5: waiting for the item snapshots on the raw topics")
        self._settle(self._raw_parts, 3.0, 180)
        with tempfile.TemporaryDirectory(prefix="scv-bench-outbox-") as tmp:
            outbox = Path(tmp)
            kids = [children.runner(i, self.runner_env()) for i in range(s.instances)]
            edi = children.Child(
                "edi run", [sys.executable, "-m", "scv", "edi", "run"], self.edi_env(outbox)
            )
            for kid in kids:
                self.sampler.watch("runner", kid.start())
            self.sampler.watch("edi", edi.start())
            watcher = kafkautil.GroupWatcher(self.bootstrap, group)
            try:
                self._catch_up(kids, watcher)
                per_tx = self._changes_per_tx or self._calibrate([*kids, edi])
                self._edi_idle(store, [*kids, edi])
                before = {
                    f.shipment_id for f in outbox_module.files_856(store, self.edi_schema, outbox)
                }
                return self._b5_step(per_tx, outbox, before, [*kids, edi])
            finally:
                for kid in kids:
                    kid.stop()
                edi.stop()
                watcher.close()
                if not s.keep_topics:
                    outbox_module.drop_schema(store, self.edi_schema)

    def _calibrate(self, kids: list[children.Child]) -> float:
        """Changes per business transaction from a short run (B3 did not run). The first
        transactions of a world are mostly order entries, lighter than the mix to come: 4 s
        at 10 tx/s gave 9.8 changes per transaction and the 1,000/s step then wrote 1,472/s
        (14.4 per transaction); 300 transactions come closer."""
        self.status("B5: a short run to learn the changes per transaction")
        out = children.scv(
            [
                "sim",
                "run",
                "--rate",
                "30",
                "--duration",
                "10",
                "--seed",
                str(self.settings.sim_seed),
            ],
            self.env,
            120,
        )
        self._alive(kids)
        found = ledger.rows(self.settings.store_dsn.get_secret_value(), children.sim_run_id(out))
        per_tx = ledger.volume(found, {}).changes_per_tx
        if per_tx <= 0:
            raise ScenarioFailed("the calibration run committed nothing")
        return per_tx

    def _edi_idle(self, store: str, kids: list[children.Child], quiet_s: float = 3.0) -> None:
        """Until the EDI stage has read something and its offsets stopped moving."""
        deadline = time.monotonic() + 180
        last, since = -1, time.monotonic()
        while True:
            self._alive(kids)
            now = outbox_module.consumed(store, self.edi_schema)
            if now != last:
                last, since = now, time.monotonic()
            elif now > 0 and time.monotonic() - since >= quiet_s:
                return
            if time.monotonic() > deadline:
                raise ScenarioFailed("scv edi run did not catch up with the pipeline in 180s")
            self.status(f"B5: edi run catching up ({now} records read)")
            time.sleep(0.25)

    def _alive(self, kids: list[children.Child]) -> None:
        why = next((w for kid in kids if (w := kid.exited()) is not None), None)
        if why is not None:
            raise ScenarioFailed(why)

    def _b5_step(
        self, per_tx: float, outbox: Path, before: set[str], kids: list[children.Child]
    ) -> dict[str, Any]:
        s = self.settings
        store = s.store_dsn.get_secret_value()
        tx_rate = B5_RATE / per_tx
        self.status(f"B5 {B5_RATE} changes/s ({tx_rate:.1f} tx/s) for {s.step_s:.0f}s")
        try:
            out = children.scv(
                ["sim", "run", "--rate", f"{tx_rate:.3f}", "--duration", f"{s.step_s:g}",
                 "--seed", str(s.sim_seed + 50)],
                self.env,
                s.step_s * 10 + 60,
            )  # fmt: skip
        except ScenarioFailed as exc:
            raise SimulatorFailed(str(exc)) from None
        run_id = children.sim_run_id(out)
        found = ledger.rows(store, run_id)
        volume = ledger.volume(found, {})
        dispatched = outbox_module.dispatches(found)
        # The step's dispatches only: a shipment id of an earlier world is not this one's.
        mine = [d for d in dispatched if d.shipment_id not in before]
        deadline = time.monotonic() + s.settle_s + B5_GOAL_P99_MS / 1000
        last, last_change = -1, time.monotonic()
        while True:
            matched = outbox_module.match(
                mine, outbox_module.files_856(store, self.edi_schema, outbox)
            )
            now = time.monotonic()
            if len(matched) != last:
                last, last_change = len(matched), now
            self.status(f"B5: {len(matched)} 856 files for {len(mine)} dispatches")
            if now > deadline or now - last_change > 5:
                break
            self._alive(kids)
            time.sleep(0.5)
        latencies = [m.latency_ms for m in matched]
        summary = stats.summarize_ms(latencies)
        shipments = {m.file.shipment_id for m in matched}
        achieved = stats.rate(volume.changes, volume.span_s)
        p99 = summary.p99_ms if summary else None
        self.say(
            f"B5 {B5_RATE}/s: achieved {achieved:.0f}/s, {len(matched)} 856 files of "
            f"{len(mine)} dispatches, p50 {summary.p50_ms if summary else '-'} ms, p99 {p99} ms"
        )
        return {
            "target_changes_per_s": B5_RATE,
            "achieved_changes_per_s": round(achieved, 1),
            "tx_per_s": round(stats.rate(volume.committed_tx, volume.span_s), 1),
            "seconds": round(volume.span_s, 1),
            "sim_run": run_id,
            "sim_behind_s": children.sim_behind(out),
            "dispatches": len(mine),
            "files_856": len(matched),
            "dispatches_with_856": len(shipments),
            # Dispatches of sites no 856 partner covers, or rejected (``scv edi rejects``).
            "dispatches_without_856": len(mine) - len(shipments),
            **(summary.as_dict() if summary else {"p50_ms": None, "p99_ms": None}),
            "goal": f"p99 < {B5_GOAL_P99_MS:.0f} ms at {B5_RATE} changes/s",
            "goal_met": p99 is not None and p99 < B5_GOAL_P99_MS,
        }


def _ts_ns(value: bytes) -> int | None:
    """The Debezium envelope's ``ts_ns`` (connector processing time), if present."""
    import orjson

    try:
        envelope = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(envelope, dict):
        return None
    payload = envelope.get("payload", envelope)
    found = payload.get("ts_ns") if isinstance(payload, dict) else None
    if isinstance(found, int):
        return found
    millis = payload.get("ts_ms") if isinstance(payload, dict) else None
    return millis * 1_000_000 if isinstance(millis, int) else None


def _parts(summary: stats.Summary | None) -> dict[str, float] | None:
    if summary is None:
        return None
    return {"p50": summary.p50_ms, "p95": summary.p95_ms, "p99": summary.p99_ms}
