"""``scv bench``: how far the pipeline is from the limit of this machine, measured in one run.

B1 a bare transactional passthrough (the denominator), B2 the real runner on the same backlog,
B3 Debezium's own backlog drain per source, B4 end-to-end latency at steady source rates, and
the peak memory of every process. Only the CLI imports this package.
"""
