"""Render a spec through its Jinja2 template into the exact Debezium config sent to Connect.

Rendering is pure: the same spec and context give the same config, byte for byte, which is what
the golden files pin. Secrets never appear: the templates emit ``${env:NAME}`` references that
the Connect worker resolves with its ``EnvVarConfigProvider``, in values only (Connect resolves
nothing in property names, so a reference in a key is refused). That is why the PII salt is a
value of scv's ``HashPii`` transform and not Debezium's ``column.mask.hash.v2.<alg>.with.salt.
<salt>``, whose salt is part of the name. ``mask_secrets`` scrubs known secret values from
anything shown to a user, should a deployed config ever carry one, and ``mask_secret_keys`` hides
the value of any key named like a secret that is not a ``${...}`` reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

import jinja2
import orjson

from connectors.errors import RenderError
from connectors.specs import MariaDbSpec, PostgresSpec, looks_secret

_TEMPLATES = {"postgres": "debezium_postgres.json.j2", "mariadb": "debezium_mariadb.json.j2"}
_ENV_REF = re.compile(r"\$\{env:([A-Z_][A-Z0-9_]*)\}")
#: A value that is only a config-provider reference (``${env:NAME}``, ``${file:path:key}``).
_REFERENCE = re.compile(r"\$\{[A-Za-z0-9_.-]+:[^${}]*\}")
#: Shown instead of a secret value.
MASK = "********"


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What the spec does not know about the deployment: where Kafka is (schema history)."""

    kafka_bootstrap: str
    #: Java client properties Debezium's own Kafka clients need (the MariaDB schema history's
    #: producer and consumer): ``security.protocol``, ``sasl.*``, ``ssl.*``, secrets only as
    #: ``${env:NAME}``. Empty on a plain cluster.
    kafka_security: Mapping[str, str] = field(default_factory=dict)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load_template),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["regex_escape"] = lambda s: re.escape(str(s))
    env.filters["in_schema"] = lambda column, schema: f"{schema}.{column}"
    return env


def _load_template(name: str) -> str:
    return (resources.files("connectors") / "templates" / name).read_text()


def render(spec: PostgresSpec | MariaDbSpec, context: RenderContext) -> dict[str, str]:
    """The Debezium config for ``spec``: a flat mapping of strings, safe to print and diff."""
    template_name = _TEMPLATES[spec.kind]
    try:
        text = (
            _environment()
            .get_template(template_name)
            .render(
                spec=spec,
                kafka_bootstrap=context.kafka_bootstrap,
                kafka_security=dict(sorted(context.kafka_security.items())),
            )
        )
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{spec.name}: template {template_name}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{spec.name}: template {template_name}: {exc}") from exc
    try:
        config = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RenderError(
            f"{spec.name}: template {template_name} did not render JSON: {exc}"
        ) from exc
    if not isinstance(config, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in config.items()
    ):
        raise RenderError(f"{spec.name}: a connector config is a flat mapping of strings")
    # ``extra`` is for what the template does not model: overriding a key it sets would change
    # what the spec says silently (``transforms: ""`` turns PII hashing off), so it is refused.
    overridden = sorted(set(spec.extra) & set(config))
    if overridden:
        raise RenderError(
            f"{spec.name}: extra may not override keys the template sets: {', '.join(overridden)}"
        )
    config.update(spec.extra)
    in_keys = sorted(k for k in config if _ENV_REF.search(k))
    if in_keys:
        raise RenderError(
            f"{spec.name}: template puts a secret reference in a key, which Connect never "
            f"resolves: {in_keys}"
        )
    referenced = {m for text in config.values() for m in _ENV_REF.findall(text)}
    # The cluster's own credentials come with the deployment (``context``), not the spec.
    cluster = {m for text in context.kafka_security.values() for m in _ENV_REF.findall(text)}
    unknown = referenced - set(spec.secret_envs) - cluster
    if unknown:
        raise RenderError(f"{spec.name}: template refers to undeclared secrets {sorted(unknown)}")
    return config


def mask_secrets(config: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """Replace every known secret value, in keys and values, by its ``${env:NAME}`` reference."""
    pairs = sorted(((v, n) for n, v in secrets.items() if v), key=lambda p: -len(p[0]))

    def scrub(text: str) -> str:
        for value, name in pairs:
            text = text.replace(value, f"${{env:{name}}}")
        return text

    return {scrub(k): scrub(v) for k, v in config.items()}


def mask_secret_keys(config: Mapping[str, str]) -> dict[str, str]:
    """Replace the value of every key named like a secret by :data:`MASK`, unless the value is
    only a config-provider reference (safe to show): for configs deployed by someone else, whose
    literal secrets ``mask_secrets`` does not know."""
    return {
        k: MASK if looks_secret(k) and v and not _REFERENCE.fullmatch(v) else v
        for k, v in config.items()
    }


def to_json(config: Mapping[str, str]) -> str:
    """Stable, readable JSON (sorted keys) as printed by ``render`` and stored in golden files."""
    return (
        orjson.dumps(dict(config), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
        + "\n"
    )
