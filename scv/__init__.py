"""scv: real-time supply-chain visibility on top of legacy ERP and WMS databases.

This package is the command-line tool only; each stage lives in its own package
(``stack``, ``legacy_sim``, ``connectors``, ``transforms``, ``expectations``) and none of them
imports this one.
"""
