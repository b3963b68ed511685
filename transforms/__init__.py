"""transforms: Debezium change events → typed canonical supply-chain events, exactly once.

Stages: ``envelope`` (bytes → ``ChangeEvent``), ``registry`` + ``mappers`` (one pure function
per source table), ``pipeline`` (one raw message → Emit | Quarantine | Skip), ``runner`` (the
only Kafka consume-transform-produce loop, one transaction per batch).
"""
