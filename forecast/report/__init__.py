"""The validation report: ``report.html`` + ``report.md`` + ``figures/*.png`` from a run directory.

:func:`write_report` reads only the run directory (``metrics.json`` through
:class:`forecast.results.RunResult`, ``predictions.csv``, ``curves/*.csv``,
``diagnostics/*.csv``), so a report can be rebuilt at any time (``forecast report
RUN_DIR``) and rebuilding gives the same files. Every sentence that states a result is
built from those numbers; the verdict's rules are in :mod:`forecast.report.verdict`, the
recommendation's in :mod:`forecast.selection`.

Modules: ``format`` (numbers and text), ``document`` (the blocks and their HTML and
Markdown renderers), ``figures``, ``sections`` (the comparison: leaderboard, folds,
stations, seeds), ``details`` (curves, capacity, the latest test period, data quality),
``calibration`` (uncertainty and calibration), ``verdict`` (the verdict's prose) and
``run`` (reading the run directory).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .calibration import section_uncertainty
from .details import (
    section_capacity,
    section_curves,
    section_importance,
    section_quality,
    section_test,
)
from .document import Doc, render_html, render_markdown
from .format import FORECAST_MODE_LABEL, forecast_mode_label
from .run import Run
from .sections import (
    section_folds,
    section_leaderboard,
    section_run,
    section_seeds,
    section_stations,
)
from .verdict import at_a_glance, verdict

__all__ = ["Run", "at_a_glance", "build", "verdict", "write_report"]


def featured_models(run: Run, recommended: str | None) -> list[str]:
    """The few models the figures show: the recommendation, the best baseline, the best
    network by validation, and persistence."""
    candidates = [e for e in run.candidates() if run.pooled(e.name, "val")]
    networks = sorted((e for e in candidates if e.is_network),
                      key=lambda e: run.pooled(e.name, "val")["rmse"])
    names = [recommended, run.result.pooled.get("best_baseline"),
             networks[0].name if networks else None, "persistence"]
    return [n for n in dict.fromkeys(names) if n is not None and n in run.result.entries]


def build(run: Run, figures: Path) -> tuple[Doc, str]:
    result = run.result
    text, recommended = verdict(run)
    title = f"PM2.5 forecast validation report — {result.dataset}, {result.mode} mode"
    if result.synthetic:
        title += " (SYNTHETIC data)"
    doc = Doc()
    doc.heading(1, title)
    if result.synthetic:
        doc.para("SYNTHETIC DATA — simulated, not real measurements.", "banner")
    if result.mode == "forecast":
        label = forecast_mode_label(result.config)
        perfect = label == FORECAST_MODE_LABEL
        doc.para("Forecast mode (perfect prognosis): the model " + label + "."
                 + (" To fit and choose the models for the forecast you will give them, "
                    "set task.weather_step (a forecast every 3 or 6 hours) and "
                    "task.weather_error (its errors' size)." if perfect else ""),
                 "banner")
    doc.heading(2, "Verdict", "verdict")
    doc.table(["At a glance", ""], at_a_glance(run, recommended), align="ll", wrap=True)
    doc.para(text, "verdict")
    featured = featured_models(run, recommended)
    section_leaderboard(doc, run, recommended)
    section_folds(doc, run, figures, featured)
    section_stations(doc, run, figures, featured)
    section_uncertainty(doc, run, figures, featured, recommended)
    section_run(doc, run)
    section_curves(doc, run, figures)
    section_capacity(doc, run, figures)
    section_importance(doc, run, recommended)
    if featured:
        section_test(doc, run, figures, featured)
    section_quality(doc, run)
    section_seeds(doc, run)
    return doc, title


def write_report(run_dir) -> tuple[Path, Path]:
    """Write ``figures/*.png``, ``report.md`` and ``report.html`` into ``run_dir``.

    Reads only the run directory; returns ``(html_path, md_path)``. Calling it again
    rewrites the same files with the same content. Everything is written into a
    temporary folder of the run first and moved into place when complete, so a failure
    or an interrupt leaves the previous report as it was (not the old text with its
    figures deleted)."""
    run_dir = Path(run_dir)
    run = Run.read(run_dir)
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=run_dir))
    try:
        figures = staging / "figures"
        figures.mkdir()
        doc, title = build(run, figures)
        (staging / "report.md").write_text(render_markdown(doc), encoding="utf-8")
        (staging / "report.html").write_text(render_html(doc, figures, title),
                                             encoding="utf-8")
        if (run_dir / "figures").exists():
            (run_dir / "figures").rename(staging / "previous_figures")
        figures.rename(run_dir / "figures")
        for name in ("report.md", "report.html"):
            os.replace(staging / name, run_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return run_dir / "report.html", run_dir / "report.md"
