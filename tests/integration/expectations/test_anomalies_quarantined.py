"""The main done-criterion of the quality gate, on the real chain (see ``conftest.chain``).

Every anomaly the simulator injected (``scv sim run --anomalies 0.02``) is in the quarantine
topic with the rule ``expectations.anomalies`` names for its defect kind (``__rule.name``),
nothing else is quarantined (no false positive), and ``scv sim verify`` passes: every clean
fact is in the canonical topics once, every anomaly in quarantine.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from chain import scv

from expectations.anomalies import expected_rule
from legacy_sim.anomalies import DEFECTS
from legacy_sim.verify import Fact, _quarantine_ident
from transforms.readback import quarantined_row

from .conftest import Chain, read_topic

#: The chain (sim runs, pipeline to idle) is built inside the first test's setup.
pytestmark = pytest.mark.timeout(1800)


def _anomalies(chain: Chain) -> dict[Fact, str]:
    """Source row expected in quarantine → defect kind (committed anomaly transactions)."""
    out: dict[Fact, str] = {}
    for tx in chain.ledger:
        if not tx["committed"]:
            continue
        for event in tx["events"]:
            if event.get("verdict", tx["verdict"]) == "quarantine":
                out[_quarantine_ident(event)] = str(event["defect"])
    return out


def test_every_anomaly_is_quarantined_by_its_rule_and_nothing_else(chain: Chain) -> None:
    expected = _anomalies(chain)
    assert set(expected.values()) == set(DEFECTS), "every defect kind was injected"
    rules: defaultdict[Fact, set[str]] = defaultdict(set)
    for message in read_topic(chain.bootstrap, f"{chain.prefix}scv.quarantine.v1"):
        row = quarantined_row(message, chain.since, chain.until)
        if row is None:
            continue  # a change outside the fixture's runs
        headers = dict(message.headers() or [])
        rules[row].add(headers["__rule.name"].decode())
    false_positives = sorted(set(rules) - set(expected))
    wrong = {
        row: (defect, sorted(rules.get(row, ())))
        for row, defect in expected.items()
        if rules.get(row) != {expected_rule(defect)}
    }
    per_kind = Counter(expected.values())
    caught = Counter(d for row, d in expected.items() if rules.get(row) == {expected_rule(d)})
    lines = ["anomaly kind                expected  quarantined by its rule  (rule)"]
    lines += [
        f"{kind:<27} {per_kind[kind]:>8} {caught[kind]:>24}  ({expected_rule(kind)})"
        for kind in sorted(per_kind)
    ]
    lines.append(f"false positives: {len(false_positives)} {false_positives[:10]}")
    print("\n".join(lines))  # noqa: T201 - the figures in the CI log
    assert wrong == {}, f"anomalies not quarantined by their rule: {wrong}\n{chain.pipeline_log}"
    assert false_positives == [], f"clean rows quarantined: {false_positives}"


def test_sim_verify_counts_no_false_positive(chain: Chain) -> None:
    scope = [arg for run in chain.runs for arg in ("--run", str(run))]
    out = scv(chain.env, "sim", "verify", "--topic-prefix", chain.prefix, *scope)
    print(out)  # noqa: T201
    assert "sim verify: PASS" in out
    row = re.search(r"^\(quarantine\)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out, re.M)
    assert row, out
    expected, found, missing, duplicated, unexpected = map(int, row.groups())
    assert expected > 0
    assert found == expected
    assert (missing, duplicated, unexpected) == (0, 0, 0)
