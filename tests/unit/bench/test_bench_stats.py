"""Percentiles, trends and rates of the benchmark."""

from __future__ import annotations

import pytest

from bench.stats import percentile, rate, ratio, slope, summarize_ms, trend


def test_percentile_matches_linear_interpolation() -> None:
    values = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert percentile(values, 0) == 15.0
    assert percentile(values, 100) == 50.0
    assert percentile(values, 50) == 35.0
    assert percentile(values, 40) == pytest.approx(29.0)  # numpy.percentile(values, 40)
    assert percentile(values, 99) == pytest.approx(49.6)


def test_percentile_ignores_input_order_and_handles_one_value() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_summary_of_a_hundred_latencies() -> None:
    summary = summarize_ms([float(n) for n in range(1, 101)])
    assert summary is not None
    assert (summary.count, summary.p50_ms, summary.p95_ms, summary.p99_ms) == (
        100,
        50.5,
        95.0,
        99.0,
    )
    assert summary.max_ms == 100.0
    assert summarize_ms([]) is None


def test_slope_of_a_line_and_degenerate_inputs() -> None:
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([1], [5]) == 0.0
    assert slope([2, 2, 2], [1, 2, 3]) == 0.0
    with pytest.raises(ValueError, match="differ"):
        slope([1, 2], [1])


def test_trend_flat_latency_does_not_grow() -> None:
    times = [i * 0.1 for i in range(300)]
    flat = [400.0 + (i % 7) * 20 for i in range(300)]
    assert not trend(times, flat).grows


def test_trend_falling_behind_grows() -> None:
    # The pipeline handles 90% of the input: 100 ms more latency per second.
    times = [i * 0.1 for i in range(300)]
    growing = [300.0 + 100.0 * t for t in times]
    found = trend(times, growing)
    assert found.grows
    assert found.slope_ms_per_s == pytest.approx(100.0)
    assert found.growth_ms == pytest.approx(100.0 * 29.9, rel=1e-3)


def test_rate_and_ratio_of_empty_intervals() -> None:
    assert rate(100, 4) == 25.0
    assert rate(100, 0) == 0.0
    assert ratio(1, 4) == 0.25
    assert ratio(1, 0) is None
