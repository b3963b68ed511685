"""The carrier source: tracking updates posted by carriers over HTTP, turned into canonical
``shipment.*`` events on ``scv.shipment.v1`` exactly once.

``updates`` parses a webhook body (pydantic, at the edge); ``mapping`` turns an accepted update
into its canonical event (a pure function); ``store`` keeps the outbox and the rejects in the
``scv`` database; ``app`` is the ASGI receiver; ``relay`` produces the outbox to Kafka in
transactions. A stage after ``transforms`` (it builds the canonical models), beside
``expectations``: its updates are validated at its edge, not by the gate.
"""
