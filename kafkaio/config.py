"""The config of every Kafka client (consumer, producer, admin): one place where the
connection's security joins the caller's own properties.

Transport security is pass-through, read from the environment when a client is built, so
that every client of every stage gets it without each settings object growing the same
fields: ``SCV_KAFKA_SECURITY_PROTOCOL``, ``SCV_KAFKA_SASL_*`` and ``SCV_KAFKA_SSL_*`` become
the librdkafka properties ``security.protocol``, ``sasl.*`` and ``ssl.*`` (the rest of the name
lower-cased, ``_`` to ``.``): ``SCV_KAFKA_SASL_MECHANISM=SCRAM-SHA-512`` is
``sasl.mechanism=SCRAM-SHA-512``. ``scv stack env`` exports them for a ``--secure`` stack.

Only those prefixes: ``SCV_KAFKA_BOOTSTRAP``, ``SCV_KAFKA_PORT`` and their kind are the
project's own settings, not client properties. A construction site never sets a security
property itself (:func:`client_config` refuses it): a client that forgot the environment's
credentials, or overrode them, is the hole this module closes. ``tests/unit/kafkaio/
test_client_config.py`` holds every ``Consumer``/``Producer``/``AdminClient`` construction
in the project to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

#: Environment prefixes passed through, and the property prefix each becomes.
PASSTHROUGH = {
    "SCV_KAFKA_SECURITY_": "security.",
    "SCV_KAFKA_SASL_": "sasl.",
    "SCV_KAFKA_SSL_": "ssl.",
}
#: Property prefixes that belong to the environment, never to a construction site.
SECURITY_PREFIXES = ("security.", "sasl.", "ssl.")
#: Properties whose values are secrets (never printed: :func:`describe`).
SECRET_KEYS = frozenset({"sasl.password", "ssl.key.password", "ssl.keystore.password"})


def security_properties(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The librdkafka security properties the environment sets (empty values ignored)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, value in env.items():
        if not value:
            continue
        for prefix, prop in PASSTHROUGH.items():
            if name.startswith(prefix) and len(name) > len(prefix):
                found[prop + name[len(prefix) :].lower().replace("_", ".")] = value
    return found


def client_config(
    bootstrap: str,
    config: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``bootstrap.servers``, the caller's ``config`` and the environment's security
    properties: the config of any Kafka client."""
    own = dict(config or {})
    wrong = sorted(k for k in own if k == "bootstrap.servers" or k.startswith(SECURITY_PREFIXES))
    if wrong:
        # A bug at the construction site, not a user error: the environment owns these.
        raise ValueError(f"client_config: {', '.join(wrong)} may not be set by a caller")
    return {"bootstrap.servers": bootstrap, **own, **security_properties(environ)}


def describe(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` safe to print: secret values masked."""
    return {k: ("***" if k in SECRET_KEYS else v) for k, v in config.items()}
