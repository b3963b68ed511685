"""The metrics package's one exception root."""

from __future__ import annotations


class MetricsError(Exception):
    """Metrics cannot be served (the port is taken or not allowed)."""

    #: ``scv.exit_codes.ExitCode.USAGE``: the option asks for a port this machine refuses.
    exit_code = 2
