"""Great Expectations itself, off the hot path: parity checks, the benchmark, Data Docs.

Importing this module imports GX (~1.7 s), so only the verbs that need it do. It registers
the one custom expectation the suites use (``expect_column_values_to_be_valid_gtin``) and
validates object-dtype frames built from the same columns the hot-path evaluator reads.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# GX and its dependencies import deprecated modules (sre_constants, ...); their warnings are
# theirs, not ours, and pytest turns warnings into errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import great_expectations as gx
    import pandas as pd  # type: ignore[import-untyped]
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine.pandas_execution_engine import (
        PandasExecutionEngine,
    )
    from great_expectations.expectations.expectation import ColumnMapExpectation
    from great_expectations.expectations.metrics.map_metric_provider.column_condition_partial import (  # noqa: E501
        column_condition_partial,
    )
    from great_expectations.expectations.metrics.map_metric_provider.column_map_metric_provider import (  # noqa: E501
        ColumnMapMetricProvider,
    )
    from great_expectations.validator.v1_validator import Validator as V1Validator

from expectations.errors import SuiteError
from expectations.gtin import is_valid_gtin
from expectations.suites import Suite

# GX logs an exception (and drops the expectation) for an unknown type; the loader below
# counts expectations instead, so the log line is only noise.
logging.getLogger("great_expectations").setLevel(logging.CRITICAL)


class ColumnValuesValidGtin(ColumnMapMetricProvider):
    """Metric ``column_values.valid_gtin``: GS1 length and mod-10 check digit."""

    condition_metric_name = "column_values.valid_gtin"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **_kwargs: Any) -> pd.Series:
        return column.map(is_valid_gtin)


class ExpectColumnValuesToBeValidGtin(ColumnMapExpectation):
    """Expect column values to be GTINs whose last digit is the GS1 check digit."""

    map_metric = "column_values.valid_gtin"
    success_keys = ("mostly",)


def frame(columns: Mapping[str, Sequence[object]], names: Sequence[str]) -> pd.DataFrame:
    """An object-dtype frame (pandas would otherwise re-type Decimals, dates and nulls)."""
    return pd.DataFrame({c: list(columns[c]) for c in names}, dtype=object)


def to_gx_suite(suite: Suite, *, name: str | None = None) -> gx.ExpectationSuite:
    """The suite file as a GX suite; refuses one that GX would silently shorten."""
    data = suite.raw()
    data["name"] = name or suite.name
    data.pop("id", None)
    for item in data["expectations"]:
        item.pop("id", None)
    try:
        gx_suite = gx.ExpectationSuite(**data)
    except Exception as exc:  # noqa: BLE001 - GX raises pydantic and its own errors alike
        raise SuiteError(f"GX refuses suite {suite.name}: {exc}") from None
    if len(gx_suite.expectations) != len(suite.expectations):
        raise SuiteError(
            f"GX loaded {len(gx_suite.expectations)} of the {len(suite.expectations)} "
            f"expectations of {suite.name} (unknown expectation type)"
        )
    return gx_suite


@dataclass(frozen=True, slots=True)
class GxResult:
    rule_id: str
    unexpected: tuple[int, ...] | None  # None: GX gave no row list (table-level)
    success: bool
    exception: str | None


class GxValidator:
    """Validates frames against suites with GX (ephemeral context, no stored results)."""

    def __init__(self) -> None:
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self.context.data_sources.add_pandas("scv_events")
        self._batches: dict[str, BatchDefinition[Any]] = {}
        self._suites: dict[str, gx.ExpectationSuite] = {}

    def _prepare(self, suite: Suite) -> tuple[BatchDefinition[Any], gx.ExpectationSuite]:
        if suite.name not in self._suites:
            asset = self._source.add_dataframe_asset(name=suite.name)
            self._batches[suite.name] = asset.add_batch_definition_whole_dataframe("batch")
            self._suites[suite.name] = self.context.suites.add(to_gx_suite(suite))
        return self._batches[suite.name], self._suites[suite.name]

    def validate(self, suite: Suite, df: pd.DataFrame) -> dict[str, GxResult]:
        """Every expectation's verdict, keyed by rule id (GX's result order is not suite order)."""
        batch, gx_suite = self._prepare(suite)
        result = V1Validator(
            batch_definition=batch,
            batch_parameters={"dataframe": df},
            result_format={"result_format": "COMPLETE"},
        ).validate_expectation_suite(gx_suite)
        out: dict[str, GxResult] = {}
        for er in result.results:
            config = er.expectation_config
            rule_id = str(config.meta["rule_id"]) if config is not None else "?"
            info = er.exception_info or {}
            raised = [
                str(v.get("exception_message"))
                for v in ([info] if "raised_exception" in info else info.values())
                if isinstance(v, dict) and v.get("raised_exception")
            ]
            index = er.result.get("unexpected_index_list")
            out[rule_id] = GxResult(
                rule_id=rule_id,
                unexpected=None if index is None else tuple(sorted(int(i) for i in index)),
                success=bool(er.success),
                exception="; ".join(raised) or None,
            )
        return out


def suite_json(suite: gx.ExpectationSuite) -> str:
    return json.dumps(suite.to_json_dict(), indent=2, default=str)
