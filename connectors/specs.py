"""Connector specs: the declarative, secret-free description of one Debezium connector per source.

A spec is a YAML file in ``connectors/specs/``; it is validated here (unknown keys are errors)
before anything renders or deploys it. Secrets appear only as the *names* of environment
variables that the Kafka Connect worker resolves (``${env:NAME}``).

The source's address (``database.host`` and ``database.port``, nothing else) may name an
environment variable with a default, ``${NAME:-default}``, resolved when the spec is loaded:
the shipped specs follow the local stack's ``SCV_POSTGRES_PORT`` / ``SCV_MARIADB_PORT``, so a
stack started on other ports is captured where it runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from connectors.errors import SpecError, UnknownConnector

_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
_NAME = r"^[a-z][a-z0-9-]*$"

#: Connector classes a spec may name, by kind. The MariaDB connector is the documented one;
#: the MySQL connector is what a Debezium release without a published MariaDB plugin offers.
CONNECTOR_CLASSES: dict[str, tuple[str, ...]] = {
    "postgres": ("io.debezium.connector.postgresql.PostgresConnector",),
    "mariadb": (
        "io.debezium.connector.mariadb.MariaDbConnector",
        "io.debezium.connector.mysql.MySqlConnector",
    ),
}


#: Property names whose values are credentials: passwords, secrets, salts, tokens, JAAS configs
#: (which embed passwords) and keys that are credentials (an API, access or private key; not
#: ``key.converter`` or ``message.key.columns``).
SECRET_KEY = re.compile(
    r"password|secret|salt|token|credential|sasl\.jaas\.config"
    r"|(api|access|private|secret)[._-]?key|keystore\.key",
    re.IGNORECASE,
)


def looks_secret(key: str) -> bool:
    """True for a property name whose value is a credential."""
    return SECRET_KEY.search(key) is not None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Database(_Model):
    """Where the connector (and the pre-flight checks) reach the source, as the CDC user."""

    host: str
    port: int = Field(gt=0, lt=65536)
    name: Annotated[str, Field(pattern=_IDENT)]
    user: Annotated[str, Field(pattern=_IDENT)]
    #: Name of the environment variable holding the CDC user's password (never the password).
    password_env: Annotated[str, Field(pattern=_ENV_NAME)]
    #: The role that owns the captured tables; it creates the publication and control tables.
    owner: Annotated[str, Field(pattern=_IDENT)]


class Heartbeat(_Model):
    interval_ms: int = Field(ge=1000)
    #: PostgreSQL only: a table in the publication that the heartbeat query writes, so the
    #: slot advances even when the captured tables are quiet.
    table: Annotated[str, Field(pattern=_IDENT)] | None = None


class PiiHashing(_Model):
    """Customer name/address columns replaced by a keyed hash before they reach Kafka.

    scv's ``HashPii`` transform (``stack/maven/scv-smt``) writes the lowercase hex of
    HMAC-SHA256(salt, value) instead of the value, in the before and after images. The salt is a
    transform config *value*, ``transforms.pii.secret=${env:<salt_env>}``, resolved by the worker
    from its environment and logged masked (by Connect as a PASSWORD, and by Debezium's task
    start-up log because the name ends in ``secret``). Debezium's own
    ``column.mask.hash.v2.<alg>.with.salt.<salt>`` cannot do that: its salt is part of the
    property name, where config providers do not reach and which is logged at every task start.
    """

    salt_env: Annotated[str, Field(pattern=_ENV_NAME)]
    #: ``table.column`` inside the captured schema/database; string columns, not key columns.
    columns: tuple[
        Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")], ...
    ] = Field(min_length=1)


#: The shortest finite retention of a raw topic: a runner stopped for longer would find a gap.
MIN_RETENTION_MS = 3600 * 1000
#: Seven days, Kafka's own default, stated.
DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000


class Topics(_Model):
    """The raw change topics Kafka Connect creates for the connector (``topic.creation``)."""

    partitions: int = Field(default=3, ge=1)
    #: -1: the broker's ``default.replication.factor`` (the stack decides: 1 or 3 brokers).
    replication_factor: int = Field(default=-1, ge=-1)
    #: How long a raw topic keeps a change (``retention.ms``; -1: for ever). Topics Connect
    #: creates get it from ``topic.creation.default.retention.ms``; ``prepare`` sets it on
    #: the captured tables' topics that exist already.
    retention_ms: int = DEFAULT_RETENTION_MS

    @model_validator(mode="after")
    def _retention(self) -> Topics:
        if self.replication_factor == 0:
            raise ValueError("replication_factor must be -1 (the broker's default) or >= 1")
        if self.retention_ms != -1 and self.retention_ms < MIN_RETENTION_MS:
            raise ValueError(
                f"retention_ms must be -1 (for ever) or at least {MIN_RETENTION_MS} (an hour): "
                "a runner stopped for longer would find the changes gone"
            )
        return self


class _SpecBase(_Model):
    name: Annotated[str, Field(pattern=_NAME)]
    connector_class: str
    topic_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    database: Database
    #: The captured schema (PostgreSQL) or database (MariaDB).
    schema_name: Annotated[str, Field(pattern=_IDENT, alias="schema")]
    #: Captured tables, unqualified, exactly as the source spells them.
    tables: tuple[Annotated[str, Field(pattern=_IDENT)], ...] = Field(min_length=1)
    #: Schema (PostgreSQL) or database (MariaDB) of scv's own control tables (signal, heartbeat).
    control_schema: Annotated[str, Field(pattern=_IDENT)]
    signal_table: Annotated[str, Field(pattern=_IDENT)]
    heartbeat: Heartbeat
    snapshot_mode: Literal["initial", "no_data", "when_needed", "initial_only"] = "initial"
    #: Deletes always produce a ``d`` event with the full before-image; this adds the
    #: null-value tombstone after it, so compacted topics forget the key.
    tombstones_on_delete: bool = True
    pii: PiiHashing | None = None
    topics: Topics = Topics()
    #: Extra Debezium properties for what the template does not model (reviewed like code).
    extra: Mapping[str, str] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _check(self) -> _SpecBase:
        allowed = CONNECTOR_CLASSES[self.kind]  # type: ignore[attr-defined]
        if self.connector_class not in allowed:
            raise ValueError(f"connector_class must be one of {', '.join(allowed)}")
        if len(set(self.tables)) != len(self.tables):
            raise ValueError("tables: duplicates")
        if self.pii:
            for column in self.pii.columns:
                if column.split(".")[0] not in self.tables:
                    raise ValueError(f"pii.columns: {column} is not in a captured table")
        for key in self.extra:
            if looks_secret(key):
                raise ValueError(f"extra: {key} looks like a secret; secrets go in *_env fields")
        return self

    @property
    def qualified_tables(self) -> tuple[str, ...]:
        return tuple(f"{self.schema_name}.{t}" for t in self.tables)

    @property
    def signal_collection(self) -> str:
        return f"{self.control_schema}.{self.signal_table}"

    def topic(self, table: str) -> str:
        return f"{self.topic_prefix}.{self.schema_name}.{table}"

    @property
    def transaction_topic(self) -> str:
        return f"{self.topic_prefix}.transaction"

    @property
    def heartbeat_topic(self) -> str:
        return f"__debezium-heartbeat.{self.topic_prefix}"

    @property
    def secret_envs(self) -> tuple[str, ...]:
        names = [self.database.password_env]
        if self.pii:
            names.append(self.pii.salt_env)
        return tuple(names)


class PostgresSpec(_SpecBase):
    kind: Literal["postgres"]
    slot: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    publication: Annotated[str, Field(pattern=_IDENT)]

    @model_validator(mode="after")
    def _heartbeat_table(self) -> PostgresSpec:
        if self.heartbeat.table is None:
            raise ValueError(
                "heartbeat.table is required for PostgreSQL (it keeps the slot moving)"
            )
        return self

    @property
    def publication_tables(self) -> tuple[str, ...]:
        """Everything the publication must hold: captured, heartbeat and signal tables."""
        assert self.heartbeat.table is not None
        return (
            *self.qualified_tables,
            f"{self.control_schema}.{self.heartbeat.table}",
            self.signal_collection,
        )


class MariaDbSpec(_SpecBase):
    kind: Literal["mariadb"]
    #: Unique among every binlog client of the server (replicas and other connectors).
    server_id: int = Field(ge=1, le=2**32 - 1)
    schema_history_topic: str
    #: Session time zone of the connector's JDBC connection; DATETIME is read without one.
    connection_time_zone: str = "UTC"
    #: Publish DDL to the ``<topic_prefix>`` topic (the schema change after a drift).
    include_schema_changes: bool = True

    @model_validator(mode="after")
    def _no_heartbeat_table(self) -> MariaDbSpec:
        if self.heartbeat.table is not None:
            raise ValueError("heartbeat.table is PostgreSQL only; the binlog needs none")
        return self

    @property
    def schema_change_topic(self) -> str:
        return self.topic_prefix


ConnectorSpec = Annotated[PostgresSpec | MariaDbSpec, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[PostgresSpec | MariaDbSpec] = TypeAdapter(ConnectorSpec)  # type: ignore[arg-type, unused-ignore]

#: ``${NAME}`` or ``${NAME:-default}`` in a source address.
_ADDRESS_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")
#: The keys of ``database`` that may name a variable: where the source is, never who or how.
_ADDRESS_KEYS = ("host", "port")


def _resolve_address(data: dict[str, object], environ: Mapping[str, str], origin: str) -> None:
    """Replace ``${NAME:-default}`` in ``database.host``/``port`` by the variable or default."""
    database = data.get("database")
    if not isinstance(database, dict):
        return  # validation says what is wrong with it

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is None:
            raise SpecError(f"{origin}: database: ${{{name}}} is not set and has no default")
        return default

    for key in _ADDRESS_KEYS:
        raw = database.get(key)
        if isinstance(raw, str):
            database[key] = _ADDRESS_VARIABLE.sub(value, raw)


#: The specs shipped with the package.
DEFAULT_SPECS: Traversable = resources.files("connectors") / "specs"


def parse_spec(
    text: str, origin: str, environ: Mapping[str, str] | None = None
) -> PostgresSpec | MariaDbSpec:
    """Validate one spec's YAML text; ``origin`` names it in errors. The source's address
    may name variables of ``environ`` (by default the process's environment)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{origin}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a spec is a mapping")
    _resolve_address(data, os.environ if environ is None else environ, origin)
    try:
        spec = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first["loc"]
        if loc[:1] in (("postgres",), ("mariadb",)):  # the discriminator, not a key
            loc = loc[1:]
        where = ".".join(str(p) for p in loc) or "(top)"
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise SpecError(f"{origin}: {where}: {first['msg']}{more}") from exc
    stem = origin.rsplit("/", 1)[-1].removesuffix(".yaml")
    if spec.name != stem:
        raise SpecError(f"{origin}: name {spec.name!r} must match the file name {stem!r}")
    return spec


def load_specs(
    directory: Traversable | Path = DEFAULT_SPECS,
) -> dict[str, PostgresSpec | MariaDbSpec]:
    """Every ``*.yaml`` spec in ``directory``, by name, validated."""
    specs: dict[str, PostgresSpec | MariaDbSpec] = {}
    files = sorted(
        (f for f in directory.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name
    )
    if not files:
        raise SpecError(f"{directory}: no *.yaml connector specs")
    for file in files:
        spec = parse_spec(file.read_text(), f"specs/{file.name}")
        specs[spec.name] = spec
    prefixes = [s.topic_prefix for s in specs.values()]
    if len(set(prefixes)) != len(prefixes):
        raise SpecError("specs: two connectors share a topic_prefix; their topics would collide")
    return specs


def select(
    specs: Mapping[str, PostgresSpec | MariaDbSpec], name: str | None
) -> list[PostgresSpec | MariaDbSpec]:
    """The spec called ``name``, or all of them when ``name`` is None."""
    if name is None:
        return list(specs.values())
    if name not in specs:
        raise UnknownConnector(f"no connector spec named {name!r} (known: {', '.join(specs)})")
    return [specs[name]]
