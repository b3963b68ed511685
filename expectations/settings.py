"""Settings of the quality gate, quarantine workflow and report: one frozen object, built
once by the CLI (``SCV_QUALITY_`` prefix; the Kafka bootstrap falls back to
``SCV_KAFKA_BOOTSTRAP`` from ``scv stack env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from expectations.suites import SUITES_DIR


class QualitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCV_QUALITY_", frozen=True, extra="ignore")

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092",
        validation_alias=AliasChoices("SCV_QUALITY_KAFKA_BOOTSTRAP", "SCV_KAFKA_BOOTSTRAP"),
    )
    suites_dir: Path = SUITES_DIR
    #: Same meaning as the transforms' ``topic_prefix`` (tests use a unique one).
    topic_prefix: str = ""
    quarantine_topic: str = "scv.quarantine.v1"
    #: How long a read of a topic waits for more records once it reached the end.
    read_timeout_s: float = Field(default=2.0, gt=0)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
