"""``scv demo`` on the real stack, as the README's first command runs it: it ends with exit 0,
prints the web console's URL, and the console answers there while the demo runs; the run
verifies against the ledger and ends with the cut-over parity verdict."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx

#: A demo of 20 s of traffic takes 2-4 minutes here; a hung one is killed after this.
DEMO_TIMEOUT_S = 900


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_runs_end_to_end_and_its_console_answers_at_the_printed_url(
    endpoints: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    lines: list[str] = []
    pages: dict[str, int] = {}
    with subprocess.Popen(
        [sys.executable, "-m", "scv", "demo", "--duration", "20", "--out", str(tmp_path),
         "--console-port", str(port)],
        env={**os.environ, **endpoints, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as demo:  # fmt: skip
        watchdog = threading.Timer(DEMO_TIMEOUT_S, demo.kill)
        watchdog.start()
        try:
            assert demo.stdout is not None
            for line in demo.stdout:
                lines.append(line)
                printed = re.search(r"web console: (http://\S+)", line)
                if printed and not pages:
                    url = printed.group(1)
                    pages = {path: httpx.get(url + path, timeout=10).status_code
                             for path in ("stock", "alerts", "pipeline")}  # fmt: skip
            code = demo.wait()
        finally:
            watchdog.cancel()
    output = "".join(lines)
    assert code == 0, output[-4000:]
    assert pages == {"stock": 200, "alerts": 200, "pipeline": 200}, output[-4000:]
    assert f"web console: http://127.0.0.1:{port}/" in output
    assert "Traceback" not in output
    assert "parity PASS" in output, output[-4000:]
    assert (tmp_path / "quality").is_dir()
