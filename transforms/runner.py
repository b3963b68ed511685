"""The exactly-once runner: the only confluent-kafka consume → transform → produce loop.

One Kafka transaction per batch::

    consume (up to N) → process each (parse, map) → gate → serialize → produce canonical
    events, quarantine records and reference-state updates → send_offsets_to_transaction →
    commit

so the outputs of a batch and the consumer offsets that produced them become visible to
``read_committed`` readers together, or not at all. The offsets and the commit of a batch
travel on a thread of their own while the next batch is consumed, mapped and gated (so the
broker's round trips overlap the work); the next batch is produced once that commit succeeded,
and if it failed both batches are rolled back and read again.

Several instances share the raw partitions through one consumer group; each has its own
``transactional.id`` (``<prefix>-<instance>``), and KIP-447 (``consumer_group_metadata``)
fences a zombie after a rebalance. Rebalance callbacks only run inside ``consume``/``poll``; a
revocation first waits for the commit in flight. SIGTERM/SIGINT finish the open batch (commit)
and stop; an error aborts it and nothing of it is visible.

Debezium writes the changes since its last flushed offset again after a Connect restart; the
runner skips those copies by source position (``transforms.replays``), with each partition's
mark committed as its offset's metadata. The broker going away never hangs the runner: every
wait on a commit is bounded, a failed batch is aborted and read again, and a commit stuck in
the client raises ``RunnerStalled``, on which ``scv pipeline run`` starts over in a fresh
process from the committed offsets.

The parts, one job each:

    transforms.clients       the Kafka clients, their configs, waiting for the broker at start
    transforms.state_topic   the reference state loaded from and caught up with its topic
    transforms.placement     each partition placed at its committed offset; gaps; rewinds
    transforms.batch         a batch mapped, gated and serialized (``Batcher``)
    transforms.holds         rows held for reference data, and waiting for commit order
    transforms.transactions  one transaction per batch, committed on a thread (``BatchCommits``)
    transforms.stats         the run's counters
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

import kafkaio
from transforms.batch import Batcher, Mapped
from transforms.clients import Clients, until_broker
from transforms.errors import KafkaError, KafkaTransientError, RunnerStalled
from transforms.holds import Holds, ReferenceTopics, Waiting
from transforms.observe import RunnerMetrics
from transforms.pipeline import Gate, PassThroughGate
from transforms.placement import Placement
from transforms.reference import Reference, StateStore
from transforms.registry import MapperRegistry
from transforms.replays import ReplayGuard
from transforms.settings import TransformsSettings
from transforms.state_topic import StateTopic
from transforms.stats import RunStats
from transforms.topics import ensure_topics
from transforms.transactions import BatchCommits

Log = Callable[[str], None]

#: How long ``consume`` waits for more while rows wait for their turn.
PENDING_POLL_S = 0.01

__all__ = ["RunStats", "Runner"]


class Runner:
    """Runs the pipeline until stopped (signal, ``until_idle``, or an error)."""

    def __init__(
        self,
        settings: TransformsSettings,
        registry: MapperRegistry,
        *,
        gate: Gate | None = None,
        log: Log = lambda _line: None,
        metrics: RunnerMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics if metrics is not None else RunnerMetrics()
        self.registry = registry
        self.log = log
        self.stats = RunStats()
        self.store = StateStore()
        #: Debezium's replays after a Connect restart, recognised per raw partition.
        self.replays = ReplayGuard()
        self.state = StateTopic(settings, self.store, self.stats, log)
        self.placement = Placement(settings, self.replays, self.stats, log)
        references = ReferenceTopics(registry)
        self.holds = Holds(settings, references)
        self.waiting = Waiting(settings, references, log)
        self.batcher = Batcher(
            settings,
            registry,
            gate=gate or PassThroughGate(),
            store=self.store,
            reference=Reference(self.store, settings.site_zones),
            replays=self.replays,
            references=references,
            holds=self.holds,
            waiting=self.waiting,
            start_offsets=self.placement.start_offsets,
            writer=self.state.writer,
            stats=self.stats,
        )
        self.commits: BatchCommits[Mapped] = BatchCommits(
            self.store,
            commit_deadline_s=settings.commit_deadline,
            stop_grace_s=settings.stop_grace_s,
            stopping=lambda: self.stopping,
            timed=self.metrics.timed,
        )
        self._stop_reason: str | None = None
        self._assigned_at = 0.0
        #: A batch failed and the consumer must go back to the committed offsets first.
        self._rewind_due = False
        #: When the broker stopped answering (an outage longer than ``outage_deadline_s``
        #: ends the runner).
        self._failing_since: float | None = None

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the open batch (safe from a signal handler)."""
        self._stop_reason = reason

    @property
    def stopping(self) -> bool:
        return self._stop_reason is not None

    def run(self, *, until_idle: bool = False, install_signals: bool = True) -> RunStats:
        settings = self.settings
        clients = Clients.open(settings)
        self.placement.admin = self.holds.admin = clients.admin
        started = time.monotonic()
        self.commits.open()
        stalled = False
        try:
            signals = kafkaio.stop_on_signals(self.stop) if install_signals else nullcontext()
            with signals:
                self._start(clients)
                clients.consumer.subscribe(
                    [settings.source_pattern],
                    on_assign=self._on_assign,
                    on_revoke=self._on_revoke,
                    on_lost=self._on_revoke,
                )
                self._loop(clients, until_idle=until_idle)
        except RunnerStalled:
            stalled = True
            raise
        finally:
            if not stalled:
                self._settle_quietly()
            # A batch mapped but never produced (an error in it) leaves no state behind.
            self.store.abort()
            self.commits.close()
            self.stats.seconds = time.monotonic() - started
            if not stalled:  # a stalled client's close can block as long as its stuck call
                clients.close()
        return self.stats

    def _start(self, clients: Clients) -> None:
        """Output topics, the transactional id (registering it fences a predecessor and aborts
        what it left open) and the reference state, each once the broker answers."""
        settings = self.settings

        def until(what: str, call: Callable[[], object]) -> None:
            until_broker(
                what,
                call,
                deadline_s=settings.outage_deadline_s,
                stopping=lambda: self.stopping,
                log=self.log,
            )

        until("creating topics", lambda: ensure_topics(settings, clients.admin, self.log))
        until("registering the transactional id", lambda: clients.producer.init_transactions(30))
        until(
            "loading the reference state",
            lambda: self.state.load(clients.admin, clients.state_consumer),
        )

    # -- the loop --------------------------------------------------------------------------

    def _loop(self, clients: Clients, *, until_idle: bool) -> None:
        settings = self.settings
        consumer = clients.consumer
        last_message = time.monotonic()
        self._assigned_at = 0.0
        while self._stop_reason is None:
            try:
                if self.placement.resets:
                    self._reassign(consumer)
                elif self._rewind_due:
                    self._rewind(consumer)
                if self.holds:
                    self.holds.review(consumer)
                if len(self.waiting):
                    # Rows waiting for their turn wait for rows the client has (nearly)
                    # fetched already: take them at once.
                    messages = consumer.consume(
                        num_messages=settings.batch_size, timeout=PENDING_POLL_S
                    )
                else:
                    # Small batches while records trickle in, full ones under a backlog.
                    messages = kafkaio.consume_batch(
                        consumer,
                        settings.batch_size,
                        settings.batch_timeout_s,
                        settings.batch_linger_s,
                    )
                consumed_ns = time.time_ns()
                batch = self._triage(messages)
                if self.placement.resets:
                    continue  # read again from the committed offsets (``_reassign``)
                if self.commits.aborted is not None:  # during a rebalance in ``consume``
                    raise self.commits.aborted
                if not batch and not len(self.waiting):
                    self._await_commit()  # nothing to map meanwhile
                    quiet_since = max(last_message, self._assigned_at)
                    idle = time.monotonic() - quiet_since >= settings.idle_s
                    if until_idle and idle and self.placement.caught_up(consumer):
                        self.stop("idle")
                    continue
                if batch:
                    last_message = time.monotonic()
                self.state.catch_up(clients.state_consumer, self.holds.news)
                mapped = self.batcher.map(consumer, batch, consumed_ns)
                self._await_commit()
                if mapped.messages or mapped.records:
                    self.commits.send(clients.producer, mapped)
                self._failing_since = None
            except KafkaTransientError as exc:
                self._redo(str(exc))
            except KafkaException as exc:  # a consumer call failed (broker unreachable)
                error = exc.args[0]
                if error.fatal():
                    raise KafkaError(f"consumer: {error.str()}") from None
                self._redo(error.str())
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            self.log(f"last batch aborted (it is read again at the next start): {exc}")
            self.stats.aborted_batches += 1
            self.store.abort()
        self.log(f"stopping: {self._stop_reason}")

    def _triage(self, messages: Sequence[Message]) -> list[Message]:
        """The records of a ``consume`` answer; a partition whose fetch stopped on an offset
        reset is noted for ``_reassign``."""
        triaged = kafkaio.triage(
            messages, fatal=lambda error: KafkaError(f"consumer: {error.str()}")
        )
        for note in triaged.notes:
            self.log(f"consumer: {note}")
        self.placement.resets.update(triaged.resets)
        return triaged.records

    def _await_commit(self) -> None:
        """Wait for the batch in flight and count it (``KafkaTransientError``: aborted)."""
        mapped = self.commits.wait()
        if mapped is None:
            return
        if mapped.reference:
            self.holds.news()
        self.stats.committed(mapped.messages, mapped.counts)
        self.metrics.committed(
            mapped.counts,
            mapped.figures,
            messages=mapped.messages,
            aborted_batches=self.stats.aborted_batches,
            state_entries=len(self.store),
            pending_rows=len(self.waiting),
        )

    def _settle_quietly(self) -> None:
        """On the way out after an error: let the batch in flight finish either way."""
        try:
            self._await_commit()
        except KafkaError as exc:
            self.log(f"last batch not committed: {exc}")

    def _redo(self, why: str) -> None:
        """After a failed batch: settle the commit in flight, roll back what is not committed
        and read on from the committed offsets (``_rewind``, at the top of the loop, until it
        succeeds). The broker gone for longer than ``outage_deadline_s`` ends the runner."""
        self.commits.aborted = None
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
            self.log(f"batch aborted, re-reading it: {why}")
        elif now - self._failing_since >= self.settings.outage_deadline_s:
            raise RunnerStalled(
                f"no batch committed for {now - self._failing_since:.0f}s "
                f"(outage_deadline_s): {why}"
            )
        else:
            time.sleep(min(1.0, self.settings.batch_timeout_s * 5))  # a back-off while it lasts
        self.stats.aborted_batches += 1
        try:
            self._await_commit()
        except KafkaTransientError as settled:
            self.log(f"the batch before it was aborted too: {settled}")
        self.store.abort()
        self._rewind_due = True

    # -- rebalances, rewinds and re-placements -----------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned_at = time.monotonic()
        self.placement.assign(consumer, partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The next owner starts at the committed offsets, so the batch in flight is committed
        # (or aborted) before the partitions go; for a held partition that is the held row.
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            self.commits.aborted = exc
        # A held partition is paused, and the client keeps it paused if it comes back to this
        # instance: resume it now, or with its hold gone nothing would ever resume it (the
        # group would stall).
        keys = [(tp.topic, tp.partition) for tp in partitions]
        paused = [
            tp
            for tp, key in zip(partitions, keys, strict=True)
            if self.holds.held.pop(key, None) or key in self.waiting.full
        ]
        self.waiting.forget(keys)
        if paused:
            consumer.resume(paused)
        self.placement.revoked(partitions)

    def _rewind(self, consumer: Consumer) -> None:
        """After an abort, read the batch again from the last committed offsets."""
        assignment = consumer.assignment()
        self._rewind_due = False
        if not assignment:
            return  # the next assignment starts at the committed offsets anyway
        self._rewind_due = True  # until the seeks below are done
        found = self.placement.committed(consumer, assignment)
        # Waiting rows are read again from the committed offsets (and wait again if they must).
        self.waiting.resume_all(consumer)
        self.placement.seek(consumer, found)
        self._rewind_due = False

    def _reassign(self, consumer: Consumer) -> None:
        """A partition's fetch stopped on an offset reset (``placement.resets``): settle the
        batch in flight, drop what was read and not committed, and assign every partition
        again from the committed offsets (``Placement.place_again``).

        A stopped fetch cannot be sought (librdkafka answers ``_STATE``); only an assignment
        restarts it, and ``assign`` (the eager protocol) replaces the whole assignment."""
        resets, self.placement.resets = self.placement.resets, {}
        aborted, self.commits.aborted = self.commits.aborted, None
        try:
            self._await_commit()
        except KafkaTransientError as exc:
            aborted = exc
        if aborted is not None:
            self.log(f"batch aborted, re-reading it: {aborted}")
            self.stats.aborted_batches += 1
        self.store.abort()
        self._rewind_due = False
        assignment = consumer.assignment()
        if not assignment:
            return  # the next assignment places every partition anyway
        # Nothing waits or stays paused: it is all read again (a paused partition stays paused
        # through an assignment).
        paused = [
            tp
            for tp in assignment
            if (tp.topic, tp.partition) in self.holds
            or (tp.topic, tp.partition) in self.waiting.full
        ]
        if paused:
            consumer.resume(paused)
        self.holds.held.clear()
        self.waiting.full.clear()
        self.waiting.merge.clear()
        self.placement.place_again(consumer, assignment, resets)
