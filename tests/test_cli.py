"""The ``forecast`` command: ``data --json``, help, and one-line errors for bad input."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tomli_w
import torch

from forecast.cli import _config, build_parser

SUMMARY_KEYS = {"dataset", "stations", "start", "end", "hourly_rows", "missing_pm25", "days",
                "valid_days"}
SHORT = ("--synthetic-start", "2012-01-01", "--synthetic-end", "2012-03-31")


def test_data_json_on_synthetic(cli):
    code, out, err = cli("data", "--dataset", "synthetic", *SHORT, "--json")
    assert code == 0, err
    summary = json.loads(out)                      # one JSON object, nothing else
    assert SUMMARY_KEYS <= set(summary)
    assert summary["dataset"] == "synthetic" and summary["synthetic"] is True
    assert summary["stations"] == ["synthetic-1"]
    assert summary["start"] == "2012-01-01 00:00" and summary["end"] == "2012-03-31 23:00"
    assert summary["hourly_rows"] == 91 * 24
    assert summary["days"] == 91
    assert 0 < summary["valid_days"] <= summary["days"]
    assert 0 < summary["missing_pm25"] < summary["hourly_rows"]
    for key in ("hourly_rows", "missing_pm25", "days", "valid_days"):
        assert type(summary[key]) is int


def test_data_json_counts_stations(cli):
    code, out, _ = cli("data", "--dataset", "synthetic", *SHORT, "--synthetic-stations", "3",
                       "--json")
    summary = json.loads(out)
    assert code == 0
    assert summary["stations"] == ["synthetic-1", "synthetic-2", "synthetic-3"]
    assert summary["hourly_rows"] == 3 * 91 * 24 and summary["days"] == 3 * 91
    _, again, _ = cli("data", "--dataset", "synthetic", *SHORT, "--synthetic-stations", "3",
                      "--json")
    assert json.loads(again) == summary


def test_data_text_output_labels_synthetic(cli):
    code, out, err = cli("data", "--dataset", "synthetic", *SHORT)
    assert code == 0, err
    assert "SYNTHETIC" in out and "hourly rows" in out and "2,184" in out


def test_python_m_forecast_help():
    result = subprocess.run([sys.executable, "-m", "forecast", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("data", "run", "report", "predict"):
        assert command in result.stdout
    sub = subprocess.run([sys.executable, "-m", "forecast", "data", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert sub.returncode == 0 and "--data-dir" in sub.stdout and "--json" in sub.stdout


def test_the_help_of_report_predict_and_heating_season_says_what_they_take():
    """Every argument of report and predict has a description; the dates' forms are said."""
    from forecast.cli import build_parser

    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction)).choices
    for name in ("report", "predict"):
        assert commands[name].description, name
        for action in commands[name]._actions:
            assert action.help, f"{name} {action.dest}"
    predict = commands["predict"].format_help()
    assert "--since YYYY-MM-DD" in predict and "--weather FILE" in predict
    assert "day after the data's last day, with a time" in " ".join(predict.split())
    assert "--heating-season MM-DD,MM-DD" in commands["run"].format_help()


def test_unknown_flag_and_missing_command_are_one_line(cli_error):
    assert "--colour" in cli_error("data", "--colour")
    assert "command" in cli_error()


def test_config_typo_suggests_the_option(tmp_path, cli_error):
    config = tmp_path / "c.toml"
    config.write_text('[data]\ndatset = "synthetic"\n')
    line = cli_error("data", "--config", config)
    assert "data.datset" in line and "did you mean 'dataset'" in line


def test_missing_config_file(tmp_path, cli_error):
    assert "not found" in cli_error("data", "--config", tmp_path / "nope.toml")


def test_unknown_model_name(tmp_path, cli_error):
    out = tmp_path / "reports"
    line = cli_error("run", "--dataset", "synthetic", *SHORT, "--models", "persistence,lstn",
                     "--out", out, progress=True)
    assert "unknown model 'lstn'" in line and "did you mean 'lstm'" in line
    assert not out.exists() or not any(out.iterdir())


def test_unknown_mode(tmp_path, cli_error):
    line = cli_error("run", "--dataset", "synthetic", "--mode", "perfect", "--out", tmp_path,
                     progress=True)
    assert "perfect" in line and "observed" in line and "forecast" in line


def _short_csv(tmp_path, days: int) -> str:
    times = pd.date_range("2012-01-01", periods=24 * days, freq="h")
    path = tmp_path / "short.csv"
    pd.DataFrame({"t": times.astype(str), "PM25": np.linspace(10, 90, len(times))}).to_csv(
        path, index=False)
    config = tmp_path / "short.toml"
    config.write_text(tomli_w.dumps({"data": {"dataset": "csv", "path": str(path),
                                              "time_column": "t",
                                              "columns": {"pm25": "PM25"}}}))
    return str(config)


def test_too_little_history_for_the_lags(tmp_path, cli_error):
    out = tmp_path / "reports"
    line = cli_error("run", "--config", _short_csv(tmp_path, 10), "--models", "persistence",
                     "--out", out, progress=True)
    assert "too little history" in line and "10 days" in line
    # never a half-written run directory
    assert not out.exists() or not any(out.iterdir())


def test_flags_override_the_config_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[task]\nlags = 3\nmode = "forecast"\n[run]\nseed = 5\n')
    args = build_parser().parse_args(["run", "--config", str(config), "--lags", "9",
                                      "--seed", "1", "--models", "ridge,hgb",
                                      "--dataset", "csv:/some/file.csv", "--no-progress-bar"])
    resolved = _config(args)
    assert resolved["task"]["lags"] == 9 and resolved["run"]["seed"] == 1
    assert resolved["task"]["mode"] == "forecast"          # from the file, not overridden
    assert resolved["models"]["names"] == ["ridge", "hgb"]
    assert resolved["data"]["dataset"] == "csv"
    assert resolved["data"]["path"] == "/some/file.csv"
    assert resolved["training"]["progress_bar"] is False


def test_the_calendar_has_flags(tmp_path, cli_error):
    """--holidays and --heating-season (a comma-separated pair; "" for none) set the
    [task] options; a bad value is one line before any data are read."""
    def resolved(*flags):
        return _config(build_parser().parse_args(["run", *flags]))["task"]

    task = resolved("--holidays", "DE", "--heating-season", "10-01,04-30")
    assert task["holidays"] == "DE" and task["heating_season"] == ["10-01", "04-30"]
    task = resolved("--holidays", "", "--heating-season", "")
    assert task["holidays"] == "" and task["heating_season"] == []
    assert resolved()["heating_season"] == ["11-15", "03-15"]
    for flags, needle in ((("--holidays", "GB-XX"), "task.holidays = 'gb-xx': gb has no "
                                                    "subdivision 'xx'"),
                          (("--heating-season", "11-15"), "task.heating_season must be two days"),
                          (("--heating-season", "11-31,03-15"), "'11-31' is no day of the year")):
        line = cli_error("run", "--dataset", "synthetic", *flags, "--out", tmp_path,
                         progress=True)
        assert needle in line
    assert not any(tmp_path.iterdir())


def test_a_validation_split_too_short_to_calibrate_is_one_line(tmp_path, cli_error):
    line = cli_error("run", "--dataset", "synthetic", "--synthetic-start", "2010-01-01",
                     "--synthetic-end", "2010-12-31", "--train-end", "2010-10-31",
                     "--val-end", "2010-11-04", "--test-end", "2010-12-31",
                     "--models", "persistence,ridge", "--out", str(tmp_path), progress=True)
    assert "validation split has" in line and "at least 19" in line
    assert not any(tmp_path.iterdir())


def test_train_fits_one_network_and_saves_it(tmp_path, cli):
    import models

    path = tmp_path / "mlp.pt"
    code, out, err = cli("train", "mlp", "--dataset", "synthetic", *SHORT,
                         "--train-end", "2012-02-15", "--val-end", "2012-03-10",
                         "--test-end", "2012-03-31", "--accelerator", "cpu",
                         "--training-max-epochs", "2", "--hidden", "8", "--save", str(path))
    assert code == 0, err
    assert "mlp: validation RMSE" in out and "best epoch" in out and "1 process(es)" in out
    saved = models.NetworkForecaster.load(path)
    assert saved.info["status"] == "ok" and saved.info["epochs_run"] == 2
    assert not list(tmp_path.glob("*.partial"))


def test_train_and_predict_check_where_they_write_before_the_work(tmp_path, cli_error,
                                                                 monkeypatch):
    """--save into a missing folder or onto a folder: one line before any data is read
    or network fitted, not after the fit."""
    from forecast import pipeline

    def no_work(*args, **kwargs):
        raise AssertionError("the data were read before the target was checked")

    monkeypatch.setattr(pipeline, "load_data", no_work)
    line = cli_error("train", "mlp", "--dataset", "synthetic", "--accelerator", "cpu",
                     "--save", str(tmp_path / "absent" / "mlp.pt"))
    assert f"{tmp_path / 'absent' / 'mlp.pt'}: cannot write (no folder".lower() in line
    line = cli_error("train", "mlp", "--dataset", "synthetic", "--accelerator", "cpu",
                     "--save", str(tmp_path))
    assert "cannot write (a folder)" in line
    monkeypatch.setattr("forecast.predict.predict_latest", no_work)
    line = cli_error("predict", str(tmp_path), "--out", str(tmp_path / "absent" / "f.csv"))
    assert "cannot write (no folder" in line


def test_an_empty_file_name_is_one_line_not_the_flag_left_out(tmp_path, cli_error, monkeypatch):
    """--save "" trained and saved nothing, --out "" wrote nothing, --config "" ran the
    defaults, --path "" read the run's data: each is now refused before any work."""
    from forecast import pipeline

    def no_work(*args, **kwargs):
        raise AssertionError("the work began despite the empty file name")

    monkeypatch.setattr(pipeline, "load_data", no_work)
    monkeypatch.setattr("forecast.predict.predict_latest", no_work)
    for args in (("train", "mlp", "--dataset", "synthetic", "--save", ""),
                 ("run", "--dataset", "synthetic", "--config", ""),
                 ("data", "--config", " "),
                 ("predict", str(tmp_path), "--out", ""),
                 ("predict", str(tmp_path), "--path", ""),
                 ("predict", str(tmp_path), "--weather", "")):
        line = cli_error(*args)
        assert f"argument {args[-2]}: expected a file name, not an empty string" in line, args
    assert not any(tmp_path.iterdir())


def test_an_empty_run_out_is_one_line_not_the_current_folder(tmp_path, cli_error, monkeypatch):
    """--out "" or [run] out = "" wrote the run directory in the current folder: each is
    now refused before any work, and nothing is written."""
    from forecast import pipeline

    def no_work(*args, **kwargs):
        raise AssertionError("the work began despite the empty run.out")

    monkeypatch.setattr(pipeline, "load_data", no_work)
    monkeypatch.chdir(tmp_path)
    for out in ("", "  "):
        line = cli_error("run", "--dataset", "synthetic", "--out", out)
        assert "argument --out: expected a folder name, not an empty string" in line
    config = tmp_path / "config.toml"
    config.write_text(tomli_w.dumps({"run": {"out": ""}}))
    line = cli_error("run", "--dataset", "synthetic", "--config", str(config))
    assert line == ("forecast: error: config: run.out must name a folder, not an empty "
                    "string (the default is 'reports')")
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_a_predictions_file_without_its_columns_is_said_once(tmp_path, cli_error):
    """forecast report on a predictions.csv that lacks the run's columns: one line that
    says so once, not nested inside itself ("not a run's forecasts (...: not a run's
    forecasts (no fold ... column); rerun ...); rerun ...")."""
    from test_report import make_run

    run_dir = make_run(tmp_path / "run", winner="ridge")
    (run_dir / "predictions.csv").write_text("a,b\n1,2\n")
    line = cli_error("report", str(run_dir))
    assert line.count("not a run's forecasts") == 1, line
    assert line.startswith(f"forecast: error: {run_dir / 'predictions.csv'}: not a run's "
                           "forecasts (no fold, ".lower()), line
    assert line.endswith(" column); rerun forecast run"), line
    assert not (run_dir / "report.md").exists()


def test_train_with_forecasts_issued_at_other_hours(tmp_path, cli):
    import models

    path = tmp_path / "mlp.pt"
    code, out, err = cli("train", "mlp", "--dataset", "synthetic", *SHORT,
                         "--train-end", "2012-02-15", "--val-end", "2012-03-10",
                         "--test-end", "2012-03-31", "--accelerator", "cpu",
                         "--training-max-epochs", "2", "--hidden", "8",
                         "--train-issue-hours", "11,17", "--save", str(path))
    assert code == 0, err
    assert "mlp: validation RMSE" in out
    saved = models.NetworkForecaster.load(path)
    assert tuple(saved.train_issue_hours) == (11, 17)
    # two extra rows per training row: the same target issued at 11 h and at 17 h
    assert saved.info["n_extra_train_rows"] == 2 * saved.info["n_train_rows"] > 0


def test_train_refuses_a_model_that_is_not_a_network(cli_error):
    assert "'ridge' is not a network" in cli_error("train", "ridge", "--dataset", "synthetic")
    assert "unknown model 'mlpp'" in cli_error("train", "mlpp", "--dataset", "synthetic")
    # a network that reads the target day's hours: forecast mode only, in one line
    assert "forecast mode only" in cli_error("train", "gru_by_hour", "--dataset", "synthetic")


def test_train_builds_the_inputs_its_network_reads(tmp_path, cli):
    """The task has what the network reads whatever the model list: the target day's
    hours for gru_by_hour, though --models names none that reads them."""
    code, out, err = cli("train", "gru_by_hour", "--dataset", "synthetic", *SHORT,
                         "--mode", "forecast", "--models", "ridge",
                         "--train-end", "2012-02-15", "--val-end", "2012-03-10",
                         "--test-end", "2012-03-31", "--accelerator", "cpu",
                         "--training-max-epochs", "2", "--hidden", "8")
    assert code == 0, err
    assert "gru_by_hour: validation RMSE" in out


def test_a_reader_that_stops_early_is_no_error():
    """forecast ... | head: the closed pipe ends the command without an error line."""
    script = ("import sys\n"
              "import forecast.cli as cli\n"
              "def long_output(args):\n"
              "    for _ in range(1000):\n"
              "        print('x' * 1000)\n"
              "cli.cmd_data = long_output\n"
              "sys.exit(cli.main(['data']))\n")
    result = subprocess.run(["bash", "-c", f'{sys.executable} -c "$0" | head -c 3', script],
                            capture_output=True, text=True, timeout=120)
    assert result.stdout == "xxx"
    assert result.stderr == ""


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU to train on")
def test_a_gpu_asked_for_where_there_is_none_is_one_line(tmp_path, cli_error):
    out = tmp_path / "reports"
    line = cli_error("run", "--dataset", "synthetic", "--accelerator", "gpu", "--out", out)
    assert "training.accelerator = 'gpu'" in line and "cannot train so here" in line
    assert not out.exists()
    line = cli_error("train", "gru", "--dataset", "synthetic", "--accelerator", "cuda")
    assert "training.accelerator = 'cuda'" in line and "'auto' trains on what there is" in line


def test_every_option_flag_says_what_it_does(capsys):
    """`forecast run --help` gave "[split] folds (default: 0)" and no more for every option."""
    from forecast.cli import _option_flags, main
    from forecast.flag_help import FLAG_HELP

    options = {(section, key) for _, section, key, _ in _option_flags()}
    assert options == set(FLAG_HELP), options ^ set(FLAG_HELP)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "rolling-origin folds, a year apart" in text
    assert "bootstrap resamples for the 95 % intervals" in text
