"""On-hand sparklines: the canonical events merged by record time and sampled."""

from __future__ import annotations

from decimal import Decimal

from console.history import on_hand_history, sample_times, sparkline
from tests.unit.views.events import ITEM, SITE, adjusted, opened
from views.positions import replay

KEY = (SITE, ITEM)


def test_sample_times_are_even_and_end_at_until() -> None:
    assert sample_times(0, 100, 5) == (0, 25, 50, 75, 100)
    assert sample_times(10, 10, 5) == (10,)


def test_each_sample_is_the_position_after_the_events_up_to_it() -> None:
    first, up, down = opened(100), adjusted(20), adjusted(-50)
    # two partitions, each in its own order; timestamps interleave
    history = on_hand_history([[(1000, first), (3000, down)], [(2000, up)]], 3000, 3)
    assert history.times == (1000, 2000, 3000)
    assert history.on_hand[KEY] == (Decimal(100), Decimal(120), Decimal(70))
    # the last sample is what a replay of everything gives
    assert history.on_hand[KEY][-1] == replay([first, up, down]).position(KEY).on_hand


def test_an_event_read_twice_counts_once_and_a_late_key_starts_at_zero() -> None:
    first, up = opened(10), adjusted(5)
    other = opened(7, item="NUT-9")
    history = on_hand_history([[(0, first), (10, up), (10, up)], [(20, other)]], 20, 3)
    assert history.on_hand[KEY] == (Decimal(10), Decimal(15), Decimal(15))
    assert history.on_hand[(SITE, "NUT-9")] == (Decimal(0), Decimal(0), Decimal(7))


def test_no_events_no_history() -> None:
    assert on_hand_history([[], []], 5, 10).on_hand == {}


def test_sparkline_is_an_inline_svg_without_style() -> None:
    svg = sparkline([Decimal(1), Decimal(3), Decimal(2)])
    assert svg.startswith('<svg class="spark"')
    assert "style" not in svg
    assert 'points="0.0,22.0 60.0,2.0 120.0,12.0"' in svg  # low at the bottom, high at the top
    assert sparkline([]) == ""
