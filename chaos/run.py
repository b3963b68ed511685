"""One invocation of ``scv chaos run``: each named scenario ``runs`` times, each run judged.

A run, and why in this order::

    seed a new legacy world           (the views reconcile against the sources from scratch)
    start a runner and a views process with a namespace of their own, and the probe
    scv sim run at the set rate       the scenario injects its faults mid-stream
    stop the traffic                  `tail_s` after the last fault
    drain                             connectors RUNNING, raw topics quiet, the runner's group
                                      committed past their ends; runner SIGTERM (exit 0);
                                      views SIGTERM, then `scv views run --until-idle`
    judge                             the ledger of the run (sim verify's check), reconcile,
                                      raw duplicates against the runner's skipped replays,
                                      the recovery of each fault

A step that fails (a child exits, a drain never ends) is recorded as that run's error and the
next run goes on; the stack is brought back up (``scv stack up``) whatever happened.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from chaos import measure, verdict
from chaos.errors import ChaosError, ScenarioFailed, UnknownScenario
from chaos.harness import (
    Pipeline,
    Say,
    Stack,
    Supervisor,
    Traffic,
    endpoints_env,
    scv,
    seed_world,
)
from chaos.probe import ArrivalProbe
from chaos.rawtopics import await_running, raw_duplicates, wait_quiet
from chaos.scenarios import SCENARIOS, Context, Scenario
from chaos.settings import ChaosSettings
from stack.settings import StackSettings

Progress = Callable[[str], None]


def resolve(names: Sequence[str], every: bool) -> list[Scenario]:
    """The scenarios named (or all of them); an unknown name is a usage error."""
    if every:
        return list(SCENARIOS.values())
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise UnknownScenario(
            f"unknown scenario {', '.join(unknown)}: `scv chaos list` names {', '.join(SCENARIOS)}"
        )
    if not names:
        raise UnknownScenario("name a scenario (`scv chaos list`) or give --all")
    return [SCENARIOS[n] for n in names]


@dataclass
class ChaosRun:
    settings: ChaosSettings
    stack_settings: StackSettings
    say: Say
    status: Progress

    def run(self, scenarios: Sequence[Scenario], runs: int) -> list[verdict.Outcome]:
        env = endpoints_env(self.settings)
        stack = Stack(self.stack_settings, env)
        stack.check()
        outcomes = []
        for scenario in scenarios:
            for n in range(1, runs + 1):
                self.status(f"{scenario.name} run {n}/{runs}")
                outcome = self._one(scenario, n, env, stack)
                word = "PASS" if outcome.passed else "FAIL: " + "; ".join(outcome.failures)
                self.say(f"{scenario.name} run {n}/{runs}: {word} ({outcome.seconds:.0f}s)")
                outcomes.append(outcome)
        return outcomes

    def _one(
        self, scenario: Scenario, n: int, env: dict[str, str], stack: Stack
    ) -> verdict.Outcome:
        s = self.settings
        name = f"chaos{s.run_id}{scenario.name.replace('-', '')[:12]}{n}"
        logs = s.out_dir / s.run_id / f"{scenario.name}-{n}"
        logs.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()

        def step(line: str) -> None:
            self.status(f"{scenario.name} run {n}: {line}")

        pipeline = Pipeline(name, env, {}, logs)
        probe = ArrivalProbe(s.kafka_bootstrap, pipeline.prefix)
        faults: list[measure.Fault] = []
        sim_runs: list[int] = []
        traffic_started: float | None = None
        try:
            pipeline.start = seed_world(s, env, step)
            pipeline.start_group(s.kafka_bootstrap)
            step("starting the runner and the views")
            pipeline.start_runner()
            pipeline.start_views()
            probe.start()
            # The runner first maps the new world's seed (snapshots of items, conversions,
            # stock): the faults come once it is live, so their figures are not its backlog's.
            self._catch_up(pipeline, step, supervised=False, what="warming up")
            traffic_started = time.time()
            supervisor: AbstractContextManager[object] = (
                Supervisor(pipeline) if scenario.supervised else nullcontext()
            )
            with supervisor:
                traffic = Traffic(s, pipeline.env, logs)
                try:
                    faults = scenario.inject(Context(s, pipeline.env, stack, traffic, step))
                    step(f"faults done; the simulator writes {scenario.tail_s:.0f}s more")
                    traffic.stop(after_s=scenario.tail_s)
                finally:
                    try:
                        stack.up()  # whatever failed, the stack is left up
                    finally:
                        sim_runs.extend(traffic.finish())
                self._catch_up(pipeline, step, supervised=scenario.supervised)
            self._drain(pipeline, step)
            probe.stop()
            if probe.error is not None:
                raise ScenarioFailed(f"the probe failed: {probe.error}")
            step("judging: sim verify, reconcile, raw duplicates")
            return self._judge(
                scenario, n, pipeline, sim_runs, faults, probe, started, traffic_started
            )
        except ChaosError as exc:
            return self._judge(
                scenario, n, pipeline, sim_runs, faults, probe, started, traffic_started, str(exc)
            )
        finally:
            probe.stop()
            for child in (*pipeline.runners, *([pipeline.views] if pipeline.views else [])):
                child.stop(timeout=30)

    def _catch_up(
        self, pipeline: Pipeline, step: Progress, *, supervised: bool, what: str = "draining"
    ) -> None:
        """Until the runner's group committed past the raw topics' ends, once the connectors
        run and those ends stood still (a child that exited fails the run, unless the
        scenario is supervised: then the supervisor restarts it)."""
        s = self.settings
        step(f"{what}: connectors RUNNING")
        await_running(s.connect_url)
        step(f"{what}: raw topics quiet")
        end = wait_quiet(s.kafka_bootstrap, s.quiet_s)
        want = pipeline.size(end)
        deadline = time.monotonic() + s.drain_timeout_s
        while (done := pipeline.progress(s.kafka_bootstrap, end)) < want:
            if not supervised:
                pipeline.check_alive()
            if time.monotonic() > deadline:
                raise ScenarioFailed(
                    f"the runner committed {done:,} of {want:,} raw records in "
                    f"{s.drain_timeout_s:.0f}s"
                )
            step(f"{what}: runner at {done:,} / {want:,} raw records")
            time.sleep(1)
        pipeline.end = end

    def _drain(self, pipeline: Pipeline, step: Progress) -> None:
        """Stop the runners (SIGTERM: exit 0), then the views to idle."""
        for runner in pipeline.runners:
            code = runner.stop()
            if code != 0:
                raise ScenarioFailed(f"{runner.name} exited {code} on SIGTERM")
        step("draining: views to idle")
        if pipeline.views is not None:
            pipeline.views.stop()
        scv(["views", "run", "--until-idle", "--schema", pipeline.schema], pipeline.env)
        # The probe reads what the views read: give it the same last look.
        time.sleep(2)

    def _judge(
        self,
        scenario: Scenario,
        n: int,
        pipeline: Pipeline,
        sim_runs: list[int],
        faults: list[measure.Fault],
        probe: ArrivalProbe,
        started: float,
        traffic_started: float | None,
        error: str | None = None,
    ) -> verdict.Outcome:
        s = self.settings
        arrivals = probe.arrivals()
        recoveries = tuple(measure.recoveries(faults, arrivals))
        figures = {"missing": 0, "duplicated": 0, "unexpected": 0}
        keys = mismatches = duplicates = 0
        if error is None:
            try:
                figures = self._verify(pipeline, sim_runs)
                keys, mismatches = self._reconcile(pipeline)
                duplicates = raw_duplicates(s.kafka_bootstrap, pipeline.start, pipeline.end)
            except ChaosError as exc:
                error = str(exc)
        replays = pipeline.replays_skipped()
        found = dict(
            recoveries=recoveries,
            raw_duplicates=duplicates,
            replays_skipped=replays,
            reconcile_mismatches=mismatches,
            error=error,
            **figures,
        )
        return verdict.Outcome(
            scenario=scenario.name,
            run=n,
            chaos_run_id=s.run_id,
            pipeline=pipeline.name,
            sim_runs=tuple(sim_runs),
            delayed=measure.delayed(recoveries, arrivals),
            lag_before_s=measure.lag(
                arrivals, traffic_started, min((f.at for f in faults), default=None)
            ),
            canonical_events=len(arrivals),
            reconcile_keys=keys,
            restarts=tuple(pipeline.restarts),
            seconds=round(time.monotonic() - started, 1),
            failures=verdict.failures(**found),  # type: ignore[arg-type]
            **found,  # type: ignore[arg-type]
        )

    def _verify(self, pipeline: Pipeline, runs: list[int]) -> dict[str, int]:
        """``scv sim verify``'s check of the runs against the pipeline's topics."""
        from legacy_sim.verify import check, read_ledger
        from transforms.readback import canonical_payloads, quarantined_rows
        from transforms.settings import TransformsSettings

        settings = TransformsSettings(
            kafka_bootstrap=self.settings.kafka_bootstrap, topic_prefix=pipeline.prefix
        )
        ledger = read_ledger(self.settings.store_dsn.get_secret_value(), runs)
        report = check(
            ledger,
            canonical_payloads(settings),
            quarantined_rows(settings, ledger.since, ledger.until),
        )
        types = report.types.values()
        return {
            "missing": sum(t.missing for t in types),
            "duplicated": sum(t.duplicated for t in types),
            "unexpected": sum(t.unexpected for t in types),
        }

    def _reconcile(self, pipeline: Pipeline) -> tuple[int, int]:
        """``scv reconcile``: site x item keys compared, mismatches."""
        from views.reconcile import reconcile_sources
        from views.settings import ViewsSettings

        settings = ViewsSettings.model_validate(
            {
                # the fields' aliases (``validation_alias``), as the environment names them
                "SCV_VIEWS_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
                "SCV_VIEWS_STORE_DSN": self.settings.store_dsn.get_secret_value(),
                "db_schema": pipeline.schema,
                "topic_prefix": pipeline.prefix,
            }
        )
        result = reconcile_sources(
            settings,
            self.settings.erp_read_dsn.get_secret_value(),
            self.settings.wms_dsn.get_secret_value(),
        )
        return result.keys, len(result.mismatches)


def commit_of(root: str) -> str | None:
    """``git rev-parse --short HEAD`` of the checkout at ``root`` (None outside one)."""
    done = subprocess.run(
        ["git", "-C", root, "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


def run_suite(
    settings: ChaosSettings,
    stack_settings: StackSettings,
    names: Sequence[str],
    *,
    every: bool,
    runs: int,
    say: Say,
    status: Progress,
) -> list[verdict.Outcome]:
    """``scv chaos run``: the scenarios, each ``runs`` times; the outcomes written to
    ``<out_dir>/<run id>/results.json``, and with ``every`` the generated section of
    ``settings.report_path`` rewritten."""
    from datetime import UTC, datetime

    import orjson

    from chaos import report

    scenarios = resolve(names, every)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    outcomes = ChaosRun(settings, stack_settings, say, status).run(scenarios, runs)
    folder = settings.out_dir / settings.run_id
    folder.mkdir(parents=True, exist_ok=True)
    results = {
        "scv_chaos": 1,
        "run_id": settings.run_id,
        "commit": settings.commit,
        "started_at": started,
        "rate": settings.rate,
        "outcomes": [o.to_json() for o in outcomes],
    }
    (folder / "results.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    say(f"results: {folder / 'results.json'}")
    if every and settings.report_path is not None:
        page = settings.report_path.read_text(encoding="utf-8")
        generated = report.section(
            outcomes,
            {s.name: s.fault for s in scenarios},
            commit=settings.commit,
            run_id=settings.run_id,
            started=started,
            rate=settings.rate,
        )
        settings.report_path.write_text(report.splice(page, generated), encoding="utf-8")
        say(f"rewrote the generated section of {settings.report_path}")
    return outcomes
