"""``scv demo``: the whole promise on one machine, watched live.

Legacy writes go in (the simulator), Debezium captures them, the exactly-once pipeline maps
and gates them, the views keep inventory positions and alerts, and a live terminal view shows
source changes/s, canonical events/s, end-to-end latency, quarantine counts by rule, connector
state, positions and alerts. At the end the ledger is verified against the stream and the
quality report is written. Like the CLI, this package may import every stage; nothing imports it.
"""
