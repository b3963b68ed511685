"""Processes the benchmark starts: the simulator CLI, runner instances, passthrough instances."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench.errors import ScenarioFailed


def scv(args: Sequence[str], env: Mapping[str, str], timeout: float) -> str:
    """Run ``scv ARGS`` to the end; its stdout and stderr, or ``ScenarioFailed``."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scv", *args],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ScenarioFailed(f"`scv {' '.join(args)}` did not finish in {timeout:.0f}s") from None
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise ScenarioFailed(f"`scv {' '.join(args)}` exited {done.returncode}: {tail(output)}")
    return output


def tail(output: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])


_RUN_ID = re.compile(r"sim: run (\d+) ")
_BEHIND = re.compile(r"behind (\d+(?:\.\d+)?)s")


def sim_run_id(output: str) -> int:
    found = _RUN_ID.search(output)
    if found is None:
        raise ScenarioFailed(f"`scv sim run` printed no run id: {tail(output)}")
    return int(found.group(1))


def sim_behind(output: str) -> float:
    found = _BEHIND.findall(output)
    return float(found[-1]) if found else 0.0


@dataclass
class Child:
    """A long-running child; its output goes to a temporary file (read at the end)."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    # Lives as long as the child; closed with the interpreter.
    _out: IO[bytes] = field(default_factory=lambda: tempfile.TemporaryFile())  # noqa: SIM115

    def start(self) -> int:
        self.process = subprocess.Popen(
            self.argv, env=dict(self.env), stdout=self._out, stderr=subprocess.STDOUT
        )
        return self.process.pid

    def exited(self) -> str | None:
        """Why the child is gone, or None while it runs."""
        if self.process is None or self.process.poll() is None:
            return None
        return f"{self.name} exited {self.process.returncode}: {tail(self.output())}"

    def wait(self, timeout: float = 30) -> str:
        """Until the child exits by itself (SIGKILL after ``timeout``); returns the output."""
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.output()

    def stop(self, timeout: float = 30) -> str:
        """SIGTERM (finish the open batch), then SIGKILL if it hangs; returns the output."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.output()

    def output(self) -> str:
        self._out.seek(0)
        return self._out.read().decode(errors="replace")


def runner(instance: int, env: Mapping[str, str]) -> Child:
    """The real ``scv pipeline run`` (whatever gate the CLI wires in) as instance ``instance``."""
    argv = [sys.executable, "-m", "scv", "pipeline", "run", "--instance-id", str(instance)]
    return Child(f"runner {instance}", argv, env)


def profiler(pid: int, out: Path, env: Mapping[str, str]) -> Child:
    """py-spy attached to ``pid`` (idle time included: wall-clock profile); writes ``out``
    (collapsed stacks) when ``pid`` exits."""
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    argv = [py_spy, "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
            "--output", str(out), "--nonblocking", "--idle"]  # fmt: skip
    return Child(f"py-spy {pid}", argv, env)


def passthrough(instance: int, settings_json: str, out_topic: str, env: Mapping[str, str]) -> Child:
    argv = [sys.executable, "-m", "bench.passthrough", settings_json, out_topic]
    return Child(f"passthrough {instance}", argv, env)
