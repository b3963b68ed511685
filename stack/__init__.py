"""The real local stack: Kafka (KRaft), Kafka Connect with Debezium, PostgreSQL and MariaDB.

Every component runs as a plain local process on loopback, from Debian's database packages
and Maven-resolved jars, with its state under one directory (default ``.scv/``). The
``scv stack`` verbs drive :mod:`stack.launcher`; everything else in the project only needs
:class:`stack.settings.StackSettings` to find the endpoints.
"""
