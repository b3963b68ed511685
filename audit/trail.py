"""Running an operator action inside the audit trail (fail closed).

:func:`recorded` appends the ``requested`` row (with the hash of the config the action starts
from) before the action runs; if that row cannot be written, the action is not run
(:class:`AuditUnavailable`). After the action it appends ``succeeded`` or ``failed`` (with the
hash of the config it left, and the error's line); if that row cannot be written, the command
fails (:class:`AuditIncomplete`), since an action whose outcome is not on record must not pass
for a clean run. Then the outbox is published to Kafka; rows the broker did not take stay in
the outbox (one warning line) and go with the next audited command or ``scv audit publish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from confluent_kafka import KafkaException

from audit.entry import Action, Row, config_hash, one_line, operator
from audit.errors import AuditError, AuditIncomplete, AuditPublishError, AuditUnavailable
from audit.publish import publish
from audit.settings import AuditSettings
from audit.store import AuditStore
from kafkaio import KafkaIOError

#: What the action's config looks like now (JSON-able; None: there is none), hashed before
#: and after the action.
Snapshot = Callable[[], object]


def _open(settings: AuditSettings) -> AuditStore:
    dsn = settings.libpq_dsn
    if dsn is None:
        raise AuditError("no audit database: set SCV_STORE_DSN (see `scv stack env`)")
    store = AuditStore(dsn, settings.db_schema)
    try:
        store.ensure_schema()
    except AuditError:
        store.close()
        raise
    return store


@contextmanager
def recorded(
    settings: AuditSettings,
    action: Action,
    snapshot: Snapshot | None = None,
    *,
    warn: Callable[[str], None],
) -> Iterator[None]:
    """Run the block as ``action``, on record (module docstring)."""
    who = operator()
    try:
        store = _open(settings)
    except AuditError as exc:
        raise AuditUnavailable(f"{exc}; `{action.command}` was not run") from None
    try:
        before = config_hash(snapshot()) if snapshot is not None else None
        try:
            store.append(action, who, "requested", config_before=before)
        except AuditError as exc:
            raise AuditUnavailable(f"{exc}; `{action.command}` was not run") from None
        try:
            yield
        except BaseException as exc:
            detail = one_line(str(exc)) or type(exc).__name__
            if isinstance(exc, KeyboardInterrupt):
                detail = "interrupted"
            after, trouble = _after(snapshot)
            try:
                store.append(
                    action,
                    who,
                    "failed",
                    config_before=before,
                    config_after=after,
                    detail=detail if trouble is None else f"{detail}; {trouble}",
                )
            except AuditError as audit_exc:
                warn(f"{audit_exc} (`{action.command}` failed; its failure is not on record)")
            _publish(settings, store, warn)
            raise
        after, trouble = _after(snapshot)
        try:
            store.append(
                action,
                who,
                "succeeded",
                config_before=before,
                config_after=after,
                detail=trouble,
            )
        except AuditError as exc:
            raise AuditIncomplete(
                f"{exc}: `{action.command}` ran, but its outcome is not on record (the trail "
                f"shows it requested, action {action.action_id}); reported as failed"
            ) from None
        _publish(settings, store, warn)
    finally:
        store.close()


def _after(snapshot: Snapshot | None) -> tuple[str | None, str | None]:
    """The config hash after the action, or None and why it could not be read."""
    if snapshot is None:
        return None, None
    try:
        return config_hash(snapshot()), None
    except Exception as exc:  # noqa: BLE001 - the action's outcome is recorded either way
        return None, f"config after not readable: {one_line(str(exc))}"


def _publish(settings: AuditSettings, store: AuditStore, warn: Callable[[str], None]) -> None:
    try:
        with store.outbox() as (pending, mark):
            publish(settings, pending)
            mark([row.id for row in pending])
    except AuditPublishError as exc:
        warn(f"{exc}; `scv audit publish` sends them")
    except AuditError as exc:
        warn(f"{exc}; the rows are in the table, `scv audit publish` sends them")
    except (KafkaException, KafkaIOError) as exc:
        warn(f"audit: outbox not published ({one_line(str(exc))}); `scv audit publish` sends it")


def publish_pending(settings: AuditSettings) -> int:
    """Publish the outbox; how many rows were sent."""
    store = _open(settings)
    try:
        with store.outbox() as (pending, mark):
            publish(settings, pending)
            mark([row.id for row in pending])
            return len(pending)
    finally:
        store.close()


def history(settings: AuditSettings, *, since: datetime | None = None, limit: int = 0) -> list[Row]:
    """The trail's rows in order (the newest ``limit`` if > 0)."""
    store = _open(settings)
    try:
        return store.rows(since=since, limit=limit)
    finally:
        store.close()
