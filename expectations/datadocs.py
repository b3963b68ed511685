"""GX Data Docs for the quality report, built by GX itself (off the hot path; imports GX).

A file-backed GX context in ``<out>/gx``: each gating and monitoring suite is added to it, and
a sample batch of canonical events per event type is validated through one checkpoint per
type with ``UpdateDataDocsAction`` (SUMMARY results: stored results stay small). The events
are read the way the hot path reads them (``expectations.gate.project``: Decimals, dates and
UUIDs, not JSON strings), so GX judges the same values the gate judged.

GX's own pages load their CSS and scripts from CDNs (research pitfall 12); the self-contained
report links to them and does not depend on them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expectations.errors import ReportError
from expectations.gate import project
from expectations.gx import frame, to_gx_suite
from expectations.suites import Suite

#: Data Docs' entry page, relative to the context's project root.
DOCS_INDEX = Path("gx/uncommitted/data_docs/local_site/index.html")


@dataclass(frozen=True, slots=True)
class DocsValidation:
    event_type: str
    suite: str
    rows: int
    success: bool
    evaluated: int
    successful: int


def build_data_docs(
    out_dir: Path,
    samples: Mapping[str, Sequence[Any]],
    suites: Mapping[str, Sequence[Suite]],
    *,
    run_name: str,
) -> tuple[Path, list[DocsValidation]]:
    """Validate each sample with its suites through checkpoints; the Data Docs index path."""
    import great_expectations as gx
    from great_expectations.checkpoint.actions import UpdateDataDocsAction
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = gx.get_context(mode="file", project_root_dir=str(out_dir))
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_or_update_pandas("scv_events")
        results: list[DocsValidation] = []
        for event_type, events in sorted(samples.items()):
            if not events:
                continue
            type_suites = list(suites.get(event_type, ()))
            columns = sorted({c for s in type_suites for e in s.expectations for c in e.columns})
            df = frame(project(events, columns), columns)
            asset_name = event_type.replace(".", "_")
            try:
                asset = source.get_asset(asset_name)
            except LookupError:
                asset = source.add_dataframe_asset(name=asset_name)
            batch = asset.add_batch_definition_whole_dataframe(f"sample-{run_name}")
            definitions = []
            for suite in type_suites:
                gx_suite = context.suites.add_or_update(to_gx_suite(suite))
                definitions.append(
                    context.validation_definitions.add_or_update(
                        gx.ValidationDefinition(
                            name=f"{suite.name}-{run_name}", data=batch, suite=gx_suite
                        )
                    )
                )
            checkpoint = context.checkpoints.add_or_update(
                gx.Checkpoint(
                    # One checkpoint per report run: a re-run into the same directory must not
                    # load an earlier run's checkpoint, whose batch definitions are gone.
                    name=f"{asset_name}-{run_name}",
                    validation_definitions=definitions,
                    actions=[UpdateDataDocsAction(name="update_data_docs")],
                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
                )
            )
            outcome = checkpoint.run(
                batch_parameters={"dataframe": df},
                run_id=gx.RunIdentifier(run_name=run_name),
            )
            for result in outcome.run_results.values():
                stats = result.statistics
                suite_name = str(result.suite_name)
                results.append(
                    DocsValidation(
                        event_type=event_type,
                        suite=suite_name,
                        rows=len(events),
                        success=bool(result.success),
                        evaluated=int(stats.get("evaluated_expectations", 0)),
                        successful=int(stats.get("successful_expectations", 0)),
                    )
                )
        context.build_data_docs()
    index = out_dir / DOCS_INDEX
    if not index.exists():
        raise ReportError(f"GX built no Data Docs index at {index}")
    return index, results
