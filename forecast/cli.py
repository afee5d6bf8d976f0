"""The ``forecast`` command: ``data``, ``run``, ``train``, ``report`` and ``predict``.

User errors (bad data, a config typo, an unknown model) end with one line on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from .config import CHOICES, DEFAULTS, FREE_TABLES, RANGES, load_config, validate
from .errors import DataError, Interrupted, catch_signal, clear_signal
from .flag_help import FLAG_HELP
from .registry import default_models
from .sources import parse_dataset_spec

# Flags named in the README; every other option gets --KEY (or --SECTION-KEY when the
# key is not unique), generated from the defaults so that no option lacks a flag.
ALIASES = {("data", "dataset"): "--dataset", ("data", "data_dir"): "--data-dir",
           ("models", "names"): "--models", ("task", "mode"): "--mode",
           ("run", "seed"): "--seed", ("run", "out"): "--out"}
# The element type of a list option whose default is empty (others: the default's).
LIST_TYPES = {("task", "train_issue_hours"): int}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        print(f"forecast: error: {message} (see forecast {self.prog.split()[-1]} --help)"
              if " " in self.prog else f"forecast: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _option_flags() -> list[tuple[str, str, str, object]]:
    counts: dict[str, int] = {}
    for table in DEFAULTS.values():
        for key in table:
            counts[key] = counts.get(key, 0) + 1
    flags = []
    for section, table in DEFAULTS.items():
        for key, default in table.items():
            if (section, key) in FREE_TABLES or isinstance(default, dict):
                continue
            flag = ALIASES.get((section, key)) or (
                f"--{key}" if counts[key] == 1 else f"--{section}-{key}").replace("_", "-")
            flags.append((flag, section, key, default))
    return flags


def _list_parser(default: list, kind: type | None = None):
    kind = kind or (type(default[0]) if default else str)

    def parse(text: str):
        try:
            return [kind(item.strip()) for item in text.split(",") if item.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__}") from None
    return parse


def _named(what: str):
    """The type of a flag whose value names a ``what`` (file, folder): an empty one ('--out
    ""', an unset shell variable) was taken as the flag not given, or as the current
    folder, so that nothing was read or written where asked."""
    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected a {what} name, not an empty string")
        return text
    return check


_file_name, _folder_name = _named("file"), _named("folder")


def _cost_loss(text: str) -> float:
    """``forecast predict --warning-cost-loss``: a number ``evaluation.warning_cost_loss``
    may be (its rule in :data:`~forecast.config.RANGES`)."""
    try:
        ratio = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    allowed, what = RANGES[("evaluation", "warning_cost_loss")]
    if not allowed(ratio):
        raise argparse.ArgumentTypeError(f"{text}: expected {what}")
    return ratio


# The type of a string option whose value may not be empty (others: str).
STRING_TYPES = {("run", "out"): _folder_name}


def _add_config_flags(parser: argparse.ArgumentParser, only: set[str] | None = None) -> None:
    parser.add_argument("--config", type=_file_name,
                        help="TOML configuration file (see configs/example.toml)")
    for flag, section, key, default in _option_flags():
        if only is not None and flag not in only:
            continue
        dest = f"opt__{section}__{key}"
        helptext = (FLAG_HELP[(section, key)].replace("%", "%%")   # argparse formats help with %
                    + f"; [{section}] {key} (default: {default!r})")
        if (section, key) == ("models", "names"):
            added = [n for n in default_models("forecast") if n not in default]
            helptext = helptext[:-1] + f"; forecast mode adds {', '.join(map(repr, added))})"
        if isinstance(default, bool):
            parser.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction,
                                default=None, help=helptext)
        elif isinstance(default, list):
            metavar = "A,B,..."
            if (section, key) == ("task", "heating_season"):
                metavar = "MM-DD,MM-DD"
                helptext += ": its first and last day, two MM-DD days (may wrap the new year)"
            parser.add_argument(flag, dest=dest,
                                type=_list_parser(default, LIST_TYPES.get((section, key))),
                                default=None, metavar=metavar, help=helptext)
        else:
            choices = CHOICES.get((section, key))
            metavar = "{" + ",".join(choices) + "}" if choices else key.upper()
            if (section, key) == ("data", "dataset"):
                metavar = "{beijing,beijing-multisite,synthetic,csv:PATH}"
            parser.add_argument(flag, dest=dest,
                                type=STRING_TYPES.get((section, key), type(default)),
                                default=None, metavar=metavar, help=helptext)


def _overrides(args: argparse.Namespace) -> dict:
    overrides: dict = {}
    for name, value in vars(args).items():
        if not name.startswith("opt__") or value is None:
            continue
        _, section, key = name.split("__")
        if (section, key) == ("data", "dataset"):
            value, path = parse_dataset_spec(value)
            if path:
                overrides.setdefault("data", {})["path"] = path
        overrides.setdefault(section, {})[key] = value
    return overrides


def _config(args: argparse.Namespace) -> dict:
    return load_config(args.config, _overrides(args))


# ---------------------------------------------------------------- commands


def cmd_data(args: argparse.Namespace) -> int:
    from . import daily
    from .pipeline import load_data

    config = _config(args)
    loaded, frame = load_data(config, notes_to_stderr=False,     # in the summary below
                              summary_only=True)
    summary = {"dataset": loaded.dataset, "synthetic": loaded.synthetic,
               **daily.summarise(loaded.hourly, frame, loaded.quality), "files": loaded.files,
               "conversions": loaded.notes, "quality": loaded.quality.to_dict()}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    label = " (SYNTHETIC data)" if loaded.synthetic else ""
    print(f"dataset        {loaded.dataset}{label}")
    print(f"stations       {len(summary['stations'])}: {', '.join(summary['stations'])}")
    print(f"period         {summary['start']} .. {summary['end']}")
    print(f"hourly rows    {summary['hourly_rows']:,}")
    print(f"missing PM2.5  {summary['missing_pm25']:,} hours "
          f"(after the quality checks; {summary['negative_pm25']:,} of them negative)"
          + (f", and {summary['hours_without_row']:,} hours without a row"
             if summary["hours_without_row"] else ""))
    periods = summary["station_periods"]
    if len(periods) > 1 and len({tuple(p) for p in periods.values()}) > 1:
        for station, (first, last) in list(periods.items())[:20]:   # (all in --json)
            print(f"  {station}  {first} .. {last}")
        if len(periods) > 20:
            print(f"  … and {len(periods) - 20} more stations (--json lists them all)")
    print(f"station-days   {summary['days']:,}")
    print(f"valid days     {summary['valid_days']:,} (≥ {config['data']['min_hours']} hourly values)")
    for note in loaded.notes:
        print(f"converted      {note}")
    _print_quality(loaded.quality)
    for path, digest in loaded.files.items():
        print(f"verified       {path}  sha256 {digest[:16]}…")
    return 0


def _print_quality(report) -> None:
    from .quality import REASON_TEXT

    if not report.flags:
        print(f"quality        no impossible value in {report.checked_rows:,} hourly rows")
        return
    print(f"quality        {report.total:,} value(s) flagged and set missing:")
    for flag in report.flags:
        print(f"  {flag.column:<12} {flag.count:>8,}  {REASON_TEXT.get(flag.reason, flag.reason)}"
              f", first {flag.value!r} at {flag.station} {flag.time}")
    for column in report.dropped_columns:
        print(f"  {column:<12} no valid value left: treated as absent")


def cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run
    from .report import Run, at_a_glance
    from .report.format import forecast_mode_label
    from .results import RunResult

    run_dir = run(_config(args))
    # the verdict at a glance after the progress, on stdout as it is; the run directory
    # stays the last line, for scripts (run=$(forecast run ... | tail -1))
    result = RunResult.read(run_dir)
    if result.synthetic:
        print("SYNTHETIC data: simulated, not real measurements")
    if result.mode == "forecast":
        print(f"Forecast mode: the model {forecast_mode_label(result.config)}")
    for question, answer in at_a_glance(Run(run_dir, result, None),
                                        result.recommendation.get("model")):
        print(question + (" " if question.endswith("?") else ": ") + answer.replace("**", ""))
    print(f"Report: {run_dir / 'report.html'}")
    print(run_dir)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """One network fitted on the main split by one Lightning ``Trainer``: the command that
    Lightning's launchers spread over several GPUs (``--strategy ddp --devices N``) or
    machines (``torchrun``, ``srun``). Rank 0 prints the result and saves the network."""
    import numpy as np
    from lightning.pytorch.utilities import rank_zero_only

    import models

    from . import registry
    from .pipeline import load_data, make_task
    from .task import drop_uninformative

    config = _config(args)
    if registry.kind_of(args.network) != "network":
        raise DataError(f"{args.network!r} is not a network; forecast train fits one of "
                        f"{', '.join(registry.NETWORK_MODELS)}")
    # the task builds what this network reads (the hourly window, the target day's
    # hours), whatever the model list says; a by-hour network needs forecast mode
    config["models"]["names"] = [args.network]
    validate(config)
    from models.training import check_hardware

    check_hardware(config["training"])
    if args.save:
        _check_writable(Path(args.save))        # before the fit, not after it
    # the hourly record and the daily table are not held through the fit (GiBs at
    # hundreds of stations): the task has what the network reads
    task, _ = drop_uninformative(make_task(*load_data(config), config))
    forecaster = models.NetworkForecaster.from_config(args.network, config,
                                                      seed=config["run"]["seed"])
    forecaster.fit(task)
    if rank_zero_only.rank != 0:
        return 0
    val = task.mask("val")
    rmse = float(np.sqrt(np.mean((forecaster.predict(task, val) - task.y[val]) ** 2)))
    info = forecaster.info
    print(f"{args.network}: validation RMSE {rmse:.2f} µg/m³ over {int(val.sum())} "
          f"station-days; best epoch {info['best_epoch']} of {info['epochs_run']}; "
          f"{info['world_size']} process(es); {info['fit_seconds']:.0f} s")
    if args.save:
        path = Path(args.save)
        _write_whole(path, forecaster.save)
        print(f"saved {path}")
    return 0


def _check_writable(path: Path) -> None:
    """One line for a file path that cannot be written: checked before the work whose
    result it is to hold."""
    if not path.parent.is_dir():
        raise DataError(f"{path}: cannot write (no folder {path.parent})")
    if path.is_dir():
        raise DataError(f"{path}: cannot write (a folder)")
    if not os.access(path.parent, os.W_OK):
        raise DataError(f"{path}: cannot write (the folder {path.parent} is not writable)")


def _write_whole(path: Path, write) -> None:
    """``write(partial)``, then the partial file renamed to ``path``: never a half-written
    file under the asked name; one line for a path that cannot be written."""
    _check_writable(path)
    partial = path.with_name(path.name + ".partial")
    try:
        write(partial)
        partial.replace(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    html, md = write_report(Path(args.run_dir))
    if not (Path(args.run_dir) / "predictions.csv").is_file():
        print(f"forecast: warning: {args.run_dir} has no predictions.csv: the report leaves "
              "out the latest test period's time series and scatter plots", file=sys.stderr)
    print(html)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import json

    from .predict import headlines, new_day_scores, predict_latest

    run_dir, out = Path(args.run_dir), Path(args.out) if args.out else None
    if out is not None and out.exists() and out.resolve().is_relative_to(run_dir.resolve()):
        raise DataError(f"{out}: a file of the run {run_dir}; --out must not overwrite it "
                        "(write the forecasts elsewhere)")
    for flag, given in (("--path", args.path), ("--weather", args.weather)):
        if out is not None and given and out.resolve() == Path(given).resolve():
            raise DataError(f"{out}: it is the {flag} file; --out must not overwrite it "
                            "(write the forecasts elsewhere)")
    if out is not None:
        _check_writable(out)                    # before the forecasts, not after them
    table = predict_latest(run_dir, data_dir=args.data_dir, weather=args.weather,
                           since=args.since, path=args.path, cost_loss=args.warning_cost_loss)
    scores, scored = new_day_scores(table) if args.since else (None, None)
    if out is not None:
        _write_whole(out, lambda partial: table.to_csv(partial, index=False))
    if args.json:
        payload = {"threshold": table.attrs["threshold"],
                   "warning_probability": table.attrs.get("warning_probability"),
                   "warning_cost_loss": table.attrs.get("warning_cost_loss"),
                   "headline": headlines(table),
                   "forecasts": json.loads(table.to_json(orient="records"))}
        if scores is not None:
            payload["new_days"] = {"text": scored,
                                   "scores": json.loads(scores.to_json(orient="records"))}
        print(json.dumps(payload, indent=2))
        return 0
    print("\n".join(headlines(table)))
    print()
    if scores is None:
        print(table.to_string(index=False))
        return 0
    print(scored)
    if not scores.empty:
        print()
        print(scores.to_string(index=False, na_rep="—"))
    print()
    print(f"{len(table):,} forecasts (station, issue day, model)"
          + (f" written to {args.out}" if args.out else "; --out FILE writes them as a CSV"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="forecast", description="Forecast tomorrow's daily-mean PM2.5.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    data = commands.add_parser("data", help="fetch, verify and summarise a dataset")
    _add_config_flags(data, only={"--dataset", "--data-dir", "--min-hours", "--stations",
                                  "--synthetic-stations", "--synthetic-start",
                                  "--synthetic-end", "--seed", "--strict", "--sentinels",
                                  "--stuck-hours", "--stuck-floor", "--dewpoint-tolerance",
                                  # reading a CSV of one's own, as forecast run reads it
                                  "--path", "--station", "--station-column", "--time-column",
                                  "--time-columns", "--time-format", "--utc-offset", "--time-zone",
                                  "--time-label", "--parameter-column", "--value-column",
                                  "--stations-in-columns",
                                  "--wind-dir-degrees"})
    data.add_argument("--json", action="store_true", help="print one JSON object")
    data.set_defaults(handler=cmd_data)

    run = commands.add_parser("run", help="run the whole pipeline and write a run directory")
    _add_config_flags(run)
    run.set_defaults(handler=cmd_run)

    train = commands.add_parser(
        "train", help="fit one network on the main split (one GPU, DDP, several machines)")
    train.add_argument("network", help="mlp, gru, lstm, tcn, an hourly network or (forecast "
                       "mode) gru_by_hour")
    train.add_argument("--save", type=_file_name, help="write the fitted network here (a .pt file)")
    _add_config_flags(train)
    train.set_defaults(handler=cmd_train)

    report = commands.add_parser(
        "report", help="rebuild report.html/report.md of a run",
        description="Rebuild report.html and report.md of a finished run from its files.")
    report.add_argument("run_dir", help="the run's folder (as forecast run printed it)")
    report.set_defaults(handler=cmd_report)

    predict = commands.add_parser(
        "predict", help="tomorrow's forecast from a finished run",
        description="Forecast the day after the latest data day with a finished run's "
                    "stored models.")
    predict.add_argument("run_dir", help="the run's folder (as forecast run printed it)")
    predict.add_argument("--data-dir", help="folder with the latest data (default: as the run)")
    predict.add_argument("--weather", metavar="FILE", type=_file_name,
                         help="forecast mode: a CSV of the weather forecast for the hours of "
                              "the day after the data's last day, with a time column (and "
                              "station, temp, dewp, pres, wind_speed, wind_dir, rain, snow, "
                              "or the data's own column names)")
    predict.add_argument("--since", metavar="YYYY-MM-DD",
                         help="forecast every issue day from this day to the latest data day "
                              "and score the models on the target days after the run's data "
                              "(forecast mode: with the data's observed weather of each "
                              "target day, a perfect weather forecast)")
    predict.add_argument("--path", metavar="FILE", type=_file_name,
                         help="a run on a CSV of one's own: read this file (newer data in the "
                              "same format) instead of the run's")
    predict.add_argument("--warning-cost-loss", metavar="C/L", type=_cost_loss,
                         help="warn at the probability with the lowest expense on the run's "
                              "validation years for this cost/loss ratio (acting on a "
                              "warning costs C, an exceedance without one L; 0: the best "
                              "CSI; default: the run's choice)")
    predict.add_argument("--out", metavar="FILE", type=_file_name, help="write the forecasts as a CSV")
    predict.add_argument("--json", action="store_true",
                         help="print one JSON object (headlines and forecasts)")
    predict.set_defaults(handler=cmd_predict)
    return parser


@contextmanager
def stop_on_signals():
    """While inside, SIGINT and SIGTERM raise :class:`Interrupted` at once (in the main
    thread), so every ``finally`` runs: a run's temporary directory is removed and no
    partly trained network is recorded. The previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, catch_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        clear_signal()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            return args.handler(args)
    except DataError as exc:
        print(f"forecast: error: {exc}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt) as exc:
        number = getattr(exc, "signal_number", signal.SIGINT)
        print(f"forecast: interrupted ({signal.Signals(number).name}); nothing was written",
              file=sys.stderr)
        return 128 + int(number)
    except BrokenPipeError:
        # the reader went away (forecast predict RUN | head): no error, and no second
        # one when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if os.environ.get("FORECAST_DEBUG"):
            raise
        print(f"forecast: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
