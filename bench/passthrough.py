"""B1: the bare passthrough, the denominator of every throughput ratio.

It runs as its own process (``python -m bench.passthrough SETTINGS_JSON OUT_TOPIC``) with the
runner's own client configs (``transforms.clients.consumer_config``/``producer_config``) and the
runner's loop shape: ``kafkaio.consume_batch`` (up to ``batch_size``, the runner's timeout and
linger) → one transaction per batch → produce every raw record byte for byte (key, value,
headers) to ``OUT_TOPIC`` → ``send_offsets_to_transaction`` →
commit on a thread while the next batch is consumed, and the next transaction begun once that
commit is done. No parsing, mapping or gating. SIGTERM finishes the open batch; the totals go to
stdout as one JSON line.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

import kafkaio
from transforms.clients import COMMIT_SWITCH_INTERVAL_S, consumer_config, producer_config
from transforms.settings import TransformsSettings


def run(settings: TransformsSettings, out_topic: str) -> dict[str, float]:
    stop: list[str] = []
    with kafkaio.stop_on_signals(stop.append):
        return _run(settings, out_topic, stop)


def _run(settings: TransformsSettings, out_topic: str, stop: list[str]) -> dict[str, float]:
    producer = Producer(producer_config(settings))
    # The runner places every partition itself (its auto.offset.reset is "error"); this loop
    # has no such step, and a partition the bench left without a committed offset starts at
    # its beginning, as the runner's would.
    consumer = Consumer({**consumer_config(settings), "auto.offset.reset": "earliest"})
    committer = ThreadPoolExecutor(1, thread_name_prefix="passthrough-commit")
    in_flight: list[Future[None]] = []  # the batch being committed, at most one
    messages = batches = 0
    started = time.monotonic()

    def commit(offsets: list[TopicPartition], group: object) -> None:
        producer.send_offsets_to_transaction(offsets, group, 30)
        producer.commit_transaction(60)

    def await_commit(*_rebalance: object) -> None:
        # Also before a revocation, as the runner does: offsets of an old generation would
        # be refused once the group has moved on.
        while in_flight:
            in_flight.pop().result()

    try:
        producer.init_transactions(30)
        consumer.subscribe([settings.source_pattern], on_revoke=await_commit)
        while not stop:
            found = kafkaio.consume_batch(
                consumer, settings.batch_size, settings.batch_timeout_s, settings.batch_linger_s
            )
            # Transient errors are the client's to retry; a fatal one raises.
            batch = kafkaio.triage(found, fatal=KafkaException).records
            await_commit()
            if not batch:
                continue
            producer.begin_transaction()
            for message in batch:
                headers = message.headers()
                producer.produce(
                    out_topic, value=message.value(), key=message.key(), headers=headers or None
                )
            producer.poll(0)  # once per batch, as the runner does
            offsets = consumer.position(consumer.assignment())
            in_flight.append(committer.submit(commit, offsets, consumer.consumer_group_metadata()))
            messages += len(batch)
            batches += 1
        await_commit()
    finally:
        committer.shutdown()
        consumer.close()
        producer.flush(5)
    return {"messages": messages, "batches": batches, "seconds": time.monotonic() - started}


def main(argv: list[str]) -> int:
    settings = TransformsSettings.model_validate_json(argv[1])
    sys.setswitchinterval(COMMIT_SWITCH_INTERVAL_S)  # as `scv pipeline run` does
    try:
        totals = run(settings, argv[2])
    except KafkaException as exc:
        error: KafkaError = exc.args[0]
        print(orjson.dumps({"error": error.str()}).decode(), flush=True)  # noqa: T201
        return 1
    print(orjson.dumps(totals).decode(), flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
