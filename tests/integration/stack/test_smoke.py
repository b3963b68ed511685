"""Smoke tests of the real stack: CDC from both databases, and Kafka transactions."""

from __future__ import annotations

from stack.check import check_mariadb_cdc, check_postgres_cdc, check_transactions
from stack.credentials import Credentials
from stack.settings import StackSettings


def test_postgres_insert_arrives_as_change_event(
    stack_settings: StackSettings, credentials: Credentials
) -> None:
    result = check_postgres_cdc(stack_settings, credentials)
    assert "connector=postgresql" in result.detail
    assert result.latency_s < 90


def test_mariadb_insert_arrives_as_change_event(
    stack_settings: StackSettings, credentials: Credentials
) -> None:
    result = check_mariadb_cdc(stack_settings, credentials)
    assert "connector=mariadb" in result.detail
    assert result.latency_s < 90


def test_transaction_commits_and_aborts_are_seen_read_committed(
    stack_settings: StackSettings,
) -> None:
    result = check_transactions(stack_settings)
    assert result.detail == "aborted invisible, committed 3 of 3"
