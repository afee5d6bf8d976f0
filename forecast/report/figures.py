"""The report's figures: matplotlib (Agg, no global state), one PNG each, written into
the run's ``figures/`` folder; every function returns the file name or None when it has
nothing to draw. Concentrations in µg/m³; network losses on the scaled target."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..constants import SEASONS, UNIT
from .format import num

DPI = 110
#: Figure style: fonts still readable when a 5.2-inch figure is shown 370 px wide (phones).
STYLE = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5,
         "xtick.labelsize": 9, "ytick.labelsize": 9, "svg.hashsalt": "report",
         "figure.facecolor": "white"}
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
          "#17becf", "#7f7f7f", "#bcbd22")


def _styled(function):
    """Run a figure function under :data:`STYLE` (rc_context: no global state changed)."""
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return function(*args, **kwargs)
    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _new_figure(width: float = 5.2, height: float = 3.1) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig: Figure, figures: Path, name: str) -> str:
    fig.savefig(figures / name, dpi=DPI, metadata={"Software": None})
    return name


def _log_if_wide(ax, values) -> None:
    v = np.asarray([x for x in values if num(x) is not None and x > 0], dtype=float)
    if len(v) and v.max() / v.min() > 20:
        ax.set_yscale("log")


@_styled
def figure_curves(network: str, curves: dict[str, pd.DataFrame], figures: Path) -> str | None:
    if not curves:
        return None
    has_grad = any("grad_norm" in c and c["grad_norm"].notna().any() for c in curves.values())
    fig = _new_figure(5.2, 4.4 if has_grad else 3.1)
    if has_grad:
        ax, gx = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    else:
        ax, gx = fig.subplots(1, 1), None
    values = []
    for i, (entry, c) in enumerate(curves.items()):
        color = COLORS[i % len(COLORS)]
        epoch = c["epoch"] if "epoch" in c else pd.Series(np.arange(1, len(c) + 1))
        if "train_loss" in c:
            ax.plot(epoch, c["train_loss"], "--", color=color, lw=1.2, label=f"{entry} train")
            values += list(c["train_loss"])
        if "val_loss" in c:
            ax.plot(epoch, c["val_loss"], "-", color=color, lw=1.6, label=f"{entry} val")
            values += list(c["val_loss"])
            if c["val_loss"].notna().any():
                k = int(c["val_loss"].idxmin())
                ax.plot([epoch.iloc[k]], [c["val_loss"].iloc[k]], "o", color=color, ms=5)
        if gx is not None and "grad_norm" in c:
            gx.plot(epoch, c["grad_norm"], color=color, lw=1.0)
    _log_if_wide(ax, values)
    ax.set_ylabel("loss (scaled target)")
    ax.set_title(f"{network}: train (dashed), validation (solid); dot = best epoch")
    ax.legend(ncol=2, fontsize=7.5)
    ax.grid(alpha=0.3)
    if gx is not None:
        gx.set_ylabel("gradient norm")
        gx.set_xlabel("epoch")
        gx.grid(alpha=0.3)
    else:
        ax.set_xlabel("epoch")
    return _save(fig, figures, f"curves_{network}.png")


@_styled
def figure_capacity(sweep: pd.DataFrame, figures: Path) -> str | None:
    if sweep is None or "n_parameters" not in sweep:
        return None
    sweep = sweep.sort_values("n_parameters")
    fig = _new_figure()
    ax = fig.subplots()
    for column, style, label in (("best_train_loss", "s--", "best train loss"),
                                 ("best_val_loss", "o-", "best validation loss")):
        if column in sweep:
            ax.plot(sweep["n_parameters"], sweep[column], style, label=label)
    if {"hidden", "layers", "best_val_loss"} <= set(sweep.columns):
        for _, row in sweep.iterrows():
            ax.annotate(f"{int(row['hidden'])}×{int(row['layers'])}",
                        (row["n_parameters"], row["best_val_loss"]), fontsize=8,
                        textcoords="offset points", xytext=(3, 4))
    ax.set_xscale("log")
    ax.margins(x=0.12, y=0.12)
    ax.set_xlabel("parameters (log); labels: hidden × layers")
    ax.set_ylabel("loss (scaled target)")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, figures, "capacity_sweep.png")


@_styled
def figure_learning_curve(curve: pd.DataFrame, figures: Path) -> str | None:
    if curve is None:
        return None
    x = "n_train" if "n_train" in curve else "fraction" if "fraction" in curve else None
    if x is None:
        return None
    curve = curve.sort_values(x)
    fig = _new_figure()
    ax = fig.subplots()
    for column, style, label in (("best_train_loss", "s--", "best train loss"),
                                 ("best_val_loss", "o-", "best validation loss")):
        if column in curve:
            ax.plot(curve[x], curve[column], style, label=label)
    ax.set_xlabel("training rows" if x == "n_train" else "fraction of the training split")
    ax.set_ylabel("loss (scaled target)")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, figures, "learning_curve.png")


def test_series(predictions: pd.DataFrame, models: list[str]) -> pd.DataFrame | None:
    """Test split, one row per date: observed and each model's forecast (station mean)."""
    test = predictions[(predictions["split"] == "test") & predictions["model"].isin(models)]
    if test.empty:
        return None
    wide = test.pivot_table(index=["date", "station"], columns="model", values="y_pred",
                            aggfunc="first")
    wide["observed"] = test.groupby(["date", "station"])["y_true"].first()
    return wide.groupby(level="date").mean().sort_index()


@_styled
def figure_timeseries(series: pd.DataFrame, models: list[str], figures: Path,
                      threshold: float) -> str | None:
    fig = _new_figure(5.2, 3.0)
    ax = fig.subplots()
    ax.plot(series.index, series["observed"], color="black", lw=1.3, label="observed")
    for i, m in enumerate(models):
        if m in series:
            ax.plot(series.index, series[m], color=COLORS[i % len(COLORS)], lw=0.9,
                    alpha=0.85, label=m)
    ax.axhline(threshold, color="grey", ls=":", lw=1)
    ax.set_ylabel(f"daily-mean PM2.5 ({UNIT})")
    ax.legend(ncol=min(3, len(models) + 1), loc="upper left", fontsize=7.5)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    return _save(fig, figures, "test_timeseries.png")


@_styled
def figure_scatter(series: pd.DataFrame, models: list[str], figures: Path,
                   threshold: float) -> str | None:
    models = [m for m in models if m in series][:2]
    if not models:
        return None
    fig = _new_figure(5.2, 3.0)
    axes = np.atleast_1d(fig.subplots(1, len(models), sharex=True, sharey=True))
    top = float(np.nanmax(series[["observed", *models]].to_numpy())) * 1.05
    for i, (ax, m) in enumerate(zip(axes, models, strict=True)):
        ax.scatter(series["observed"], series[m], s=6, alpha=0.5, color=COLORS[i])
        ax.plot([0, top], [0, top], color="black", lw=0.8)
        ax.axvline(threshold, color="grey", ls=":", lw=0.8)
        ax.axhline(threshold, color="grey", ls=":", lw=0.8)
        ax.set_title(m)
        ax.set_xlabel(f"observed ({UNIT})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"forecast ({UNIT})")
    return _save(fig, figures, "test_scatter.png")


@_styled
def figure_seasons(models: dict, featured: list[str], figures: Path) -> str | None:
    data = {m: (models[m].get("test") or {}).get("by_season") or {} for m in featured}
    seasons = [s for s in SEASONS if any(s in v for v in data.values())]
    if not seasons:
        return None
    fig = _new_figure(5.2, 2.9)
    ax = fig.subplots()
    width = 0.8 / len(featured)
    for i, m in enumerate(featured):
        heights = [num((data[m].get(s) or {}).get("rmse")) or 0.0 for s in seasons]
        ax.bar(np.arange(len(seasons)) + (i - (len(featured) - 1) / 2) * width, heights,
               width, label=m, color=COLORS[i % len(COLORS)])
    ax.set_xticks(np.arange(len(seasons)), seasons)
    ax.set_ylabel(f"test RMSE ({UNIT})")
    fig.legend(loc="outside upper center", ncol=min(4, len(featured)), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, figures, "season_rmse.png")


@_styled
def figure_exceedance(models: dict, featured: list[str], figures: Path) -> str | None:
    scores = {m: (models[m].get("test") or {}).get("exceedance") or {} for m in featured}
    if not any(scores.values()):
        return None
    fig = _new_figure(5.2, 2.9)
    ax = fig.subplots()
    keys = ("pod", "far", "csi")
    width = 0.8 / len(featured)
    for i, m in enumerate(featured):
        heights = [num(scores[m].get(k)) or 0.0 for k in keys]
        ax.bar(np.arange(3) + (i - (len(featured) - 1) / 2) * width, heights, width, label=m,
               color=COLORS[i % len(COLORS)])
    ax.set_xticks(np.arange(3), ["POD (higher\nis better)", "FAR (lower\nis better)",
                                 "CSI (higher\nis better)"])
    ax.set_ylim(0, 1)
    fig.legend(loc="outside upper center", ncol=min(4, len(featured)), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, figures, "exceedance.png")


@_styled
def figure_folds(rmse_by_fold: dict[str, dict[str, float]], figures: Path) -> str | None:
    """Test RMSE of each featured model in each rolling-origin fold."""
    if not rmse_by_fold or len(next(iter(rmse_by_fold.values()))) < 2:
        return None
    fig = _new_figure(5.2, 2.9)
    ax = fig.subplots()
    for i, (model, by_fold) in enumerate(rmse_by_fold.items()):
        ax.plot(list(by_fold), list(by_fold.values()), "o-", color=COLORS[i % len(COLORS)],
                label=model, lw=1.2)
    ax.set_xlabel("fold (test period)")
    ax.set_ylabel(f"test RMSE ({UNIT})")
    ax.legend(ncol=2, fontsize=7.5)
    ax.grid(alpha=0.3)
    return _save(fig, figures, "folds_rmse.png")


@_styled
def figure_stations(skill: dict[str, dict[str, float]], figures: Path) -> str | None:
    """Skill against persistence per station (pooled over folds), one bar per model."""
    if not skill:
        return None
    stations = list(next(iter(skill.values())))
    fig = _new_figure(5.2, max(2.6, 0.28 * len(stations) + 1.0))
    ax = fig.subplots()
    height = 0.8 / len(skill)
    for i, (model, by_station) in enumerate(skill.items()):
        ax.barh(np.arange(len(stations)) + (i - (len(skill) - 1) / 2) * height,
                [by_station.get(s, np.nan) * 100 for s in stations], height, label=model,
                color=COLORS[i % len(COLORS)])
    ax.set_yticks(np.arange(len(stations)), stations)
    ax.invert_yaxis()
    ax.set_xlabel("skill against persistence (%)")
    fig.legend(loc="outside upper center", ncol=min(3, len(skill)), frameon=False)
    ax.grid(alpha=0.3, axis="x")
    return _save(fig, figures, "station_skill.png")


@_styled
def figure_fan(rows: pd.DataFrame, model: str, figures: Path, threshold: float) -> str | None:
    """The recommended model's calibrated distribution over a test period: median, 50 %
    and 90 % intervals, and the observed daily means."""
    if rows.empty or "q50" not in rows:
        return None
    rows = rows.sort_values("date")
    fig = _new_figure(5.2, 3.0)
    ax = fig.subplots()
    ax.fill_between(rows["date"], rows["q05"], rows["q95"], color=COLORS[0], alpha=0.18,
                    lw=0, label="90 % interval")
    ax.fill_between(rows["date"], rows["q25"], rows["q75"], color=COLORS[0], alpha=0.35,
                    lw=0, label="50 % interval")
    ax.plot(rows["date"], rows["q50"], color=COLORS[0], lw=0.9, label=f"{model} median")
    ax.scatter(rows["date"], rows["y_true"], s=4, color="black", zorder=3, label="observed")
    ax.axhline(threshold, color="grey", ls=":", lw=1)
    ax.set_ylabel(f"daily-mean PM2.5 ({UNIT})")
    ax.legend(ncol=2, loc="upper left", fontsize=7.5)
    ax.grid(alpha=0.3)
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 4, 7, 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    return _save(fig, figures, "uncertainty_fan.png")


@_styled
def figure_pit(histograms: dict[str, list[float]], figures: Path) -> str | None:
    """PIT histograms: a calibrated distribution puts a tenth of the days in each bin."""
    histograms = {m: h for m, h in histograms.items() if h}
    if not histograms:
        return None
    fig = _new_figure(5.2, 2.4)
    axes = np.atleast_1d(fig.subplots(1, len(histograms), sharey=True))
    for i, (ax, (model, heights)) in enumerate(zip(axes, histograms.items(), strict=True)):
        ax.bar(np.arange(len(heights)) / len(heights), heights, width=1 / len(heights),
               align="edge", color=COLORS[i % len(COLORS)], alpha=0.8, edgecolor="white")
        ax.axhline(1 / len(heights), color="black", ls="--", lw=0.8)
        ax.set_title(model)
        ax.set_xlabel("PIT")
    axes[0].set_ylabel("fraction of days")
    return _save(fig, figures, "uncertainty_pit.png")


@_styled
def figure_reliability(tables: dict[str, list[dict]], threshold: float,
                       figures: Path) -> str | None:
    """Reliability diagram of the exceedance probability: observed frequency against the
    forecast probability, per tenth of probability (marker size: days)."""
    tables = {m: t for m, t in tables.items() if t}
    if not tables:
        return None
    fig = _new_figure(4.2, 3.4)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, label="perfect reliability")
    for i, (model, table) in enumerate(tables.items()):
        frame = pd.DataFrame(table)
        ax.plot(frame["mean_probability"], frame["observed_frequency"], marker="o",
                color=COLORS[i % len(COLORS)], lw=1, label=model,
                markersize=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(f"forecast P(daily mean > {threshold:g} {UNIT})")
    ax.set_ylabel("observed frequency")
    ax.legend(fontsize=7.5, loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, figures, "uncertainty_reliability.png")
