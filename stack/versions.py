"""Versions of the JVM components, read from the Maven project that resolves their jars."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from stack.settings import REPO_ROOT

MAVEN_DIR = REPO_ROOT / "stack" / "maven"
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True, slots=True)
class JvmVersions:
    kafka: str
    debezium: str
    debezium_mariadb: str


def jvm_versions(pom: Path = MAVEN_DIR / "pom.xml") -> JvmVersions:
    props = ET.parse(pom).getroot().find("m:properties", _NS)
    if props is None:
        raise ValueError(f"{pom}: no <properties>")

    def prop(name: str) -> str:
        node = props.find(f"m:{name}", _NS)
        if node is None or not node.text:
            raise ValueError(f"{pom}: no <{name}>")
        return node.text.strip()

    return JvmVersions(
        kafka=prop("kafka.version"),
        debezium=prop("debezium.version"),
        debezium_mariadb=prop("debezium.mariadb.version"),
    )
