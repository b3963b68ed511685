"""Every Kafka client gets the transport security the environment sets.

``kafkaio.client_config`` merges ``SCV_KAFKA_SECURITY_*``/``SASL_*``/``SSL_*`` into the
caller's properties, and every ``Consumer``, ``Producer`` and ``AdminClient`` constructed in
the project (product packages, scripts, integration tests) is built from it: an AST walk
follows the config argument through local names, ``{**x, ...}`` spreads and the project's own
config builders (``producer_config`` and its kind) down to a ``client_config(...)`` call.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from kafkaio import client_config, security_properties
from kafkaio.config import describe

ROOT = Path(__file__).parents[3]
CLIENTS = {"Consumer", "Producer", "AdminClient"}
BUILDER = "client_config"
#: Construction sites that must NOT have the credentials, each with its reason.
EXEMPT = {
    # The test that a client without credentials is refused by a secure broker (it builds the
    # configs it tries by hand, and the served one from client_config).
    ("tests/integration/secure/test_secure_stack.py", "_metadata"),
}

SECURE = {
    "SCV_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "SCV_KAFKA_PORT": "19092",
    "SCV_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "SCV_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "SCV_KAFKA_SASL_USERNAME": "scv",
    "SCV_KAFKA_SASL_PASSWORD": "s3cret",
    "SCV_KAFKA_SSL_CA_LOCATION": "/state/tls/ca.pem",
    "SCV_KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "https",
    "SCV_KAFKA_SASL_OAUTHBEARER_CONFIG": "",
}


def test_the_environment_s_security_settings_become_librdkafka_properties() -> None:
    assert security_properties(SECURE) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "scv",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/state/tls/ca.pem",
        "ssl.endpoint.identification.algorithm": "https",
    }
    config = client_config("h:1", {"group.id": "g"}, environ=SECURE)
    assert config["bootstrap.servers"] == "h:1"
    assert config["group.id"] == "g"
    assert config["security.protocol"] == "SASL_SSL"
    assert describe(config)["sasl.password"] == "***"


def test_without_security_settings_a_client_config_is_the_caller_s() -> None:
    assert client_config("h:1", {"acks": "all"}, environ={"SCV_KAFKA_BOOTSTRAP": "x"}) == {
        "bootstrap.servers": "h:1",
        "acks": "all",
    }


@pytest.mark.parametrize("key", ["security.protocol", "sasl.password", "ssl.ca.location"])
def test_a_construction_site_may_not_set_security_itself(key: str) -> None:
    with pytest.raises(ValueError, match=key):
        client_config("h:1", {key: "x"}, environ={})


# -- every construction site ------------------------------------------------------------------


def _files() -> Iterator[Path]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    for folder in (*packages, "scripts", "tests/integration"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Module:
    def __init__(self, path: Path, builders: dict[str, list[ast.FunctionDef]]) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(encoding="utf-8"))
        self.builders = builders
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node

    def function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                return node
        return None

    def built(
        self, expr: ast.expr, scope: ast.AST | None, seen: frozenset[int] = frozenset()
    ) -> bool:
        """Whether ``expr`` is (derived from) a ``client_config(...)`` call."""
        if isinstance(expr, ast.Call):
            name = _name(expr.func)
            if name == BUILDER:
                return True
            candidates = [f for f in self.builders.get(name or "", []) if id(f) not in seen]
            if candidates:
                # Any function of that name may be the one called: each must be built.
                return all(self.returns_built(f, seen | {id(f)}) for f in candidates)
            return False
        if isinstance(expr, ast.Dict):
            # {**built, ...}: the first element spreads a built config.
            return (
                bool(expr.keys) and expr.keys[0] is None and self.built(expr.values[0], scope, seen)
            )
        if isinstance(expr, ast.Name) and scope is not None:
            values = [
                node.value
                for node in ast.walk(scope)
                if isinstance(node, ast.Assign | ast.AnnAssign)
                and node.value is not None
                and any(
                    isinstance(t, ast.Name) and t.id == expr.id
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                )
            ]
            return bool(values) and all(self.built(v, scope, seen) for v in values)
        return False

    def returns_built(self, function: ast.FunctionDef, seen: frozenset[int]) -> bool:
        returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return) and n.value]
        module = _MODULES[function]
        return bool(returns) and all(module.built(r, function, seen) for r in returns)


_MODULES: dict[ast.AST, _Module] = {}


def _modules() -> list[_Module]:
    builders: dict[str, list[ast.FunctionDef]] = {}
    modules = [_Module(path, builders) for path in _files()]
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef) and node.name.endswith(("config", "_common")):
                builders.setdefault(node.name, []).append(node)
                _MODULES[node] = module
    return modules


def test_every_kafka_client_is_built_from_client_config() -> None:
    sites = wrong = 0
    problems = []
    for module in _modules():
        where = module.path.relative_to(ROOT).as_posix()
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in CLIENTS):
                continue
            sites += 1
            scope = module.function(node)
            if (where, getattr(scope, "name", None)) in EXEMPT:
                continue
            config = (
                node.args[0]
                if node.args
                else next((k.value for k in node.keywords if k.arg in ("conf", "config")), None)
            )
            if config is None or not module.built(config, scope):
                wrong += 1
                problems.append(
                    f"{where}:{node.lineno}: {_name(node.func)}(...) not from {BUILDER}"
                )
    assert sites > 40  # the walk found the construction sites
    assert not problems, "\n".join(problems)


def test_no_client_properties_outside_client_config() -> None:
    # A "bootstrap.servers" dict key anywhere else is a client config built by hand; the
    # Kafka Connect worker's properties (Java clients, stack/components/connect.py) get the
    # same security from the same environment through ``connect_security``.
    found = []
    for module in _modules():
        where = module.path.relative_to(ROOT).as_posix()
        if where in ("kafkaio/config.py", "stack/components/connect.py", *(e[0] for e in EXEMPT)):
            continue
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "bootstrap.servers" for k in node.keys
            ):
                found.append(f"{where}:{node.lineno}")
    assert not found, found
