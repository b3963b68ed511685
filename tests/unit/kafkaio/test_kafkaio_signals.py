"""``kafkaio.stop_on_signals``: a signal asks the loop to stop, and the handler goes after."""

from __future__ import annotations

import os
import signal

from kafkaio import stop_on_signals


def test_sigterm_asks_to_stop_by_name_and_the_previous_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    reasons: list[str] = []
    with stop_on_signals(reasons.append):
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
    assert reasons == ["SIGTERM", "SIGINT"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_only_the_signals_named_are_caught() -> None:
    reasons: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with stop_on_signals(reasons.append, [signal.SIGTERM]):
        assert signal.getsignal(signal.SIGINT) is before
        os.kill(os.getpid(), signal.SIGTERM)
    assert reasons == ["SIGTERM"]
