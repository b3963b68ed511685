"""``scv quality report`` over the real chain (``conftest.chain``), opened in headless Chromium.

The report renders its charts and figures (the DOM Chromium built holds the SVG charts and the
numbers of ``summary.json``), a screenshot is kept under ``artifacts/`` (its path is printed),
and nothing outside loopback is requested: the HTML names no remote URL, and Chromium, with
every host name mapped to "not found", logs no request to anything but ``file:`` (net log).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from chain import scv

from .conftest import Chain, artifacts_dir

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = re.compile(r"^(file:|data:|about:|chrome:|blob:|https?://(127\.0\.0\.1|localhost)[:/])")
pytestmark = pytest.mark.timeout(1800)


def _chromium(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="scv-chromium-") as profile:
        return subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-default-apps",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--window-size=1280,2000",
                *args,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _page_requests(net_log: Path) -> list[str]:
    """URLs of the requests the page made (Chromium's own background requests, such as its
    updater, have no origin: ``"initiator": "not an origin"``)."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        str(event["params"]["url"])
        for event in log["events"]
        if event["type"] == start
        and event.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


def _outside_loopback(page: Path, tmp_path: Path) -> list[str]:
    net_log = tmp_path / f"{page.stem}.netlog.json"
    done = _chromium(page.as_uri(), f"--log-net-log={net_log}", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return [u for u in _page_requests(net_log) if not LOOPBACK.match(u)]


def test_the_report_renders_offline_in_chromium(chain: Chain, tmp_path: Path) -> None:
    out = tmp_path / "report"
    printed = scv(chain.env, "quality", "report", "--topic-prefix", chain.prefix, "--out", str(out))
    index = out / "index.html"
    assert str(index) in printed
    summary = json.loads((out / "summary.json").read_text())
    totals = summary["totals"]
    assert totals["passed"] > 0
    assert totals["quarantined"] > 0
    html = index.read_text()
    remote = [
        u for u in re.findall(r"""(?:https?:)?//[^\s"'<>)]+""", html) if not LOOPBACK.match(u)
    ]
    assert remote == [], f"the report names remote URLs: {remote[:5]}"
    assert (out / summary["data_docs"]["index"]).exists()

    url = index.as_uri()
    dom = _chromium(url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = dom.stdout
    assert rendered.count("<svg") >= 2 + len(summary["event_types"])
    assert 'class="passed"' in rendered
    assert 'class="quarantined"' in rendered
    assert f'id="total-passed">{totals["passed"]:,}<' in rendered
    assert f'id="total-quarantined">{totals["quarantined"]:,}<' in rendered
    for failure in summary["failures"]:
        assert failure["rule"] in rendered

    screenshot = artifacts_dir() / f"quality-report-{chain.prefix.rstrip('.')}.png"
    shot = _chromium(url, f"--screenshot={screenshot}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 10_000
    print(f"quality report screenshot: {screenshot}")  # noqa: T201 - the CI artifact path

    # The net-log check sees a remote request when there is one (control page)...
    control = tmp_path / "control.html"
    control.write_text('<img src="https://example.invalid/logo.png"><p>control</p>')
    assert _outside_loopback(control, tmp_path) == ["https://example.invalid/logo.png"]
    # ...and the report makes none.
    assert _outside_loopback(index, tmp_path) == []
