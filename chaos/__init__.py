"""The fault suite (``scv chaos``): named faults injected into the running chain, each judged by
the simulator's ledger (``scv sim verify``) and ``scv reconcile``.

A tool that drives the whole chain, like ``bench``: only the command line imports it.
"""
