"""The legacy nightly EDI batch, as the shop runs it today: SQL over the ERP and the WMS at a
cut-off, X12 4010 files per trading partner, and the defects such jobs have.

``scv sim batch --at T`` runs ``job.run``: it reads the legacy databases the way the old
extract does (``extract``: plain SQL, one read after the other, no snapshot across the two
databases), builds the documents (``documents``: pure, from the rows read), writes them with
its own X12 writer (``x12``: independent of the stream's ``edi`` package, so the parity report
compares two implementations, not one with itself) and leaves a manifest beside them:

    <out>/<partner>/<document>-<cut-off>.x12   one interchange per partner and document type,
                                               one transaction set per shipment, receipt line
                                               or site (846)
    <out>/manifest.json                        cut-off, window, when each query ran, the files,
                                               and every defect that fired, on which record

The partners and their envelope ids come from the same YAML profiles the stream uses
(``partners``: the few fields a batch needs, read with ``yaml``; not ``edi.profile``).

The defects (``defects.DEFECTS``) are deliberate, named, deterministic behaviours of the old
job. Each can be switched off (``--without NAME``, ``--no-defects``); each firing is recorded
with the record it touched and, for a quantity, by how much it moved it, so the parity report
can tell a known batch defect from a timing difference or an unexplained one.
"""
