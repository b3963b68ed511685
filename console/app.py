"""The console's web app: routes, sign-in, CSRF protection, security headers.

Pages (Jinja2 templates in ``console/templates``, assets in ``console/static``, nothing from
another origin, which the Content-Security-Policy enforces):

    /stock              positions per site x item: filters, below-reorder, --as-of, sparklines
    /orders             search by order, one order's timeline and projection, late orders
                        (the views' order tracking: ``scv order track``, ``order list --late``)
    /alerts             open alerts (live: /alerts/live polled by console.js) and recent ones
    /quality            pass rate per event type over time, quarantine by rule, latest records,
                        replay (POST /quality/replay: a confirmation step, then the replay)
    /quality/records/ID one quarantine record, masked (``scv quarantine show ID``)
    /pipeline           connectors, the runner and views instances, consumer lag, throughput
                        and freshness p50/p99 per event type over the last hour
                        (live: /pipeline/live)
    /suppliers          supplier scorecards per window, worst OTIF first (``scv suppliers
                        scorecard``)
    /demand             demand series in a shift, or all of them (``scv demand shifts``)

Sign-in: with a token (``ConsoleSettings.token``), every page but /signin, /static and /healthz
needs the session cookie /signin sets (an HMAC of the token, never the token itself) or an
``Authorization: Bearer <token>`` header. Every POST carries the double-submit CSRF token (the
``scv_csrf`` cookie, SameSite=Strict, equal to the form's ``csrf`` field) and, when the browser
sends one, an ``Origin`` of this host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from console.alerts import by_kind, entity, open_alerts
from console.history import sparkline
from console.settings import ConsoleSettings
from console.sources import UNAVAILABLE, Sources
from expectations.quarantine import find
from expectations.report import bars_chart, volume_chart
from views.alerts import KINDS
from views.positions import BUCKETS
from views.supply import figure_text, rate_percent

HERE: Final = Path(__file__).parent
SESSION_COOKIE: Final = "scv_session"
CSRF_COOKIE: Final = "scv_csrf"
#: Paths open without signing in (the JSON Schemas are what every event's ``dataschema``
#: names, public by design).
PUBLIC: Final = ("/signin", "/static/", "/healthz", "/schemas")
#: Latest quarantine records listed on the quality page.
LATEST_RECORDS: Final = 20
#: Orders listed for a search.
FOUND_ORDERS: Final = 50
#: Demand series listed (``scv demand shifts``' default ``--limit``).
DEMAND_SERIES: Final = 50
MAX_FORM_BYTES: Final = 16 * 1024
#: Every resource from this origin only; no inline script, no inline style attribute.
CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COLUMNS: Final = (*BUCKETS[:3], "available", *BUCKETS[3:])

T = TypeVar("T")


def fmt(value: Decimal | None) -> str:
    """A quantity as ``scv inventory show --json`` prints it."""
    if value is None:
        return "-"
    return f"{value.normalize():f}" if value else "0"


def pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a page: its value, or why it could not be read."""

    value: Any
    error: str | None = None


def attempt(read: Callable[[], T]) -> Section:
    try:
        return Section(read())
    except UNAVAILABLE as exc:
        return Section(None, f"{type(exc).__name__}: {exc}")


def session_value(token: str) -> str:
    """The session cookie's value: proves the token was given without being it."""
    return hmac.new(token.encode(), b"scv-console-session", hashlib.sha256).hexdigest()


def parse_time(text: str) -> datetime:
    """ISO time, or a ``datetime-local`` value (no zone: UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Guard(BaseHTTPMiddleware):
    """Sign-in, the CSRF cookie and the security headers of every response."""

    def __init__(self, app: Any, settings: ConsoleSettings) -> None:
        super().__init__(app)
        self.token = None if settings.token is None else settings.token.get_secret_value()

    def signed_in(self, request: Request) -> bool:
        if self.token is None:
            return True
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if hmac.compare_digest(cookie, session_value(self.token)):
            return True
        bearer = request.headers.get("authorization", "")
        return bearer.startswith("Bearer ") and hmac.compare_digest(
            bearer.removeprefix("Bearer ").strip(), self.token
        )

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = csrf
        request.state.signin = self.token is not None
        path = request.url.path
        if not path.startswith(PUBLIC) and not self.signed_in(request):
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                response: Response = RedirectResponse(
                    "/signin?" + urlencode({"next": path}), status_code=303
                )
            else:
                response = PlainTextResponse("sign in first", status_code=401)
        else:
            response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        response.headers["content-security-policy"] = CSP
        response.headers["x-content-type-options"] = "nosniff"
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the
        # form posts, which the CSRF check (rightly) refuses.
        response.headers["referrer-policy"] = "same-origin"
        response.headers["x-frame-options"] = "DENY"
        if not path.startswith("/static/"):
            response.headers["cache-control"] = "no-store"
        return response


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form (the only kind the console's forms send), first value per field."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def csrf_ok(request: Request, form: Mapping[str, str]) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = form.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie, given):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def partitions_text(parts: Sequence[tuple[str, int]]) -> str:
    """``topic: 0, 1, 2; other: 0``: partitions grouped by topic, in order."""
    by_topic: dict[str, list[int]] = {}
    for topic, partition in sorted(parts):
        by_topic.setdefault(topic, []).append(partition)
    return "; ".join(f"{t}: {', '.join(map(str, ps))}" for t, ps in by_topic.items()) or "-"


def _as_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fmt=fmt,
        pct=pct,
        ms=ms,
        entity=entity,
        as_json=_as_json,
        partitions=partitions_text,
        text=figure_text,
        percent=rate_percent,
    )
    env.globals.update(
        sparkline=lambda values: Markup(sparkline(values)),
        volume_chart=lambda series: Markup(volume_chart(series, width=560)),
        bars_chart=lambda failures: Markup(
            bars_chart([(str(f["rule"]), int(f["count"])) for f in failures], width=560)
        ),
        kinds=KINDS,
        columns=COLUMNS,
    )
    return env


def create_app(
    settings: ConsoleSettings,
    sources: Sources,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The console over ``sources``; ``extra_routes`` are mounted too (``/metrics``)."""
    templates = Jinja2Templates(env=_environment())

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context = {"problem": None, **context}
        context |= {"poll_ms": round(settings.poll_s * 1000), "path": request.url.path}
        return templates.TemplateResponse(request, name, context, status_code=status)

    # -- stock ------------------------------------------------------------------------------------

    def stock(request: Request) -> Response:
        q = request.query_params
        site = q.get("site") or None
        text = (q.get("item") or "").strip()
        below_only = q.get("below") == "1"
        as_of_text = (q.get("as_of") or "").strip()
        as_of, problem = None, None
        if as_of_text:
            try:
                as_of = parse_time(as_of_text)
            except ValueError:
                problem = f"as of: {as_of_text!r} is not a time (2026-01-05T08:00:00Z)"
        if problem is not None:
            return page(request, "stock.html.j2", 400, rows=[], sites=[], problem=problem,
                        error=None, q=q, as_of=None, history=False)  # fmt: skip
        found = attempt(lambda: sources.positions(site, None, as_of))
        history = None if as_of is not None else attempt(
            lambda: sources.history(settings.sparkline_points)
        )  # fmt: skip
        rows = []
        for (s, i), position in sorted((found.value or {}).items()):
            if text and text.lower() not in i.lower():
                continue
            point = sources.reorder_point((s, i))
            below = point is not None and position.available < point
            if below_only and not below:
                continue
            spark = () if history is None or history.value is None else (
                history.value.on_hand.get((s, i), ())
            )  # fmt: skip
            rows.append({"site": s, "item": i, "p": position.as_dict(), "reorder": point,
                         "below": below, "spark": spark})  # fmt: skip
        sites = sorted({s for s, _ in (found.value or {})} | ({site} if site else set()))
        return page(
            request, "stock.html.j2", rows=rows, sites=sites, problem=None, error=found.error,
            q=q, as_of=as_of, history=history is not None and history.value is not None,
            history_error=None if history is None else history.error,
        )  # fmt: skip

    # -- orders -----------------------------------------------------------------------------------

    def orders(request: Request) -> Response:
        text = (request.query_params.get("q") or "").strip()
        chosen = (request.query_params.get("order") or "").strip()
        matches: list[str] = []
        error = None
        if text and not chosen:
            found = attempt(lambda: sources.find_orders(text, FOUND_ORDERS))
            matches, error = found.value or [], found.error
            if text in matches or len(matches) == 1:
                chosen = text if text in matches else matches[0]
        tracked = attempt(lambda: sources.order(chosen)) if chosen else Section(None)
        late = attempt(sources.late_orders)
        log = attempt(sources.alert_log)
        order_alerts = [a for a in (log.value or []) if chosen and a.get("order_id") == chosen]
        return page(
            request, "orders.html.j2", text=text, chosen=chosen, matches=matches,
            tracked=tracked.value, error=error or tracked.error or late.error or log.error,
            late=late.value or [], order_alerts=order_alerts,
        )  # fmt: skip

    # -- alerts -----------------------------------------------------------------------------------

    def _alerts_context(request: Request) -> dict[str, Any]:
        kind = request.query_params.get("kind") or None
        if kind is not None and kind not in KINDS:
            kind = None
        log = attempt(sources.alert_log)
        records = log.value or []
        opened = open_alerts(records)
        recent = list(reversed(records))[: settings.recent_alerts]
        return {
            "kind": kind,
            "counts": by_kind(opened),
            "opened": [a for a in opened if kind is None or a["kind"] == kind],
            "recent": [a for a in recent if kind is None or a["kind"] == kind],
            "error": log.error,
            "read_at": now().isoformat(timespec="seconds"),
        }

    def alerts(request: Request) -> Response:
        return page(request, "alerts.html.j2", **_alerts_context(request))

    def alerts_live(request: Request) -> Response:
        return page(request, "alerts_live.html.j2", **_alerts_context(request))

    # -- quality ----------------------------------------------------------------------------------

    def _quality_context(request: Request) -> dict[str, Any]:
        summary = attempt(lambda: sources.quality_summary(None))
        records = attempt(sources.quarantine)
        latest = list(reversed(records.value or []))[:LATEST_RECORDS]
        by_rule = Counter(r.rule for r in records.value or [])
        return {"s": summary.value, "error": summary.error or records.error, "latest": latest,
                "rules": sorted(by_rule), "by_rule": by_rule,
                "total_records": len(records.value or [])}  # fmt: skip

    def quality(request: Request) -> Response:
        return page(request, "quality.html.j2", outcome=None, confirm=None,
                    **_quality_context(request))  # fmt: skip

    def record(request: Request) -> Response:
        record_id = request.path_params["record_id"]
        records = attempt(sources.quarantine)
        found = None if records.value is None else find(records.value, record_id)
        status = 404 if records.error is None and found is None else 200
        return page(request, "record.html.j2", status, record_id=record_id,
                    record=None if found is None else found.describe(),
                    error=records.error)  # fmt: skip

    async def replay(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        form = await form_of(request)
        if not csrf_ok(request, form):
            return PlainTextResponse(
                "refused: the form's CSRF token does not match (reload the page)", 403
            )
        rule = form.get("rule") or None
        context = await run_in_threadpool(_quality_context, request)
        if rule is not None and rule not in context["rules"]:
            return page(request, "quality.html.j2", 400, outcome=None, confirm=None,
                        problem=f"no quarantined record failed rule {rule!r}",
                        **context)  # fmt: skip
        if form.get("confirmed") != "yes":
            count = context["total_records"] if rule is None else context["by_rule"][rule]
            return page(request, "quality.html.j2", outcome=None,
                        confirm={"rule": rule, "count": count}, **context)  # fmt: skip
        outcome = await run_in_threadpool(attempt, lambda: sources.replay(rule))
        context = await run_in_threadpool(_quality_context, request)
        return page(request, "quality.html.j2", outcome=outcome, confirm=None,
                    replayed_rule=rule, **context)  # fmt: skip

    # -- pipeline ---------------------------------------------------------------------------------

    def _pipeline_context(request: Request) -> dict[str, Any]:
        connectors = attempt(sources.connectors)
        lag = attempt(sources.lag)
        hour = attempt(lambda: sources.quality_summary(now() - timedelta(hours=1)))
        totals: dict[str, int] = {}
        for row in lag.value or []:
            totals[row.reader] = totals.get(row.reader, 0) + row.lag
        instances = attempt(sources.instances)
        return {"connectors": connectors, "lag": lag, "lag_totals": totals, "hour": hour,
                "instances": instances, "read_at": now().isoformat(timespec="seconds")}  # fmt: skip

    def pipeline(request: Request) -> Response:
        return page(request, "pipeline.html.j2", **_pipeline_context(request))

    def pipeline_live(request: Request) -> Response:
        return page(request, "pipeline_live.html.j2", **_pipeline_context(request))

    # -- suppliers and demand ---------------------------------------------------------------------

    def suppliers(request: Request) -> Response:
        q = request.query_params
        wanted = (q.get("supplier") or "").strip()
        window = q.get("window") or ""
        found = attempt(sources.scorecards)
        cards = found.value or []
        windows = sorted({int(c["window_days"]) for c in cards})
        shown = [
            c for c in cards
            if (not wanted or wanted.lower() in str(c["supplier_id"]).lower())
            and (not window or str(c["window_days"]) == window)
        ]  # fmt: skip
        return page(request, "suppliers.html.j2", cards=shown, windows=windows, window=window,
                    supplier=wanted, error=found.error)  # fmt: skip

    def demand(request: Request) -> Response:
        every = request.query_params.get("all") == "1"
        found = attempt(lambda: sources.demand(every, DEMAND_SERIES))
        return page(request, "demand.html.j2", series=found.value or [], every=every,
                    limit=DEMAND_SERIES, error=found.error)  # fmt: skip

    # -- sign-in ----------------------------------------------------------------------------------

    async def signin(request: Request) -> Response:
        target = request.query_params.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"  # never an open redirect
        if request.method == "GET":
            return page(request, "signin.html.j2", next=target, problem=None)
        form = await form_of(request)
        if not csrf_ok(request, form):
            return page(request, "signin.html.j2", 403, next=target,
                        problem="the form expired: try again")  # fmt: skip
        token = None if settings.token is None else settings.token.get_secret_value()
        if token is None:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(form.get("token", ""), token):
            return page(request, "signin.html.j2", 401, next=target,
                        problem="wrong token")  # fmt: skip
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session_value(token), httponly=True, samesite="strict")
        return response

    def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes: list[BaseRoute] = [
        Route("/", lambda request: RedirectResponse("/stock", status_code=303)),
        Route("/stock", stock),
        Route("/orders", orders),
        Route("/alerts", alerts),
        Route("/alerts/live", alerts_live),
        Route("/quality", quality),
        Route("/quality/records/{record_id}", record),
        Route("/quality/replay", replay, methods=["POST"]),
        Route("/pipeline", pipeline),
        Route("/suppliers", suppliers),
        Route("/demand", demand),
        Route("/pipeline/live", pipeline_live),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        *extra_routes,
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, settings=settings)])
