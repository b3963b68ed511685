"""The console's small parts: open alerts, lag rows, the read cache, where it may listen, the
metrics hook, and the sign-in token of a local stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from console.alerts import by_kind, entity, open_alerts
from console.errors import NotOnLoopback
from console.lag import lag_rows
from console.live import _Cache
from console.serve import check_binding
from console.settings import ConsoleSettings, is_loopback

from .fakes import alert


def test_an_episode_is_open_from_its_raise_until_its_resolve() -> None:
    log = [alert(1, "raised"), alert(2, "raised"), alert(3, "resolved", episode=1),
           alert(4, "raised", episode=1)]  # fmt: skip
    assert [a["alert_id"][-1] for a in open_alerts(log)] == ["4", "2"]
    assert by_kind(open_alerts(log)) == {"below_reorder_point": 2}
    assert entity(alert(5, "raised", site_id="S", item_id="I")) == "I at S"
    assert entity(alert(6, "raised", order_id="O")) == "order O"


def test_lag_is_the_end_minus_the_next_offset() -> None:
    rows = lag_rows("g", {("t", 0): 7, ("t", 1): -1001}, {("t", 0): 10, ("t", 1): 4, ("t", 2): 2})
    assert [(r.partition, r.lag) for r in rows] == [(0, 3), (1, 4), (2, 2)]


def test_the_cache_reuses_a_read_for_its_ttl() -> None:
    now = [0.0]
    cache = _Cache(5, clock=lambda: now[0])
    calls: list[int] = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", read) == 1
    now[0] = 4.9
    assert cache.get("k", read) == 1
    now[0] = 5.0
    assert cache.get("k", read) == 2


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True),
                         ("::1", True), ("0.0.0.0", False), ("10.1.2.3", False),
                         ("example.org", False)])  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_only_with_a_token() -> None:
    check_binding(ConsoleSettings())
    with pytest.raises(NotOnLoopback, match=r"refusing to listen on 0\.0\.0\.0 without a sign-in"):
        check_binding(ConsoleSettings(host="0.0.0.0"))
    check_binding(ConsoleSettings(host="0.0.0.0", token=SecretStr("t")))
    assert ConsoleSettings(host="::1", port=1).url == "http://[::1]:1/"


def test_the_console_mounts_metrics_and_schemas() -> None:
    from connectors.settings import ConnectorsSettings
    from scv.commands import serve
    from transforms.settings import TransformsSettings
    from views.settings import ViewsSettings

    routes = serve.metrics_routes(
        TransformsSettings(), ViewsSettings(), [], ConnectorsSettings(), lambda _: None
    )
    assert [getattr(r, "path", None) for r in routes] == ["/metrics", "/schemas"]


def test_the_serve_command_refuses_a_public_host_without_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from scv.cli import cli

    monkeypatch.delenv("SCV_CONSOLE_TOKEN", raising=False)
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path / "absent"))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"], standalone_mode=False)
    assert isinstance(result.exception, NotOnLoopback)


def test_a_local_stack_gives_the_token_kept_in_its_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from scv.settings import console_settings

    monkeypatch.delenv("SCV_CONSOLE_TOKEN", raising=False)
    monkeypatch.setenv("SCV_STATE_DIR", str(tmp_path))
    assert console_settings().token is None  # loopback: none needed, none created
    assert not (tmp_path / "console.token").exists()
    public = console_settings(host="0.0.0.0")
    assert public.token is not None
    stored = tmp_path / "console.token"
    assert stored.read_text().strip() == public.token.get_secret_value()
    assert stored.stat().st_mode & 0o777 == 0o600
    assert console_settings(host="0.0.0.0").token == public.token  # created once
    monkeypatch.setenv("SCV_CONSOLE_TOKEN", "mine")
    chosen = console_settings(host="0.0.0.0").token
    assert chosen is not None
    assert chosen.get_secret_value() == "mine"
