"""EDI from the stream: X12 4010 documents and GS1 EPCIS 2.0 events built from canonical events.

The stage sits downstream of the canonical topics, beside ``views``. Its pure core: partner
profiles (``profile``, samples in ``partners/``), the X12 interchange writer (``x12``), one
builder per document (``documents``: 846, 856, 944, 945), what a batch of events builds
(``plan``), the EPCIS 2.0 export with the CBV event hash (``epcis``), its errors (``errors``)
and settings (``settings``). None of these does I/O, reads a clock or holds a global: the time
of a document and its control numbers are parameters, so the same events give the same bytes.

Around it, the I/O of ``scv edi run``: the database tables (``store``), the partner outbox
(``outbox``) and the consume loop (``stage``). It imports the canonical models from
``transforms.events`` and the infrastructure (``kafkaio``, ``dsn``); nothing of the project
but the console imports it back.

GS1 EPCIS 2.0 (``scv epcis``): ``epcis_flow`` decides which canonical events become EPCIS
events and when (pure), ``epcis_stage`` is its I/O: the export to one document and the
continuous ``scv.epcis.v1`` topic, exactly once by Kafka transactions.

Parity with the legacy nightly batch (``scv edi parity``): ``x12read`` reads any interchange by
the separators its ISA declares, ``parity`` turns both sides' files into records, compares and
classifies (pure: the batch's manifest and the simulator's ledger facts come in as values), and
``parity_report`` is its edge: it reads the two directories and writes the HTML and JSON report.
"""
