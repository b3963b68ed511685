"""Errors of the web console.

    ConsoleError        root: one clear line for the user; ``exit_code``
    └── NotOnLoopback   asked to listen beyond loopback without a sign-in token (exit 2)

What a page cannot read (Kafka, the serving database or Connect down) is not an error of the
console: the page says so in place and the others keep working.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Root of the console's errors; ``str(err)`` is the one line shown to the user."""

    exit_code = 3


class NotOnLoopback(ConsoleError):
    """``--host`` beyond loopback and no token: the console would be open to the network."""

    exit_code = 2
