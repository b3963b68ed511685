"""The data-quality report: canonical events and quarantine records → summary → HTML + JSON.

Pure apart from writing the files. ``summarize`` reduces what the pipeline produced since a
time (canonical event payloads with the Kafka timestamp of their gated record, and quarantine
records) to one JSON-ready summary, per event type and per source table: volume, pass rate
over time, failures per rule, top offending keys, masked samples, and freshness (source commit
``recorded_at`` → gated record timestamp). ``write_report`` renders ``index.html`` (Jinja2,
``templates/report.html.j2``; inline CSS and SVG, no script, no external URL) and
``summary.json``.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Final

from expectations.errors import ReportError
from expectations.quarantine import QuarantineRecord, masked_json

TEMPLATES: Final = Path(__file__).parent / "templates"
#: Candidate time buckets (seconds); the smallest giving at most ``MAX_BUCKETS`` is used.
BUCKETS: Final = (10, 30, 60, 300, 900, 3600, 4 * 3600, 86400)
MAX_BUCKETS: Final = 48
TOP_KEYS: Final = 5
SAMPLES_PER_RULE: Final = 3
NOT_MAPPED: Final = "(not mapped)"


@dataclass(frozen=True, slots=True)
class GatedEvent:
    """One canonical event as read from its topic: JSON payload and record timestamp."""

    payload: Mapping[str, Any]
    timestamp_ms: int

    @property
    def event_type(self) -> str:
        return str(self.payload.get("event_type", "?"))

    @property
    def source_table(self) -> str:
        source = self.payload.get("source") or {}
        return f"{source.get('system', '?')}.{source.get('table', '?')}"

    @property
    def freshness_s(self) -> float | None:
        """Source commit → gated record, seconds (None for snapshot reads: no commit)."""
        source = self.payload.get("source") or {}
        recorded = self.payload.get("recorded_at")
        if source.get("snapshot") or not recorded:
            return None
        at = datetime.fromisoformat(str(recorded).replace("Z", "+00:00"))
        return (self.timestamp_ms - round(at.timestamp() * 1000)) / 1000


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of ``values`` (``q`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def bucket_seconds(span_s: float) -> int:
    for size in BUCKETS:
        if span_s / size <= MAX_BUCKETS:
            return size
    return BUCKETS[-1]


def _rate(passed: int, quarantined: int) -> float | None:
    total = passed + quarantined
    return None if total == 0 else passed / total


def _key_text(key: bytes | None) -> str:
    shown = masked_json(key)
    if shown is None:
        return "(no key)"
    if isinstance(shown, (dict, list)):
        return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    return str(shown)


@dataclass
class _Group:
    passed: int = 0
    quarantined: int = 0
    passed_at: Counter[int] = field(default_factory=Counter)
    quarantined_at: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    freshness: list[float] = field(default_factory=list)

    def summary(self, name: str, starts: Sequence[int], size: int) -> dict[str, Any]:
        return {
            "name": name,
            "passed": self.passed,
            "quarantined": self.quarantined,
            "pass_rate": _rate(self.passed, self.quarantined),
            "series": [
                {
                    "start": datetime.fromtimestamp(s, tz=UTC).isoformat(),
                    "passed": self.passed_at[s],
                    "quarantined": self.quarantined_at[s],
                    "pass_rate": _rate(self.passed_at[s], self.quarantined_at[s]),
                }
                for s in starts
            ],
            "failures": [{"rule": r, "count": n} for r, n in self.failures.most_common()],
            "top_keys": [{"key": k, "count": n} for k, n in self.keys.most_common(TOP_KEYS)],
            "freshness": _freshness(self.freshness),
        }


def _freshness(values: Sequence[float]) -> dict[str, Any]:
    def ms(q: float) -> float | None:
        found = percentile(values, q)
        return None if found is None else round(found * 1000, 1)

    return {
        "events": len(values),
        "p50_ms": ms(50),
        "p90_ms": ms(90),
        "p99_ms": ms(99),
        "max_ms": None if not values else round(max(values) * 1000, 1),
    }


def _sample(record: QuarantineRecord) -> dict[str, Any]:
    value = masked_json(record.value)
    row = value.get("after") or value.get("before") if isinstance(value, dict) else value
    return {
        "id": record.id,
        "quarantined_at": record.time.isoformat(),
        "rule": record.rule,
        "failed_rules": record.failed_rules,
        "event_type": record.kind,
        "source_table": record.source_table,
        "original": f"{record.original_topic}/{record.original_partition}@{record.original_offset}",
        "key": _key_text(record.key),
        "detail": record.masked_detail[:300],
        "row": row,
    }


def summarize(
    events: Iterable[GatedEvent],
    records: Sequence[QuarantineRecord],
    *,
    since: datetime | None,
    now: datetime,
    topic_prefix: str = "",
) -> dict[str, Any]:
    """The report's numbers (JSON-ready)."""
    events = list(events)
    stamps = [e.timestamp_ms for e in events] + [r.timestamp_ms for r in records]
    first = since.timestamp() if since is not None else (min(stamps) / 1000 if stamps else 0)
    last = max([*(s / 1000 for s in stamps), first])
    size = bucket_seconds(max(1.0, last - first))
    origin = int(first // size * size)
    starts = list(range(origin, int(last // size * size) + 1, size))

    def bucket(ms: int) -> int:
        return int((ms / 1000) // size * size)

    by_type: defaultdict[str, _Group] = defaultdict(_Group)
    by_table: defaultdict[str, _Group] = defaultdict(_Group)
    overall = _Group()
    for event in events:
        at = bucket(event.timestamp_ms)
        fresh = event.freshness_s
        for group in (by_type[event.event_type], by_table[event.source_table], overall):
            group.passed += 1
            group.passed_at[at] += 1
            if fresh is not None:
                group.freshness.append(fresh)
    rule_types: defaultdict[str, set[str]] = defaultdict(set)
    samples: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        at = bucket(record.timestamp_ms)
        key = _key_text(record.key)
        types = record.event_types or [NOT_MAPPED]
        groups = [*(by_type[t] for t in types), by_table[record.source_table], overall]
        for group in groups:
            group.quarantined += 1
            group.quarantined_at[at] += 1
            group.failures.update(record.failed_rules)
            group.keys[key] += 1
        for rule in record.failed_rules:
            rule_types[rule].update(types)
        if len(samples[record.rule]) < SAMPLES_PER_RULE:
            samples[record.rule].append(_sample(record))
    total = overall.summary("all events", starts, size)
    return {
        "generated_at": now.isoformat(),
        "since": None if since is None else since.isoformat(),
        "topic_prefix": topic_prefix,
        "bucket_seconds": size,
        "totals": total,
        "failures": [
            {"rule": rule, "count": n, "event_types": sorted(rule_types[rule])}
            for rule, n in overall.failures.most_common()
        ],
        "event_types": [g.summary(n, starts, size) for n, g in sorted(by_type.items())],
        "source_tables": [g.summary(n, starts, size) for n, g in sorted(by_table.items())],
        "samples": [s for rule in sorted(samples) for s in samples[rule]],
        "data_docs": None,
    }


# -- SVG charts (inline; no script) --------------------------------------------------------------


def _fmt_pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def volume_chart(
    series: Sequence[Mapping[str, Any]], *, width: int = 640, height: int = 160
) -> str:
    """Stacked bars (passed, quarantined) per time bucket and the pass-rate line (right axis)."""
    pad_l, pad_r, pad_t, pad_b = 44, 44, 10, 22
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = max(1, len(series))
    top = max([int(s["passed"]) + int(s["quarantined"]) for s in series] + [1])
    step = plot_w / n
    bar_w = max(1.0, step * 0.8)
    parts = [
        f'<svg class="chart volume" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<line class="axis" x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" '
        f'y2="{pad_t + plot_h}"/>',
        f'<text class="tick" x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{pad_l - 4}" y="{pad_t + plot_h}" text-anchor="end">0</text>',
        f'<text class="tick rate" x="{pad_l + plot_w + 4}" y="{pad_t + 8}">100%</text>',
        f'<text class="tick rate" x="{pad_l + plot_w + 4}" y="{pad_t + plot_h}">0%</text>',
    ]
    points = []
    for i, s in enumerate(series):
        passed, quarantined = int(s["passed"]), int(s["quarantined"])
        x = pad_l + i * step + (step - bar_w) / 2
        h_pass = plot_h * passed / top
        h_quar = plot_h * quarantined / top
        y_pass = pad_t + plot_h - h_pass
        label = escape(f"{s['start']}: {passed} passed, {quarantined} quarantined, "
                       f"pass rate {_fmt_pct(s['pass_rate'])}")  # fmt: skip
        parts.append(
            f"<g><title>{label}</title>"
            f'<rect class="passed" x="{x:.1f}" y="{y_pass:.1f}" width="{bar_w:.1f}" '
            f'height="{h_pass:.1f}"/>'
            f'<rect class="quarantined" x="{x:.1f}" y="{y_pass - h_quar:.1f}" '
            f'width="{bar_w:.1f}" height="{h_quar:.1f}"/></g>'
        )
        if s["pass_rate"] is not None:
            y = pad_t + plot_h * (1 - float(s["pass_rate"]))
            points.append(f"{pad_l + i * step + step / 2:.1f},{y:.1f}")
    if points:
        parts.append(f'<polyline class="rate" points="{" ".join(points)}"/>')
        parts.extend(
            f'<circle class="rate" cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2"/>'
            for p in points
        )
    if series:
        for i in sorted({0, len(series) // 2, len(series) - 1}):
            start = str(series[i]["start"])[11:19]
            x = pad_l + i * step + step / 2
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(start)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bars_chart(items: Sequence[tuple[str, int]], *, width: int = 640) -> str:
    """Horizontal bars: failures per rule (label, count)."""
    row, label_w = 20, 230
    height = max(row, row * len(items)) + 4
    top = max([n for _, n in items] + [1])
    parts = [
        f'<svg class="chart bars" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, (label, count) in enumerate(items):
        y = i * row + 2
        w = (width - label_w - 60) * count / top
        parts.append(
            f"<g><title>{escape(label)}: {count}</title>"
            f'<text class="label" x="{label_w - 6}" y="{y + 13}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="quarantined" x="{label_w}" y="{y + 2}" width="{w:.1f}" '
            f'height="{row - 6}"/>'
            f'<text class="count" x="{label_w + w + 4:.1f}" y="{y + 13}">{count}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(summary: Mapping[str, Any]) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def volume(series: Sequence[Mapping[str, Any]]) -> Markup:
        return Markup(volume_chart(series))

    def bars(failures: Sequence[Mapping[str, Any]]) -> Markup:
        items = [(str(f["rule"]), int(f["count"])) for f in failures]
        return Markup(bars_chart(items))

    def as_json(value: Any) -> str:
        return json.dumps(value, indent=1, ensure_ascii=False, default=str)

    env.filters["pct"] = _fmt_pct
    env.filters["ms"] = lambda v: "-" if v is None else f"{v:,.0f} ms"
    env.filters["as_json"] = as_json
    env.globals.update(volume_chart=volume, bars_chart=bars)
    return env.get_template("report.html.j2").render(s=summary)


def write_report(out_dir: Path, summary: Mapping[str, Any]) -> Path:
    """``index.html`` and ``summary.json`` in ``out_dir``; the index path."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n"
        )
        index = out_dir / "index.html"
        index.write_text(render_html(summary))
    except OSError as exc:
        raise ReportError(f"cannot write the report to {out_dir}: {exc.strerror}") from None
    return index
