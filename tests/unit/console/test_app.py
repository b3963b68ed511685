"""The console's pages over a fake ``Sources``: figures, filters, live fragments, replay with
confirmation and CSRF, sign-in, and every asset local."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr

from console.app import CSRF_COOKIE, SESSION_COOKIE, create_app, session_value
from console.settings import ConsoleSettings
from kafkaio import KafkaIOError
from views.order_store import OrderTimeline
from views.positions import Position

from .fakes import FakeSources, alert, step, summary
from .testclient import TestClient

HTML = {"accept": "text/html"}
PAGES = (
    "/stock",
    "/orders",
    "/alerts",
    "/quality",
    "/pipeline",
    "/suppliers",
    "/demand",
    "/quality/records/0:1",
)


def client(sources: FakeSources, **settings: object) -> TestClient:
    app = create_app(ConsoleSettings(**settings), sources)  # type: ignore[arg-type]
    return TestClient(app, base_url="http://127.0.0.1:18080")


def rows(html: str, table: str) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[^>]*>.*?</tr>", body.split("<tbody>", 1)[1], flags=re.S)


def cells(row: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>",
                                                                    row, flags=re.S)]  # fmt: skip


def test_every_page_renders_with_its_own_assets_only() -> None:
    sources = FakeSources()
    sources.log = [alert(1, "raised")]
    c = client(sources)
    for path in PAGES:
        response = c.get(path, headers=HTML)
        assert response.status_code == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        html = response.text
        assert '<html lang="en">' in html
        referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert all(u.startswith(("/", "#")) and not u.startswith("//") for u in referenced), (
            referenced
        )
        for asset in {u for u in referenced if u.startswith("/static/")}:
            assert c.get(asset).status_code == 200, asset
        assert " style=" not in html  # the CSP allows no inline style
        assert "<script>" not in html  # nor inline script


def test_stock_shows_each_position_as_the_cli_prints_it_and_highlights_low_ones() -> None:
    html = client(FakeSources()).get("/stock").text
    found = {tuple(cells(r)[:2]): cells(r) for r in rows(html, "positions")}
    assert set(found) == {("20001", "BOLT-1"), ("20001", "NUT-2 below reorder"),
                          ("30001", "BOLT-1 below reorder")}  # fmt: skip
    bolt = found[("20001", "BOLT-1")]
    # site, item, on hand, allocated, on hold, available, in transit, on order, reserved, picked
    assert bolt[2:10] == ["100", "5", "0", "95", "0", "0", "0", "0"]
    assert found[("20001", "NUT-2 below reorder")][2] == "10.5"
    assert 'class="below"' in html
    # the trend of the position with a history, from 50 to 100
    assert len(re.findall(r'<svg class="spark"', html)) == 1
    assert 'aria-label="on hand from 50 to 100, now 100"' in rows(html, "positions")[0]


def test_stock_filters_by_site_item_and_below_reorder() -> None:
    c = client(FakeSources())
    assert len(rows(c.get("/stock?site=30001").text, "positions")) == 1
    assert len(rows(c.get("/stock?item=bolt").text, "positions")) == 2
    below = rows(c.get("/stock?below=1").text, "positions")
    assert [cells(r)[:2] for r in below] == [["20001", "NUT-2 below reorder"],
                                             ["30001", "BOLT-1 below reorder"]]  # fmt: skip


def test_stock_as_of_replays_and_refuses_a_time_it_cannot_read() -> None:
    sources = FakeSources()
    c = client(sources)
    html = c.get("/stock?as_of=2026-11-27T12:00:00Z").text
    assert sources.as_of == [datetime(2026, 11, 27, 12, tzinfo=UTC)]
    assert [cells(r)[2] for r in rows(html, "positions")] == ["7"]
    assert "as of 2026-11-27T12:00:00+00:00" in html
    c.get("/stock?as_of=2026-11-27T12:30")  # a datetime-local value: UTC
    assert sources.as_of[-1] == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    bad = c.get("/stock?as_of=yesterday")
    assert bad.status_code == 400
    assert "is not a time" in bad.text


def test_a_source_that_is_away_is_said_in_place() -> None:
    sources = FakeSources()
    sources.failing = KafkaIOError("broker 127.0.0.1:19092 not reachable")
    c = client(sources)
    for path in PAGES:
        response = c.get(path)
        assert response.status_code == 200, path
        assert "Unavailable now: KafkaIOError: broker 127.0.0.1:19092 not reachable" in (
            response.text
        ), path


def test_open_alerts_are_raised_episodes_not_resolved_and_the_fragment_sees_new_ones() -> None:
    sources = FakeSources()
    sources.log = [
        alert(1, "raised", site_id="20001", item_id="BOLT-1"),
        alert(2, "raised", kind="late_shipment", order_id="00001-SO-9"),
        alert(3, "resolved", episode=1),
    ]
    c = client(sources)
    html = c.get("/alerts").text
    opened = rows(html, "open-alerts")
    assert len(opened) == 1
    assert "order 00001-SO-9" in opened[0]
    assert len(rows(html, "recent-alerts")) == 3
    assert 'data-live="/alerts/live"' in html
    assert 'data-kind-count="late_shipment">1<' in html
    sources.log.append(alert(4, "raised", kind="temperature_excursion", sensor_id="P-7"))
    live = c.get("/alerts/live").text
    assert "<html" not in live
    assert 'data-alert-id="00000000-0000-0000-0000-000000000004"' in live
    assert "sensor P-7" in live
    only = c.get("/alerts/live?kind=late_shipment").text
    assert len(rows(only, "open-alerts")) == 1
    assert "sensor P-7" not in only


def test_orders_search_timeline_and_late_orders() -> None:
    sources = FakeSources()
    sources.tracked = {
        "00001-SO-9": OrderTimeline(summary("00001-SO-9"), [
            step("00001-SO-9", 0, "placed", "erp", line_id="1", item_id="BOLT-1",
                 quantity=Decimal("10.0")),
            step("00001-SO-9", 3, "dispatched", "wms", detail="shipment MB-1, UPS 1Z9"),
        ]),
        "00001-SO-10": OrderTimeline(summary("00001-SO-10", days_late=2), []),
    }  # fmt: skip
    sources.log = [alert(5, "raised", kind="late_shipment", order_id="00001-SO-9")]
    c = client(sources)
    listed = c.get("/orders?q=so-").text
    assert re.findall(r'<li><a href="/orders\?order=[^"]+">([^<]+)</a>', listed) == [
        "00001-SO-10", "00001-SO-9"
    ]  # fmt: skip
    one = c.get("/orders?q=00001-SO-9").text
    assert re.findall(r'<li data-step="([^"]+)"', one) == ["placed", "dispatched"]
    assert "shipment MB-1, UPS 1Z9" in one
    assert '<dd data-field="shipped">8 of 10 <span class="tag">short</span></dd>' in one
    assert '<dd data-field="days_late">on time</dd>' in one
    assert "message 5" in one  # the order's alert
    late = [cells(r) for r in rows(one, "late-orders")]
    assert late == [["00001-SO-10", "2", "2026-11-30", "2026-12-02 (carrier ETA)", "shipped",
                     "on the truck"]]  # fmt: skip
    assert "The views have read no event of order X-1." in c.get("/orders?order=X-1").text


def test_quality_shows_the_summary_figures_and_masked_records() -> None:
    c = client(FakeSources())
    html = c.get("/quality").text
    assert 'id="total-passed">1,998<' in html
    assert 'id="total-quarantined">2<' in html
    assert 'id="total-pass-rate">99.90%<' in html
    assert [cells(r)[0] for r in rows(html, "rules")] == ["quantity_positive", "status_known"]
    assert html.count("<svg") >= 3
    assert [cells(r)[0] for r in rows(html, "latest-records")] == ["0:2", "0:1"]
    record = c.get("/quality/records/0:1").text
    assert "PO-SECRET-1" not in record
    assert "4242" not in record
    assert "•••" in record
    assert c.get("/quality/records/9:9").status_code == 404


def _csrf(c: TestClient) -> str:
    c.get("/quality")
    return c.cookies[CSRF_COOKIE]


def test_replay_needs_the_csrf_token_then_a_confirmation() -> None:
    sources = FakeSources()
    c = client(sources)
    token = _csrf(c)
    assert c.post("/quality/replay", data={"rule": ""}).status_code == 403
    assert c.post("/quality/replay", data={"csrf": "forged"}).status_code == 403
    cross = c.post("/quality/replay", data={"csrf": token, "confirmed": "yes"},
                   headers={"origin": "http://evil.example"})  # fmt: skip
    assert cross.status_code == 403
    hidden = c.post("/quality/replay", data={"csrf": token, "confirmed": "yes"},
                    headers={"origin": "null"})  # fmt: skip
    assert hidden.status_code == 403
    assert c.get("/quality").headers["referrer-policy"] == "same-origin"  # so Origin is sent
    asked = c.post("/quality/replay", data={"csrf": token, "rule": "status_known"})
    assert asked.status_code == 200
    assert "Replay 1 quarantined record that failed status_known?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert sources.replays == []
    done = c.post("/quality/replay",
                  data={"csrf": token, "rule": "status_known", "confirmed": "yes"})  # fmt: skip
    assert sources.replays == ["status_known"]
    assert "2 selected, 0 replayed before, 2 replayed now in 1 transactions (2 events)" in (
        done.text
    )
    unknown = c.post("/quality/replay", data={"csrf": token, "rule": "nope", "confirmed": "yes"})
    assert unknown.status_code == 400
    assert sources.replays == ["status_known"]


def test_pipeline_shows_connectors_lag_and_freshness() -> None:
    html = client(FakeSources()).get("/pipeline").text
    assert cells(rows(html, "connectors")[0])[:2] == ["erp", "RUNNING"]
    lag = [cells(r) for r in rows(html, "lag")]
    assert [r[-1] for r in lag] == ["10", "3"]  # 100 - 90; never read: 3 - 0
    assert 'data-lag-total="pipeline group g">13<' in html
    assert 'id="freshness"' in html
    assert "<html" not in client(FakeSources()).get("/pipeline/live").text


def test_pipeline_shows_each_runner_with_its_partitions_and_each_view_process() -> None:
    sources = FakeSources()
    html = client(sources).get("/pipeline").text
    shown = [cells(r) for r in rows(html, "instances")]
    assert shown == [
        ["runner", "scv-pipeline-1", "/10.0.0.7", "3",
         "erp.proddta.f4211: 0, 1; wms.orders: 0"],
        ["views", "pid 4242", "10.0.0.8 · since 2026-11-27 12:00:00", "2",
         "scv.inventory.v1: 0, 1"],
    ]  # fmt: skip
    assert 'data-runners="1"' in html
    assert 'data-view-processes="1"' in html
    sources.runners, sources.view_sessions = (), ()
    html = client(sources).get("/pipeline/live").text
    assert "No runner and no view process is running." in html
    assert 'data-runners="0"' in html
    assert "(empty)" in html


def test_suppliers_show_each_scorecard_as_the_cli_table_and_filter() -> None:
    c = client(FakeSources())
    shown = [cells(r) for r in rows(c.get("/suppliers").text, "scorecards")]
    assert shown == [
        ["4343", "7d", "6", "83.3%", "100.0%", "83.3%", "90.0%", "4.5", "7", "-", "1",
         "2026-11-27T12:00:00+00:00"],
        ["4344", "30d", "2", "-", "50.0%", "-", "50.0%", "-", "-", "-", "0",
         "2026-11-27T12:00:00+00:00"],
    ]  # fmt: skip
    assert [cells(r)[0] for r in rows(c.get("/suppliers?window=30").text, "scorecards")] == ["4344"]
    assert [cells(r)[0] for r in rows(c.get("/suppliers?supplier=43").text, "scorecards")] == [
        "4343",
        "4344",
    ]
    assert "No scorecard matches." in c.get("/suppliers?supplier=9").text


def test_demand_shows_the_series_in_a_shift_or_all_of_them() -> None:
    sources = FakeSources()
    c = client(sources)
    shifted = [cells(r) for r in rows(c.get("/demand").text, "demand")]
    assert shifted == [
        ["20001|BOLT-1", "up", "2026-11-27T12:00:00+00:00", "90.00", "30.00", "10.00", "6.00",
         "2026-11-27T12:00:00+00:00"],
    ]  # fmt: skip
    every = [cells(r)[:2] + cells(r)[-2:] for r in rows(c.get("/demand?all=1").text, "demand")]
    assert every[1] == ["20001|NUT-2", "-", "-0.25", "-"]
    assert sources.demand_asked == [(False, 50), (True, 50)]
    sources.series = []
    assert "No demand shift open." in c.get("/demand").text


def test_with_a_token_every_page_needs_sign_in() -> None:
    c = client(FakeSources(), token=SecretStr("s3cret-token"))
    redirected = c.get("/stock", headers=HTML, follow_redirects=False)
    assert redirected.status_code == 303
    assert redirected.headers["location"] == "/signin?next=%2Fstock"
    assert c.get("/alerts/live").status_code == 401
    assert c.get("/static/console.css").status_code == 200
    form = c.get("/signin?next=/alerts")
    csrf = c.cookies[CSRF_COOKIE]
    assert 'type="password"' in form.text
    wrong = c.post("/signin?next=/alerts", data={"csrf": csrf, "token": "guess"})
    assert wrong.status_code == 401
    assert c.get("/alerts/live").status_code == 401
    ok = c.post("/signin?next=/alerts", data={"csrf": csrf, "token": "s3cret-token"},
                follow_redirects=False)  # fmt: skip
    assert ok.headers["location"] == "/alerts"
    assert c.cookies[SESSION_COOKIE] == session_value("s3cret-token") != "s3cret-token"
    assert c.get("/alerts/live").status_code == 200
    bearer = client(FakeSources(), token=SecretStr("s3cret-token"))
    assert bearer.get("/stock", headers={"authorization": "Bearer s3cret-token"}).status_code == 200


def test_sign_in_never_redirects_off_site() -> None:
    c = client(FakeSources(), token=SecretStr("t"))
    c.get("/signin")
    form = {"csrf": c.cookies[CSRF_COOKIE], "token": "t"}
    done = c.post("/signin?next=//evil.example/x", data=form, follow_redirects=False)
    assert done.headers["location"] == "/"


@pytest.mark.parametrize("value", ["0", "12.5", "0.001"])
def test_quantities_print_as_the_inventory_cli(value: str) -> None:
    from console.app import fmt

    assert fmt(Decimal(value) + Decimal("0.000")) == value
    assert fmt(Position().on_hand) == "0"
