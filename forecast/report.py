"""The validation report: ``report.html`` + ``report.md`` + ``figures/*.png`` from a run directory.

:func:`write_report` reads only the run directory (``metrics.json``, ``predictions.csv``,
``curves/*.csv``, ``diagnostics/*.csv`` and, when present, ``config.toml``), so a report
can be rebuilt at any time (``forecast report RUN_DIR``) and rebuilding gives the same
files. Every sentence that states a result is built from those numbers — see
:func:`verdict` for the rules of the verdict paragraph.

The document is assembled once as a list of blocks and rendered twice: Markdown (figures
referenced as ``figures/NAME.png``) and a self-contained HTML page (inline CSS, figures
embedded as base64 PNG data URIs, no script, no external request, readable on a phone).
Concentrations are daily-mean PM2.5 in µg/m³; network losses are on the scaled target.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .config import BASELINE_MODELS, NETWORK_MODELS
from .constants import LIMIT_24H, UNIT
from .constants import SEASONS as SEASON_ORDER

DPI = 110
#: Figure style: fonts still readable when a 5.2-inch figure is shown 370 px wide (phones).
STYLE = {"font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8.5,
         "xtick.labelsize": 9, "ytick.labelsize": 9, "svg.hashsalt": "report",
         "figure.facecolor": "white"}
FORECAST_MODE_LABEL = ("uses observed next-day weather as a perfect forecast — an upper bound "
                       "on what a real weather forecast gives")
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
          "#17becf", "#7f7f7f", "#bcbd22")
DASH = "—"


# ---------------------------------------------------------------- formatting


def _num(value) -> float | None:
    """A finite float, or None for missing / NaN / non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _f(value, digits: int = 1) -> str:
    x = _num(value)
    return DASH if x is None else f"{x:.{digits}f}"


def _signed(value, digits: int = 1) -> str:
    x = _num(value)
    return DASH if x is None else f"{x:+.{digits}f}"


def _pct(value, digits: int = 0, signed: bool = False) -> str:
    x = _num(value)
    if x is None:
        return DASH
    return f"{x * 100:+.{digits}f} %" if signed else f"{x * 100:.{digits}f} %"


def _p(value) -> str:
    x = _num(value)
    if x is None:
        return DASH
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _p_eq(value) -> str:
    """'p < 0.001' or 'p = 0.123' for use inside a sentence."""
    text = _p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _int(value) -> str:
    x = _num(value)
    return DASH if x is None else f"{int(round(x)):,}"


def _seconds(value) -> str:
    x = _num(value)
    if x is None:
        return DASH
    if x < 0.1:
        return "< 0.1 s"
    if x < 120:
        return f"{x:.1f} s"
    return f"{x / 60:.1f} min"


def _ci(pair, digits: int = 1, signed: bool = False) -> str:
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return DASH
    fmt = _signed if signed else _f
    lo, hi = fmt(pair[0], digits), fmt(pair[1], digits)
    return DASH if DASH in (lo, hi) else f"{lo} to {hi}"


# ---------------------------------------------------------------- the document model


@dataclass
class Doc:
    """Blocks rendered to Markdown and to HTML. Text may use ``**bold**``."""

    blocks: list = field(default_factory=list)
    sections: int = 0

    def heading(self, level: int, text: str, anchor: str = "") -> None:
        """A heading; level-2 headings (the sections) are numbered 1, 2, … in order."""
        if level == 2:
            self.sections += 1
            text = f"{self.sections}. {text}"
        self.blocks.append(("heading", level, text, anchor))

    def para(self, text: str, cls: str = "") -> None:
        self.blocks.append(("para", text, cls))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, header: list[str], rows: list[list[str]], align: str = "",
              caption: str = "", wrap: bool = False) -> None:
        """A table; ``wrap`` lets long cells wrap (key/value tables) instead of scrolling."""
        if rows:
            align = (align or "l" + "r" * (len(header) - 1)).ljust(len(header), "r")
            self.blocks.append(("table", list(header), [list(r) for r in rows], align, caption,
                                wrap))

    def figure(self, name: str | None, caption: str) -> None:
        if name:
            self.blocks.append(("figure", name, caption))


def _inline_html(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(str(text)))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: Doc) -> str:
    out: list[str] = []
    for block in doc.blocks:
        kind = block[0]
        if kind == "heading":
            out.append(f"{'#' * block[1]} {block[2]}")
        elif kind == "para":
            text = block[1]
            out.append(f"> {text}" if block[2] in ("verdict", "banner") else text)
        elif kind == "bullets":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            header, rows, align, caption, _ = block[1:]
            lines = []
            if caption:
                lines.append(f"*{caption}*")
                lines.append("")
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
        elif kind == "figure":
            out.append(f"![{block[2]}](figures/{block[1]})\n\n*{block[2]}*")
    return "\n\n".join(out) + "\n"


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 line-height:1.5;color:#1d2430;background:#fff;margin:0 auto;padding:1rem;max-width:62rem;
 overflow-wrap:break-word}
h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}
h2{font-size:1.3rem;margin-top:2.2rem;border-bottom:1px solid #d5dbe3;padding-bottom:.2rem}
h3{font-size:1.08rem;margin-top:1.5rem}
p,li{max-width:48rem}
.banner{background:#fdecea;border:2px solid #b3261e;color:#7a1712;padding:.6rem .8rem;
 font-weight:600;border-radius:4px}
.verdict{background:#eef4fd;border-left:5px solid #2458b3;padding:.7rem 1rem;border-radius:3px}
.verdict p{margin:0}
.note{color:#4a5566;font-size:.92rem}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.8rem 0 1.2rem;
 max-width:100%;border:1px solid #e3e7ed;border-radius:3px}
table{border-collapse:collapse;font-size:.88rem;font-variant-numeric:tabular-nums}
p.caption{font-style:italic;color:#4a5566;font-size:.88rem;margin:1rem 0 -.4rem}
th,td{padding:.3rem .55rem;border-bottom:1px solid #e3e7ed;white-space:nowrap;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
table.wrap td{white-space:normal;overflow-wrap:anywhere;min-width:7rem}
td.l,th.l{text-align:left}td.r,th.r{text-align:right}
tbody tr:nth-child(even){background:#fafbfc}
figure{margin:1rem 0 1.6rem}
img{max-width:100%;height:auto;display:block}
figcaption{font-size:.88rem;color:#4a5566;margin-top:.3rem}
nav ul{padding-left:1.2rem}
"""


def render_html(doc: Doc, figures: Path, title: str) -> str:
    body: list[str] = []
    for block in doc.blocks:
        kind = block[0]
        if kind == "heading":
            level, text, anchor = block[1:]
            ident = f' id="{html.escape(anchor)}"' if anchor else ""
            body.append(f"<h{level}{ident}>{_inline_html(text)}</h{level}>")
        elif kind == "para":
            text, cls = block[1:]
            if cls == "verdict":
                body.append(f'<div class="verdict" id="verdict-text"><p>{_inline_html(text)}'
                            "</p></div>")
            else:
                attr = f' class="{cls}"' if cls else ""
                body.append(f"<p{attr}>{_inline_html(text)}</p>")
        elif kind == "bullets":
            items = "".join(f"<li>{_inline_html(item)}</li>" for item in block[1])
            body.append(f"<ul>{items}</ul>")
        elif kind == "table":
            header, rows, align, caption, wrap = block[1:]
            cap = f'<p class="caption">{_inline_html(caption)}</p>' if caption else ""
            head = "".join(f'<th class="{a}" scope="col">{_inline_html(h)}</th>'
                           for h, a in zip(header, align, strict=True))
            lines = "".join(
                "<tr>" + "".join(f'<td class="{a}">{_inline_html(c)}</td>'
                                 for c, a in zip(row, align, strict=True)) + "</tr>"
                for row in rows)
            table = '<table class="wrap">' if wrap else "<table>"
            body.append(f'{cap}<div class="table-wrap">{table}<thead><tr>{head}</tr></thead>'
                        f"<tbody>{lines}</tbody></table></div>")
        elif kind == "figure":
            name, caption = block[1:]
            data = base64.b64encode((figures / name).read_bytes()).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" '
                        f'alt="{html.escape(caption)}"><figcaption>{_inline_html(caption)}'
                        "</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


# ---------------------------------------------------------------- reading the run directory


@dataclass
class Run:
    """What the report needs from a run directory, read once."""

    path: Path
    metrics: dict
    predictions: pd.DataFrame | None
    config: dict

    @property
    def models(self) -> dict:
        return self.metrics.get("models") or {}


def load_run(run_dir: Path) -> Run:
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path} not found: not a run directory")
    metrics = json.loads(metrics_path.read_text())
    predictions = None
    path = run_dir / "predictions.csv"
    if path.is_file():
        frame = pd.read_csv(path)
        frame = frame[frame["split"].isin(["val", "test"])].copy()
        frame["date"] = pd.to_datetime(frame["date"])
        frame["model"] = frame["model"].astype(str)
        frame["station"] = frame["station"].astype(str)
        predictions = frame
    config: dict = {}
    if (run_dir / "config.toml").is_file():
        try:
            config = tomllib.loads((run_dir / "config.toml").read_text())
        except tomllib.TOMLDecodeError:
            config = {}
    return Run(run_dir, metrics, predictions, config)


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return None
    return frame if not frame.empty else None


# ---------------------------------------------------------------- facts derived from metrics


def _base_name(entry: str) -> str:
    return re.sub(r"_(seed\d+|ensemble)$", "", entry)


def model_kinds(metrics: dict) -> dict[str, str]:
    """'baseline', 'network' or 'ensemble' for every model entry of ``metrics``."""
    kinds: dict[str, str] = {}
    for summary in (metrics.get("networks") or {}).values():
        for entry in (summary or {}).get("entries") or []:
            kinds[entry] = "ensemble" if str(entry).endswith("_ensemble") else "network"
    for entry, scores in (metrics.get("models") or {}).items():
        if entry in kinds:
            continue
        info = (scores or {}).get("info") or {}
        if entry.endswith("_ensemble") or "members" in info:
            kinds[entry] = "ensemble"
        elif entry in BASELINE_MODELS:
            kinds[entry] = "baseline"
        elif _base_name(entry) in NETWORK_MODELS or "best_epoch" in info or "epochs_run" in info:
            kinds[entry] = "network"
        else:
            kinds[entry] = "baseline"
    return kinds


def _score(models: dict, entry: str, split: str, key: str = "rmse") -> float | None:
    return _num(((models.get(entry) or {}).get(split) or {}).get(key))


def _info(models: dict, entry: str) -> dict:
    return (models.get(entry) or {}).get("info") or {}


def ranked(models: dict, split: str = "val") -> list[str]:
    """Entries with a finite RMSE on ``split``, best first (ties keep the file's order)."""
    scored = [m for m in models if _score(models, m, split) is not None]
    return sorted(scored, key=lambda m: _score(models, m, split))


def best_baseline(metrics: dict) -> str | None:
    models = metrics.get("models") or {}
    named = (metrics.get("best_baseline") or {}).get("val")
    if named in models and _score(models, named, "val") is not None:
        return named
    kinds = model_kinds(metrics)
    candidates = [m for m in ranked(models) if kinds.get(m) == "baseline"]
    return candidates[0] if candidates else None


def comparison(metrics: dict, model: str, split: str = "test",
               against: str | None = None) -> dict | None:
    for c in metrics.get("comparisons") or []:
        if c.get("split") == split and c.get("model") == model and (
                against is None or c.get("against") == against):
            return c
    return None


def _diff_clause(c: dict) -> str:
    return (f"RMSE difference {_signed(c.get('rmse_diff'))} {UNIT}, 95 % CI "
            f"{_ci(c.get('rmse_diff_ci'), signed=True)}; DM {_p_eq(c.get('dm_p_value'))}")


def _is_significant(c: dict | None) -> bool:
    """Significant as the evaluation defines it: the CI excludes 0 and DM p < 0.05."""
    if not c:
        return False
    if "significant" in c:
        return bool(c["significant"])
    ci = c.get("rmse_diff_ci") or [None, None]
    lo, hi, p = _num(ci[0]), _num(ci[1]), _num(c.get("dm_p_value"))
    return lo is not None and hi is not None and p is not None and (lo > 0 or hi < 0) and p < 0.05


def _cost(models: dict, entry: str) -> str:
    info = _info(models, entry)
    return f"{_int(info.get('n_parameters'))} parameters and {_seconds(info.get('fit_seconds'))} of training"


def _ratio_clause(models: dict, a: str, b: str) -> str:
    """'N× the parameters and M× the training time of b' when both are known and > 0."""
    ia, ib = _info(models, a), _info(models, b)
    parts = []
    for key, label in (("n_parameters", "parameters"), ("fit_seconds", "training time")):
        x, y = _num(ia.get(key)), _num(ib.get(key))
        if x is not None and y is not None and y > 0:
            parts.append(f"{x / y:,.0f}× the {label}")
    return " and ".join(parts) + f" of {b}" if parts else ""


def verdict(metrics: dict) -> tuple[str, str | None]:
    """The verdict paragraph (with ``**bold**``) and the recommended model.

    Rules: the model with the lowest validation RMSE is the candidate; the test year
    confirms it when no model has a lower test RMSE. A network or ensemble is recommended
    only when its test gain over the best baseline is significant (CI of the RMSE
    difference excludes 0 and DM p < 0.05); otherwise the text says the deep models did
    not earn their place and recommends the best baseline. Costs (parameters, training
    time) come from each entry's ``info``.
    """
    models = metrics.get("models") or {}
    kinds = model_kinds(metrics)
    by_val = ranked(models, "val")
    failed = metrics.get("failed") or {}
    s: list[str] = []
    if metrics.get("synthetic"):
        s.append("These results are on **SYNTHETIC** data, not real measurements.")
    if not by_val:
        s.append("No model has a validation score, so no model can be recommended.")
        return " ".join(s), None
    chosen = by_val[0]
    bb = best_baseline(metrics)
    kind = kinds.get(chosen, "baseline")
    kind_text = {"baseline": "a baseline", "network": "a network",
                 "ensemble": "an ensemble of network seeds"}[kind]
    s.append(f"The lowest validation RMSE, {_f(_score(models, chosen, 'val'))} {UNIT}, is that "
             f"of **{chosen}** ({kind_text}), among the {len(by_val)} models scored.")

    test = (models.get(chosen) or {}).get("test") or {}
    split = (metrics.get("splits") or {}).get("test") or {}
    if _num(test.get("rmse")) is not None:
        period = f" ({split['start']} to {split['end']})" if split.get("start") else ""
        text = (f"On the test period{period} its RMSE is {_f(test['rmse'])} {UNIT} (95 % CI "
                f"{_ci(test.get('rmse_ci'))})")
        if _num(test.get("skill")) is not None:
            text += (f", a skill of {_pct(test['skill'], signed=True)} against persistence "
                     f"(RMSE {_f(test.get('rmse_reference'))} {UNIT})")
        else:
            text += ", with no persistence reference to compute a skill"
        s.append(text + ".")
        by_test = ranked(models, "test")
        if by_test and by_test[0] == chosen:
            s.append("The test year confirms the choice: no model is more accurate there.")
        elif by_test:
            other = by_test[0]
            rmse_other = _score(models, other, "test")
            ci = test.get("rmse_ci") or [None, None]
            lo, hi = _num(ci[0]), _num(ci[1])
            inside = lo is not None and hi is not None and lo <= rmse_other <= hi
            digits = 1 if _f(rmse_other) != _f(test["rmse"]) else 2
            s.append(f"The test year does not confirm the ranking: **{other}** is more accurate "
                     f"there ({_f(rmse_other, digits)} against {_f(test['rmse'], digits)} {UNIT}, "
                     + ("inside the chosen model's 95 % CI, so the two are not clearly "
                        "different)." if inside else "outside the chosen model's 95 % CI)."))
    else:
        s.append("It has no test score, so the test year can neither confirm nor refute it.")

    if kind == "network":
        summary = (metrics.get("networks") or {}).get(_base_name(chosen)) or {}
        if (summary.get("seeds") or 0) > 1 and _num(summary.get("test_rmse_mean")) is not None:
            s.append(f"Over its {summary['seeds']} seeds, {_base_name(chosen)} has a test RMSE "
                     f"of {_f(summary['test_rmse_mean'])} ± {_f(summary.get('test_rmse_std'))} "
                     f"{UNIT}, so picking one seed by validation is partly luck.")

    recommended = chosen
    nets = [m for m in by_val if kinds.get(m) in ("network", "ensemble")]
    if bb is None:
        s.append("No baseline was run, so the gain over a simple reference cannot be judged.")
    elif kind == "baseline":
        if chosen != "persistence":
            c = comparison(metrics, "persistence", against=chosen)
            if c and _num(c.get("rmse_diff")) is not None:
                if _num(c["rmse_diff"]) > 0 and _is_significant(c):
                    s.append(f"It beats persistence significantly on the test year "
                             f"(persistence minus {chosen}: {_diff_clause(c)}).")
                elif _num(c["rmse_diff"]) > 0:
                    s.append(f"Its gain over persistence on the test year is not significant "
                             f"(persistence minus {chosen}: {_diff_clause(c)}).")
                else:
                    s.append(f"Persistence is at least as accurate on the test year "
                             f"(persistence minus {chosen}: {_diff_clause(c)}).")
        if nets:
            bn = nets[0]
            c = comparison(metrics, bn, against=bb)
            head = (f"The best network by validation, **{bn}** (validation RMSE "
                    f"{_f(_score(models, bn, 'val'))}, test RMSE {_f(_score(models, bn, 'test'))} "
                    f"{UNIT})")
            if c and _num(c.get("rmse_diff")) is not None and _num(c["rmse_diff"]) < 0 \
                    and _is_significant(c):
                s.append(f"{head}, is significantly more accurate than {bb} on the test year "
                         f"({_diff_clause(c)}) although not on validation; the selection rule "
                         f"keeps {bb}, but the networks deserve a second look.")
            else:
                if c and _num(c.get("rmse_diff")) is not None:
                    d = _num(c["rmse_diff"])
                    how = (f"is worse than {bb} on the test year" if d >= 0 else
                           f"is better than {bb} on the test year only insignificantly")
                    s.append(f"{head}, {how} ({_diff_clause(c)}"
                             + (", significant)." if _is_significant(c) else ")."))
                else:
                    s.append(f"{head}, does not beat {bb} on validation.")
                s.append(f"**The deep models did not earn their place**: {bn} costs "
                         f"{_cost(models, bn)} against {_cost(models, bb)} for {bb}; "
                         f"recommend the baseline **{bb}**.")
        elif failed:
            s.append("No network produced a forecast, so this verdict compares baselines only.")
        else:
            s.append("No network was run, so this verdict compares baselines only.")
    else:
        c = comparison(metrics, chosen, against=bb)
        d = _num((c or {}).get("rmse_diff"))
        cost = f"{chosen} costs {_cost(models, chosen)} against {_cost(models, bb)} for {bb}"
        if c is None or d is None:
            s.append(f"There is no test comparison with the best baseline, {bb}, so the gain "
                     f"cannot be judged; {cost}.")
        elif d < 0 and _is_significant(c):
            ref = _score(models, bb, "test")
            rel = f" ({_pct(-d / ref)} lower)" if ref else ""
            ratio = _ratio_clause(models, chosen, bb)
            s.append(f"Its gain over the best baseline, **{bb}** (test RMSE {_f(ref)} {UNIT}), "
                     f"is {_f(-d)} {UNIT}{rel} and significant ({_diff_clause(c)}). "
                     f"The deep model earns its place on accuracy; weigh that against its "
                     f"cost: {cost}" + (f", {ratio}" if ratio else "") + ".")
        elif d < 0:
            recommended = bb
            s.append(f"Its gain over the best baseline, **{bb}**, is not significant "
                     f"({_diff_clause(c)}). **The deep models did not earn their place**: "
                     f"recommend the baseline **{bb}**, as accurate within the uncertainty at "
                     f"a fraction of the cost ({cost}).")
        else:
            recommended = bb
            s.append(f"On the test year it is worse than the best baseline, **{bb}** "
                     f"({_diff_clause(c)}). **The deep models did not earn their place**: "
                     f"recommend the baseline **{bb}** ({cost}).")
    if failed:
        listed = "; ".join(f"{name} ({_short(reason)})" for name, reason in sorted(failed.items()))
        s.append(f"{len(failed)} model run(s) failed: {listed}.")
    if metrics.get("mode") == "forecast":
        s.append("Scores are in forecast mode, which " + FORECAST_MODE_LABEL + ".")
    s.append(f"**Recommendation: {recommended}.**")
    return " ".join(s), recommended


def _short(text, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- figures


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
    v = np.asarray([x for x in values if _num(x) is not None and x > 0], dtype=float)
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


def _test_series(predictions: pd.DataFrame, models: list[str]) -> pd.DataFrame | None:
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
    seasons = [s for s in SEASON_ORDER if any(s in v for v in data.values())]
    if not seasons:
        return None
    fig = _new_figure(5.2, 2.9)
    ax = fig.subplots()
    width = 0.8 / len(featured)
    for i, m in enumerate(featured):
        heights = [_num((data[m].get(s) or {}).get("rmse")) or 0.0 for s in seasons]
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
        heights = [_num(scores[m].get(k)) or 0.0 for k in keys]
        ax.bar(np.arange(3) + (i - (len(featured) - 1) / 2) * width, heights, width, label=m,
               color=COLORS[i % len(COLORS)])
    ax.set_xticks(np.arange(3), ["POD (higher\nis better)", "FAR (lower\nis better)",
                                 "CSI (higher\nis better)"])
    ax.set_ylim(0, 1)
    fig.legend(loc="outside upper center", ncol=min(4, len(featured)), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, figures, "exceedance.png")


# ---------------------------------------------------------------- sections


def _curve_groups(run: Run) -> dict[str, list[str]]:
    """Network name -> entries that have a curve file (the ensemble has none)."""
    folder = run.path / "curves"
    groups: dict[str, list[str]] = {}
    for name, summary in (run.metrics.get("networks") or {}).items():
        entries = [e for e in (summary or {}).get("entries") or []
                   if not str(e).endswith("_ensemble") and (folder / f"{e}.csv").is_file()]
        if entries:
            groups[name] = entries
    if not groups and folder.is_dir():
        files = sorted(p.stem for p in folder.glob("*.csv"))
        for stem in files:
            base = _base_name(stem)
            if stem == base and any(f != stem and _base_name(f) == base for f in files):
                continue  # curves/NAME.csv is a copy of the first seed's
            groups.setdefault(base, []).append(stem)
    return groups


def section_run(doc: Doc, run: Run) -> None:
    m = run.metrics
    data = m.get("data") or {}
    doc.heading(2, "What was run", "what-was-run")
    if m.get("synthetic"):
        doc.para("SYNTHETIC DATA: every number below describes a simulated data set, not real "
                 "air quality.", "banner")
    stations = m.get("stations") or data.get("stations") or []
    mode = m.get("mode") or DASH
    mode_text = (f"forecast — perfect prognosis: {FORECAST_MODE_LABEL}" if mode == "forecast"
                 else "observed — inputs use information up to the issue day only"
                 if mode == "observed" else str(mode))
    min_hours = _num(data.get("min_hours"))
    networks = m.get("networks") or {}
    seeds = sorted({int(s["seeds"]) for s in networks.values()
                    if (_num((s or {}).get("seeds")) or 0) > 0})
    seed_text = f"base seed {m.get('seed', DASH)}"
    if seeds:
        seed_text += f"; networks trained with {', '.join(map(str, seeds))} seed(s) each"
    training = run.config.get("training") or {}
    if not seeds and _num(training.get("seeds")) is not None:
        seed_text += f"; configured network seeds: {training['seeds']} (no network ran)"
    evaluation = run.config.get("evaluation") or {}
    rows = [
        ["Data set", f"{m.get('dataset', DASH)}" + (" (**SYNTHETIC**)" if m.get("synthetic")
                                                     else "")],
        ["Period (hourly data)", f"{data.get('start', DASH)} to {data.get('end', DASH)}"],
        [f"Station{'s' if len(stations) != 1 else ''}", ", ".join(map(str, stations)) or DASH],
        ["Target", f"daily-mean PM2.5 ({UNIT}) of day D+{m.get('horizon', 1)}, issued at the "
                   "end of day D"],
        ["Mode", mode_text],
        ["Completeness rule", (f"a daily mean is valid with at least {int(min_hours)} of 24 "
                               f"hourly values ({_pct(min_hours / 24)})") if min_hours else DASH],
        ["Seeds", seed_text],
        ["Features", f"{len(m.get('features') or [])} tabular"
         + (f", {len(m['sequence_features'])} per step of the sequences"
            if m.get("sequence_features") else "")],
        ["Uncertainty", "95 % moving-block bootstrap over dates"
         + (f" ({evaluation['n_boot']} resamples)" if evaluation.get("n_boot") else "")
         + "; Diebold–Mariano test against the best baseline"],
        ["Wall time", _seconds(m.get("wall_seconds"))],
    ]
    doc.table(["Item", "Value"], rows, align="ll", wrap=True)
    splits = m.get("splits") or {}
    doc.table(["Split", "From", "To", "Scored days"],
              [[name, str(s.get("start", DASH)), str(s.get("end", DASH)),
                _int(s.get("scored_days"))] for name, s in splits.items()],
              align="lllr", caption="Chronological splits by target day (scored = valid target)")
    versions = m.get("versions") or {}
    if versions:
        doc.para("Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
                 "note")
    files = data.get("files") or {}
    if files:
        doc.table(["File", "SHA-256"], [[str(k), str(v)] for k, v in files.items()],
                  align="ll", caption="Input files", wrap=True)
    units = data.get("units") or {}
    if units:
        doc.para("Units of the source: " + "; ".join(f"{k}: {v}" for k, v in units.items())
                 + ".", "note")


def section_leaderboard(doc: Doc, run: Run, kinds: dict[str, str], bb: str | None) -> None:
    models = run.models
    doc.heading(2, "Leaderboard", "leaderboard")
    doc.para(f"Sorted by validation RMSE ({UNIT}); test columns are the held-out year. "
             f"Skill = 1 − RMSE / RMSE of persistence on the same days. DM p and "
             f"significance compare each model with the best baseline"
             + (f" (**{bb}**)" if bb else "") + " on the test year: significant when the "
             "95 % CI of the RMSE difference excludes 0 and DM p < 0.05.", "note")
    order = ranked(models, "val") + [m for m in models if _score(models, m, "val") is None]
    rows: list[tuple[float, list[str]]] = []
    for m in order:
        test = (models[m] or {}).get("test") or {}
        info = _info(models, m)
        c = comparison(run.metrics, m, against=bb) if bb else None
        if m == bb:
            dm, sig = "reference", "—"
        elif c is None:
            dm, sig = DASH, DASH
        else:
            dm = _p(c.get("dm_p_value"))
            d = _num(c.get("rmse_diff"))
            sig = ("yes, better" if d is not None and d < 0 else "yes, worse") \
                if _is_significant(c) else "no"
        label = f"**{m}**" if m == bb else m
        val = _score(models, m, "val")
        rows.append((val if val is not None else math.inf, [
            label, kinds.get(m, DASH), _f(val),
            f"{_f(test.get('rmse'))} [{_ci(test.get('rmse_ci'))}]" if test else DASH,
            _f(test.get("mae")), _f(test.get("r2"), 3), _signed(test.get("bias")),
            _pct(test.get("skill"), 1, signed=True), dm, sig,
            _int(info.get("n_parameters")), _seconds(info.get("fit_seconds"))]))
    for name, s in (run.metrics.get("networks") or {}).items():
        if (s or {}).get("seeds", 0) > 1 and _num(s.get("val_rmse_mean")) is not None:
            rows.append((_num(s["val_rmse_mean"]), [
                f"{name} ({s['seeds']} seeds)", "network (seeds)",
                f"{_f(s['val_rmse_mean'])} ± {_f(s.get('val_rmse_std'))}",
                f"{_f(s.get('test_rmse_mean'))} ± {_f(s.get('test_rmse_std'))}",
                DASH, DASH, DASH, DASH, DASH, DASH, DASH, DASH]))
    rows.sort(key=lambda r: r[0])
    doc.table(["Model", "Kind", "Val RMSE", "Test RMSE [95 % CI]", "MAE", "R²", "Bias",
               "Skill", "DM p", "Significant?", "Parameters", "Training time"],
              [r[1] for r in rows], align="llrrrrrrrlrr")
    failed = run.metrics.get("failed") or {}
    if failed:
        doc.para("Failed model runs (not in the table):")
        doc.bullets([f"**{name}**: {_short(reason, 400)}" for name, reason in
                     sorted(failed.items())])


def section_curves(doc: Doc, run: Run, figures: Path) -> None:
    groups = _curve_groups(run)
    diagnoses = (run.metrics.get("diagnostics") or {}).get("curves") or {}
    doc.heading(2, "Training curves", "curves")
    if not groups:
        doc.para("No network was trained in this run, so there are no training curves.")
        return
    doc.para("Losses are mean squared errors on the scaled target (train loss is averaged "
             "over the epoch with dropout on; validation loss is measured after it). The "
             "lower panel shows the epoch-mean gradient norm before clipping.", "note")
    for network, entries in groups.items():
        curves = {}
        for entry in entries:
            frame = _read_csv(run.path / "curves" / f"{entry}.csv")
            if frame is not None:
                curves[entry] = frame
        doc.heading(3, f"{network}", f"curves-{network}")
        doc.figure(figure_curves(network, curves, figures),
                   f"{network}: per-epoch train and validation loss of "
                   f"{len(curves)} run(s), gradient norm below")
        items = []
        for entry in entries:
            d = diagnoses.get(entry) or {}
            frame = curves.get(entry)
            lr = ""
            if frame is not None and "lr" in frame and frame["lr"].notna().any():
                lr = (f" Learning rate {frame['lr'].iloc[0]:.3g} → "
                      f"{frame['lr'].dropna().iloc[-1]:.3g} over {len(frame)} epochs.")
            if d:
                best = f" (best epoch {d['best_epoch']})" if d.get("best_epoch") is not None \
                    else ""
                text = str(d.get("text", "")).strip()
                if text and text[-1] not in ".!?":
                    text += "."
                items.append(f"**{entry}** — {d.get('verdict', DASH)}{best}: {text}{lr}")
            else:
                items.append(f"**{entry}** — no diagnosis recorded.{lr}")
        doc.bullets(items)


def section_capacity(doc: Doc, run: Run, figures: Path) -> None:
    diag = run.metrics.get("diagnostics") or {}
    sweep = _read_csv(run.path / "diagnostics" / "capacity_sweep.csv")
    curve = _read_csv(run.path / "diagnostics" / "learning_curve.csv")
    cap, lc = diag.get("capacity_sweep") or {}, diag.get("learning_curve") or {}
    if sweep is None and curve is None and not cap and not lc:
        return
    doc.heading(2, "Capacity and data", "capacity")
    doc.heading(3, "Capacity sweep" + (f" ({cap['model']})" if cap.get("model") else ""))
    if sweep is not None:
        doc.figure(figure_capacity(sweep, figures),
                   "Best train and validation loss against the number of parameters")
        cols = [c for c in ("hidden", "layers", "n_parameters", "best_train_loss",
                            "best_val_loss", "best_epoch") if c in sweep]
        doc.table(cols, [[_fmt_cell(row[c], c) for c in cols] for _, row in sweep.iterrows()],
                  align="r" * len(cols))
    if cap.get("text"):
        doc.para(str(cap["text"]))
    if sweep is None and not cap.get("text"):
        doc.para("No capacity sweep was run.")
    doc.heading(3, "Learning curve" + (f" ({lc['model']})" if lc.get("model") else ""))
    if curve is not None:
        doc.figure(figure_learning_curve(curve, figures),
                   "Best train and validation loss against the training-set size")
        cols = [c for c in ("fraction", "n_train", "best_train_loss", "best_val_loss")
                if c in curve]
        doc.table(cols, [[_fmt_cell(row[c], c) for c in cols] for _, row in curve.iterrows()],
                  align="r" * len(cols))
    if lc.get("text") or lc.get("verdict"):
        doc.para((f"**{lc['verdict']}**: " if lc.get("verdict") else "") + str(lc.get("text", "")))
    if curve is None and not lc:
        doc.para("No learning curve was run.")


def _fmt_cell(value, column: str) -> str:
    if column in ("hidden", "layers", "n_parameters", "best_epoch", "n_train"):
        return _int(value)
    if column == "fraction":
        return _pct(value)
    return _f(value, 4)


def section_test(doc: Doc, run: Run, figures: Path, featured: list[str],
                 kinds: dict[str, str]) -> None:
    models = run.models
    doc.heading(2, "The test period in detail", "test")
    stations = run.metrics.get("stations") or []
    threshold = LIMIT_24H
    for m in featured:
        t = _num(((models[m].get("test") or {}).get("exceedance") or {}).get("threshold"))
        if t is not None:
            threshold = t
            break
    if run.predictions is not None and featured:
        series = _test_series(run.predictions, featured)
        if series is not None:
            where = (f"mean over the {len(stations)} stations" if len(stations) > 1
                     else f"station {stations[0]}" if stations else "all rows")
            doc.figure(figure_timeseries(series, featured, figures, threshold),
                       f"Observed and forecast daily-mean PM2.5 on the test period ({where}); "
                       f"dotted line: {threshold:g} {UNIT}")
            doc.figure(figure_scatter(series, featured, figures, threshold),
                       f"Forecast against observed ({where}); black line: perfect forecast")
    else:
        doc.para("predictions.csv is missing, so the time series and scatter plots are "
                 "not drawn.", "note")
    doc.heading(3, "By season")
    doc.figure(figure_seasons(models, featured, figures),
               "Test RMSE by meteorological season (DJF winter … SON autumn)")
    rows = []
    for m in featured:
        by = (models[m].get("test") or {}).get("by_season") or {}
        rows.append([m] + [f"{_f((by.get(s) or {}).get('rmse'))} (bias "
                           f"{_signed((by.get(s) or {}).get('bias'))})" if s in by else DASH
                           for s in SEASON_ORDER])
    doc.table(["Model"] + [f"{s} RMSE" for s in SEASON_ORDER], rows,
              caption=f"Test RMSE and bias by season ({UNIT})")
    doc.heading(3, f"Exceedance of {threshold:g} {UNIT} and index categories")
    doc.figure(figure_exceedance(models, featured, figures),
               f"Skill at forecasting a daily mean above {threshold:g} {UNIT} on the test year")
    rows = []
    for m in ranked(models, "val"):
        test = models[m].get("test") or {}
        e = test.get("exceedance") or {}
        if not test:
            continue
        rows.append([m, kinds.get(m, DASH), _int(e.get("hits")), _int(e.get("misses")),
                     _int(e.get("false_alarms")), _f(e.get("pod"), 2), _f(e.get("far"), 2),
                     _f(e.get("csi"), 2), _pct(test.get("category_accuracy"), 1)])
    doc.table(["Model", "Kind", "Hits", "Misses", "False alarms", "POD", "FAR", "CSI",
               "Category accuracy"], rows, align="llrrrrrrr",
              caption="POD = hits / observed events; FAR = false alarms / forecast events; "
                      "CSI = hits / (hits + misses + false alarms); category accuracy = share "
                      "of days in the right Chinese PM2.5 index band")


def section_backtest(doc: Doc, run: Run) -> None:
    backtest = run.metrics.get("backtest") or []
    if not backtest:
        return
    doc.heading(2, "Rolling-origin backtest", "backtest")
    frame = pd.DataFrame(backtest)
    if not {"fold", "model", "rmse"} <= set(frame.columns):
        return
    frame["fold"] = frame["fold"].astype(str)
    order = list(dict.fromkeys(frame["model"]))
    rows = []
    for fold, part in frame.groupby("fold", sort=True):
        scores = dict(zip(part["model"], part["rmse"], strict=True))
        finite = {k: v for k, v in scores.items() if _num(v) is not None}
        best = min(finite, key=finite.get) if finite else None
        first = part.iloc[0]
        rows.append([fold, str(first.get("train_end", DASH)), str(first.get("test_end", DASH)),
                     _int(part["n"].max()) if "n" in part else DASH]
                    + [(f"**{_f(scores[m])}**" if m == best else _f(scores[m]))
                       if m in scores else DASH for m in order]
                    + [best or DASH])
    doc.para(f"Expanding window, one fold per test year; each model refitted per fold "
             f"(networks with one seed). Test RMSE in {UNIT}, best of each fold in bold.",
             "note")
    doc.table(["Fold", "Train end", "Test end", "Days"] + order + ["Best"], rows,
              align="lllr" + "r" * len(order) + "l")
    wins = pd.Series([r[-1] for r in rows]).value_counts()
    doc.para("Folds won: " + ", ".join(f"{m} {n}" for m, n in wins.items()) + ".")


def section_quality(doc: Doc, run: Run) -> None:
    data = run.metrics.get("data") or {}
    doc.heading(2, "Data quality", "data-quality")
    rows_n, missing = _num(data.get("hourly_rows")), _num(data.get("missing_pm25"))
    days, valid = _num(data.get("days")), _num(data.get("valid_days"))
    rows = [
        ["Hourly rows", _int(rows_n)],
        ["Missing hourly PM2.5", f"{_int(missing)}"
         + (f" ({_pct(missing / rows_n, 1)})" if rows_n and missing is not None else "")],
        ["Negative PM2.5 values (set to missing)", _int(data.get("negative_pm25"))],
        ["Station-days", _int(days)],
        ["Valid station-days", f"{_int(valid)}"
         + (f" ({_pct(valid / days, 1)})" if days and valid is not None else "")],
    ]
    if _num(data.get("min_hours")):
        rows.append(["Completeness rule", f"≥ {int(data['min_hours'])} of 24 hourly values"])
    n_stations = max(1, len(run.metrics.get("stations") or data.get("stations") or []))
    for name, s in (run.metrics.get("splits") or {}).items():
        scored = _num(s.get("scored_days"))
        try:
            span = (pd.Timestamp(s["end"]) - pd.Timestamp(s["start"])).days + 1
        except (KeyError, TypeError, ValueError):
            span = None
        share = f" of {span * n_stations:,} station-days ({_pct(scored / (span * n_stations), 1)})" \
            if span and scored is not None else ""
        rows.append([f"Scored days, {name}", f"{_int(scored)}{share}"])
    doc.table(["Quantity", "Value"], rows, align="ll", wrap=True)
    section_flags(doc, run.metrics.get("quality"), run.models)


def section_flags(doc: Doc, quality: dict | None, models: dict) -> None:
    """What the data-quality stage set missing, and network forecasts at the output clip."""
    from .quality import REASON_TEXT

    doc.heading(3, "Impossible values")
    if quality is None:
        doc.para("This run predates the data-quality checks.", "note")
    elif not quality["flags"]:
        doc.para(f"The quality checks (missing-value codes, physical bounds, dew point above "
                 f"temperature, stuck PM2.5 monitors) flagged nothing in "
                 f"{_int(quality['checked_rows'])} hourly rows.")
    else:
        doc.para(f"{_int(quality['total'])} hourly value(s) were impossible and were set "
                 "missing before any aggregate, feature or model saw them (rows are kept):")
        doc.table(["Column", "Reason", "Values", "First (station, time, value)"],
                  [[f["column"], REASON_TEXT.get(f["reason"], f["reason"]), _int(f["count"]),
                    f"{f['station']}, {f['time']}, {f['value']}"] for f in quality["flags"]],
                  align="llrl")
    if quality is not None and quality["dropped_columns"]:
        doc.para("Treated as absent, no valid value left: "
                 + ", ".join(quality["dropped_columns"]) + ".", "note")
    clipped = {name: int(entry["info"]["forecasts_at_output_clip"])
               for name, entry in models.items()
               if "forecasts_at_output_clip" in (entry.get("info") or {})}
    if clipped:
        hits = {name: n for name, n in clipped.items() if n}
        doc.para("Network forecasts that reached the output clip (training targets' range "
                 "± 3 sd, a sign of inputs the network cannot handle): "
                 + (", ".join(f"{name} {n}" for name, n in sorted(hits.items())) if hits
                    else "none") + ".")


# ---------------------------------------------------------------- the report


def build(run: Run, figures: Path) -> tuple[Doc, str]:
    m = run.metrics
    models = run.models
    kinds = model_kinds(m)
    bb = best_baseline(m)
    text, recommended = verdict(m)
    title = "PM2.5 forecast validation report"
    if m.get("dataset"):
        title += f": {m['dataset']}"
    if m.get("synthetic"):
        title += " (SYNTHETIC data)"
    doc = Doc()
    doc.heading(1, title)
    if m.get("synthetic"):
        doc.para("SYNTHETIC DATA — simulated, not real measurements.", "banner")
    if m.get("mode") == "forecast":
        doc.para("Forecast mode (perfect prognosis): the model " + FORECAST_MODE_LABEL + ".",
                 "banner")
    doc.heading(2, "Verdict", "verdict")
    doc.para(text, "verdict")
    section_run(doc, run)
    section_leaderboard(doc, run, kinds, bb)
    section_curves(doc, run, figures)
    section_capacity(doc, run, figures)
    by_val = ranked(models, "val")
    nets = [x for x in by_val if kinds.get(x) != "baseline"]
    featured = list(dict.fromkeys(x for x in (by_val[:1] + ([bb] if bb else []) + nets[:1]
                                              + (["persistence"] if "persistence" in models
                                                 else []) + ([recommended] if recommended
                                                             else []))
                                  if x in models))
    if featured:
        section_test(doc, run, figures, featured, kinds)
    section_backtest(doc, run)
    section_quality(doc, run)
    return doc, title


def write_report(run_dir) -> tuple[Path, Path]:
    """Write ``figures/*.png``, ``report.md`` and ``report.html`` into ``run_dir``.

    Reads only the run directory; returns ``(html_path, md_path)``. Calling it again
    rewrites the same files with the same content.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    figures = run_dir / "figures"
    figures.mkdir(exist_ok=True)
    doc, title = build(run, figures)
    md_path, html_path = run_dir / "report.md", run_dir / "report.html"
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    html_path.write_text(render_html(doc, figures, title), encoding="utf-8")
    return html_path, md_path
