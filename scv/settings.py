"""Where every stage's settings come from: one ranking for every ``*Settings`` class.

For each field of a stage's settings, the first of these that sets it wins:

1. a command-line option the user gave (``options``; ``None`` is an option not given);
2. the environment: the class's own variables (``SCV_<STAGE>_*``, its aliases such as
   ``SCV_KAFKA_BOOTSTRAP``, nested with ``__``); an empty variable counts as unset;
3. a default the CLI supplies (``defaults``): the local stack's endpoints and secrets (what
   ``scv stack env`` prints), or what another option implies (``scv bench --quick``). Each is
   computed only when 1 and 2 leave its field open, so a deployment that sets the environment
   never touches a local stack;
4. the class's own default.

Each object is built here once per command, frozen, and passed down; nothing below the CLI
reads the environment. A value that fails the class's validation, whichever of 1-3 gave it, is
a usage error (exit 2) naming the field, never echoing the value (it may be a password).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import AliasChoices

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

    from audit.settings import AuditSettings
    from bench.settings import BenchSettings
    from carrier.settings import CarrierSettings
    from chaos.settings import ChaosSettings
    from connectors.settings import ConnectorsSettings
    from console.settings import ConsoleSettings
    from expectations.settings import QualitySettings
    from legacy_sim.settings import SimSettings
    from stack.credentials import Credentials
    from stack.settings import StackSettings
    from transforms.settings import TransformsSettings
    from views.settings import ViewsSettings

S = TypeVar("S", bound="BaseSettings")

#: A default computed on demand; ``None``: there is none (the class's own applies).
Default = Callable[[], object]


def build(
    cls: type[S],
    *,
    options: Mapping[str, object] | None = None,
    defaults: Mapping[str, Default] | None = None,
) -> S:
    """``cls`` from the command line, the environment, then ``defaults`` (module docstring)."""
    import pydantic

    given = {name: value for name, value in (options or {}).items() if value is not None}
    from_environment = environment_fields(cls)
    values: dict[str, Any] = dict(given)
    for name, default in (defaults or {}).items():
        if name in given or name in from_environment:
            continue
        value = default()
        if value is not None:
            values[name] = value
    try:
        return cls(**{_init_key(cls, name): value for name, value in values.items()})
    except pydantic.ValidationError as exc:
        import click

        wrong = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise click.UsageError(f"invalid settings ({cls.__name__}): {wrong}") from None


def environment_fields(cls: type[BaseSettings]) -> frozenset[str]:
    """The fields of ``cls`` its own environment variables set (non-empty)."""
    from pydantic_settings import EnvSettingsSource

    found = {
        key.lower() for key, value in EnvSettingsSource(cls)().items() if value not in ("", None)
    }
    return frozenset(
        name
        for name in cls.model_fields
        if found & {key.lower() for key in (name, *_aliases(cls, name))}
    )


def _aliases(cls: type[BaseSettings], name: str) -> tuple[str, ...]:
    field = cls.model_fields[name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    if isinstance(alias, str):
        return (alias,)
    return (field.alias,) if field.alias else ()


def _init_key(cls: type[BaseSettings], name: str) -> str:
    """The keyword that sets field ``name`` (a field with aliases takes its first alias)."""
    aliases = _aliases(cls, name)
    return aliases[0] if aliases else name


class LocalStack:
    """The local stack (``scv stack``) as a source of defaults, read once and only when asked.

    ``if_present``: only a stack whose state directory exists gives defaults (the pipeline and
    the views also run against services the environment names, and must not leave a ``.scv/``
    with fresh secrets behind); otherwise missing sandbox secrets are created, as
    ``scv stack up`` would.
    """

    def __init__(self, *, if_present: bool = False) -> None:
        self.if_present = if_present

    @cached_property
    def settings(self) -> StackSettings:
        return stack_settings()

    @cached_property
    def credentials(self) -> Credentials | None:
        from stack.credentials import load_or_create

        if self.if_present and not self.settings.state_dir.exists():
            return None
        return load_or_create(self.settings.state_dir)

    @cached_property
    def env(self) -> dict[str, str]:
        """``SCV_*`` endpoint variables, as ``scv stack env`` exports them ({} if absent)."""
        from stack.endpoints import exports

        credentials = self.credentials
        return {} if credentials is None else exports(self.settings, credentials)

    def var(self, name: str) -> Default:
        """A default: the stack's exported variable ``name``."""
        return lambda: self.env.get(name)


def _constant(value: object) -> Default:
    return lambda: value


# -- one builder per stage --------------------------------------------------------------------


def stack_settings(
    state_dir: Path | None = None, *, secure: bool | None = None, brokers: int | None = None
) -> StackSettings:
    from stack.settings import StackSettings

    options = {"state_dir": state_dir, "secure": secure or None, "brokers": brokers}
    return build(StackSettings, options=options)


#: The variables a secure local stack gives every client (``kafkaio.client_config``, the
#: Connect REST client) when the environment does not set them.
TRANSPORT_PREFIXES = ("SCV_KAFKA_SECURITY_", "SCV_KAFKA_SASL_", "SCV_KAFKA_SSL_")
TRANSPORT_NAMES = ("SCV_CONNECT_USERNAME", "SCV_CONNECT_PASSWORD")


def local_transport_security(environ: MutableMapping[str, str]) -> list[str]:
    """A secure local stack's transport settings into ``environ``, unless it has its own;
    the names set.

    As the local stack's endpoints are the settings' defaults, its credentials are the
    clients' defaults: ``scv pipeline run`` next to ``scv stack up --secure`` works without
    ``eval "$(scv stack env)"``. An environment that sets any of them is left as it is."""
    if any(name.startswith(TRANSPORT_PREFIXES) or name in TRANSPORT_NAMES for name in environ):
        return []
    settings = stack_settings()
    if not settings.is_secure:
        return []
    from stack.credentials import load_existing
    from stack.endpoints import connect_auth_env, kafka_security_env

    credentials = load_existing(settings.state_dir)
    given = {
        **kafka_security_env(settings, credentials),
        **connect_auth_env(settings, credentials),
    }
    environ.update(given)
    return sorted(given)


def sim_settings() -> SimSettings:
    """The three databases: ``SCV_SIM_*_DSN``, else the local stack's owner URLs."""
    from dsn import problem
    from legacy_sim.errors import SimConfigError
    from legacy_sim.settings import SimSettings

    stack = LocalStack()
    settings = build(
        SimSettings,
        defaults={
            "erp_dsn": stack.var("SCV_ERP_DSN"),
            "wms_dsn": stack.var("SCV_WMS_DSN"),
            "store_dsn": stack.var("SCV_STORE_DSN"),
        },
    )
    from_environment = environment_fields(SimSettings)
    for name in ("erp_dsn", "wms_dsn", "store_dsn"):
        if name not in from_environment:
            continue
        # Before a driver parses it and quotes the pieces of its password in an error.
        wrong = problem(getattr(settings, name).get_secret_value())
        if wrong:
            raise SimConfigError(f"SCV_SIM_{name.upper()}: {wrong}")
    return settings


def connectors_settings() -> ConnectorsSettings:
    """Connect, Kafka, the sandbox secrets and owner URLs of the local stack, unless set."""
    from pydantic import SecretStr

    from connectors.settings import ConnectorsSettings
    from stack.endpoints import java_kafka_security

    stack = LocalStack()

    def secrets() -> dict[str, SecretStr] | None:
        credentials = stack.credentials
        if credentials is None:
            return None
        return {k: SecretStr(v) for k, v in credentials.as_env().items()}

    def owner_dsns() -> dict[str, SecretStr]:
        return {
            "erp": SecretStr(stack.env["SCV_ERP_DSN"]),
            "wms": SecretStr(stack.env["SCV_WMS_DSN"]),
        }

    return build(
        ConnectorsSettings,
        defaults={
            "connect_url": lambda: stack.settings.connect_url,
            "kafka_bootstrap": lambda: stack.settings.kafka_bootstrap,
            "secrets": secrets,
            "owner_dsns": owner_dsns,
            "kafka_security": lambda: java_kafka_security(stack.settings),
        },
    )


def transforms_settings(
    *,
    instance_id: str | None = None,
    topic_prefix: str | None = None,
    allow_gap: bool | None = None,
    erp_dsn: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> TransformsSettings:
    """``SCV_TRANSFORMS_*``; with ``warn``, site zones from the ERP's F0006 too.

    The ERP is ``erp_dsn`` (``--erp-dsn`` or ``$SCV_ERP_READ_DSN``), else the local stack's
    read-only URL if there is a stack; zones set in the environment win per site. An ERP that
    cannot be read is ``warn``-ed about, not fatal: rows of a site without a zone quarantine.
    """
    from transforms.settings import TransformsSettings

    settings = build(
        TransformsSettings,
        options={"instance_id": instance_id, "topic_prefix": topic_prefix, "allow_gap": allow_gap},
        defaults={"kafka_bootstrap": LocalStack(if_present=True).var("SCV_KAFKA_BOOTSTRAP")},
    )
    if warn is None:
        return settings
    dsn = erp_dsn or LocalStack(if_present=True).env.get("SCV_ERP_READ_DSN")
    if not dsn:
        return settings
    from transforms.errors import SiteZonesUnavailable
    from transforms.site_zones import read_site_zones, with_site_zones

    try:
        zones = read_site_zones(dsn)
    except SiteZonesUnavailable as exc:
        warn(str(exc))
        return settings
    return with_site_zones(settings, zones)


def views_settings(schema: str | None = None, *, allow_gap: bool | None = None) -> ViewsSettings:
    """``SCV_VIEWS_*`` / ``SCV_*`` variables, else the local stack's store and Kafka, if there
    is one."""
    from views.settings import ViewsSettings

    stack = LocalStack(if_present=True)
    return build(
        ViewsSettings,
        options={"db_schema": schema, "allow_gap": allow_gap},
        defaults={
            "store_dsn": stack.var("SCV_STORE_DSN"),
            "kafka_bootstrap": stack.var("SCV_KAFKA_BOOTSTRAP"),
        },
    )


def carrier_settings(*, port: int | None = None) -> CarrierSettings:
    """``SCV_CARRIER_*`` / ``SCV_*`` variables, else the local stack's store and Kafka."""
    from carrier.settings import CarrierSettings

    stack = LocalStack(if_present=True)
    return build(
        CarrierSettings,
        options={"port": port},
        defaults={
            "store_dsn": stack.var("SCV_STORE_DSN"),
            "kafka_bootstrap": stack.var("SCV_KAFKA_BOOTSTRAP"),
        },
    )


def legacy_sources(erp_dsn: str | None, wms_dsn: str | None) -> tuple[str | None, str | None]:
    """The legacy ERP (read-only user) and WMS: the options (or their variables), else the
    local stack's, if there is one."""
    if erp_dsn and wms_dsn:
        return erp_dsn, wms_dsn
    env = LocalStack(if_present=True).env
    return erp_dsn or env.get("SCV_ERP_READ_DSN"), wms_dsn or env.get("SCV_WMS_DSN")


def audit_settings() -> AuditSettings:
    """``SCV_AUDIT_*`` / ``SCV_STORE_DSN``, ``SCV_KAFKA_BOOTSTRAP``, else the local stack's."""
    from audit.settings import AuditSettings

    stack = LocalStack(if_present=True)
    return build(
        AuditSettings,
        defaults={
            "store_dsn": stack.var("SCV_STORE_DSN"),
            "kafka_bootstrap": stack.var("SCV_KAFKA_BOOTSTRAP"),
        },
    )


def quality_settings(topic_prefix: str | None = None) -> QualitySettings:
    from expectations.settings import QualitySettings

    return build(
        QualitySettings,
        options={"topic_prefix": topic_prefix},
        defaults={"kafka_bootstrap": LocalStack(if_present=True).var("SCV_KAFKA_BOOTSTRAP")},
    )


def bench_settings(options: Mapping[str, object], implied: Mapping[str, Any]) -> BenchSettings:
    """``options`` given on the command line, ``SCV_BENCH_*``, then ``implied`` (option
    defaults, ``--quick``'s sizes), the local stack's endpoints and a fresh run id."""
    import secrets

    from bench.settings import BenchSettings

    stack = LocalStack()
    defaults: dict[str, Default] = {
        "kafka_bootstrap": stack.var("SCV_KAFKA_BOOTSTRAP"),
        "connect_url": stack.var("SCV_CONNECT_URL"),
        "erp_dsn": stack.var("SCV_ERP_DSN"),
        "wms_dsn": stack.var("SCV_WMS_DSN"),
        "store_dsn": stack.var("SCV_STORE_DSN"),
        "run_id": lambda: secrets.token_hex(4),
    }
    for name, value in implied.items():
        defaults.setdefault(name, _constant(value))
    return build(BenchSettings, options=options, defaults=defaults)


def chaos_settings(options: Mapping[str, object]) -> ChaosSettings:
    """``options`` given on the command line, ``SCV_CHAOS_*``, then the local stack's endpoints,
    its state directory (results under ``<state>/chaos``), a fresh run id and the checkout's
    commit."""
    import secrets

    from chaos.run import commit_of
    from chaos.settings import ChaosSettings

    stack = LocalStack()
    root = Path(__file__).resolve().parents[1]
    defaults: dict[str, Default] = {
        "kafka_bootstrap": stack.var("SCV_KAFKA_BOOTSTRAP"),
        "connect_url": stack.var("SCV_CONNECT_URL"),
        "erp_dsn": stack.var("SCV_ERP_DSN"),
        "erp_read_dsn": stack.var("SCV_ERP_READ_DSN"),
        "wms_dsn": stack.var("SCV_WMS_DSN"),
        "store_dsn": stack.var("SCV_STORE_DSN"),
        "state_dir": lambda: stack.settings.state_dir,
        "out_dir": lambda: stack.settings.state_dir / "chaos",
        "run_id": lambda: secrets.token_hex(3),
        "commit": lambda: commit_of(str(root)),
    }
    return build(ChaosSettings, options=options, defaults=defaults)


def console_settings(host: str | None = None, port: int | None = None) -> ConsoleSettings:
    """``--host``/``--port``, ``SCV_CONSOLE_*``; beyond loopback the token defaults to the
    local stack's (``<state>/console.token``), if there is a stack."""
    from console.settings import ConsoleSettings, is_loopback

    def token() -> str | None:
        stack = LocalStack(if_present=True)
        if is_loopback(host or "127.0.0.1") or not stack.settings.state_dir.exists():
            return None
        from stack.credentials import console_token

        return console_token(stack.settings.state_dir)

    return build(ConsoleSettings, options={"host": host, "port": port}, defaults={"token": token})
