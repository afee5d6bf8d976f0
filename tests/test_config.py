"""The run configuration: TOML loading, overrides, validation with helpful messages."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from forecast.config import (
    ALL_MODELS,
    DEFAULT_MODELS,
    DEFAULTS,
    available_cores,
    default_models,
    dumps,
    load_config,
    validate,
)
from forecast.errors import DataError

EXAMPLE = Path(__file__).resolve().parent.parent / "configs" / "example.toml"


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_are_valid():
    config = load_config()
    assert config is not DEFAULTS and DEFAULTS["training"]["jobs"] == 0
    # jobs = 0: one training process per CPU core this process may use
    assert config["training"]["jobs"] == available_cores() >= 1
    config["training"]["jobs"] = 0
    # target_transform = "auto": none in observed mode (the default), log1p in forecast mode
    assert DEFAULTS["task"]["target_transform"] == "auto"
    assert config["task"]["target_transform"] == "none"
    config["task"]["target_transform"] = "auto"
    assert config == DEFAULTS
    assert config["models"]["names"] == list(DEFAULT_MODELS)
    # every model but the opt-in models of the hourly record (the networks slow to train,
    # hgb_hourly twice hgb's time) runs by default; in observed mode not hgb_by_hour and
    # gru_by_hour either, which read the target day's hourly weather
    assert set(ALL_MODELS) - set(DEFAULT_MODELS) == {"gru_hourly", "lstm_hourly", "tcn_hourly",
                                                     "hgb_hourly", "hgb_by_hour", "gru_by_hour"}
    assert "hgb_hourly" not in default_models("forecast")


def test_hgb_hourly_alone_builds_only_the_hours_it_reads():
    from forecast.config import hourly_hours

    assert hourly_hours(load_config(None, {"models": {"names": ["ridge", "hgb_hourly"]}})) == 24
    both = {"models": {"names": ["hgb_hourly", "gru_hourly"]}}
    assert hourly_hours(load_config(None, both)) == 72  # a network reads the whole window
    with pytest.raises(DataError, match="'hgb_hourly' reads the last 24 hours up to the "
                                        "issue time: task.hourly_hours"):
        load_config(None, {**both, "task": {"hourly_hours": 12}})
    # 12 hours are enough when nothing else reads the window
    assert hourly_hours(load_config(None, {"models": {"names": ["ridge", "gru_hourly"]},
                                           "task": {"hourly_hours": 12}})) == 12


def test_auto_target_transform_follows_the_mode():
    assert load_config(None, {"task": {"mode": "forecast"}})["task"]["target_transform"] == "log1p"
    assert load_config(None, {"task": {"mode": "observed"}})["task"]["target_transform"] == "none"
    # an explicit choice stands in either mode
    for mode in ("observed", "forecast"):
        for choice in ("none", "log1p"):
            config = load_config(None, {"task": {"mode": mode, "target_transform": choice}})
            assert config["task"]["target_transform"] == choice


def test_toml_file_overrides_defaults(tmp_path):
    path = write(tmp_path, """
[data]
dataset = "synthetic"
min_hours = 20

[task]
lags = 3
mode = "forecast"

[training]
learning_rate = 1     # an int is fine for a float option
hidden = 16

[data.columns]
pm25 = "PM2.5"
anything = "goes here"
""")
    config = load_config(path)
    assert config["data"]["dataset"] == "synthetic" and config["data"]["min_hours"] == 20
    assert config["task"]["lags"] == 3 and config["task"]["mode"] == "forecast"
    assert config["training"]["hidden"] == 16 and config["training"]["learning_rate"] == 1
    assert config["data"]["columns"] == {"pm25": "PM2.5", "anything": "goes here"}
    # untouched options keep their defaults
    assert config["task"]["horizon"] == DEFAULTS["task"]["horizon"]
    assert config["training"]["max_epochs"] == DEFAULTS["training"]["max_epochs"]
    assert DEFAULTS["task"]["lags"] == 7           # the defaults were not mutated


def test_overrides_win_over_the_file(tmp_path):
    path = write(tmp_path, '[task]\nlags = 3\nhorizon = 2\n[data.columns]\npm25 = "A"\n')
    config = load_config(path, {"task": {"lags": 5}, "data": {"columns": {"pm25": "B"}}})
    assert config["task"]["lags"] == 5
    assert config["task"]["horizon"] == 2
    assert config["data"]["columns"] == {"pm25": "B"}


@pytest.mark.parametrize("text, needle", [
    ('[task]\nlags = "7"\n', "task.lags must be int"),
    ("[training]\nseeds = 1.5\n", "training.seeds must be int"),
    ("[training]\nprogress_bar = 1\n", "training.progress_bar must be bool"),
    ("[task]\nlags = true\n", "task.lags must be int"),
    ('[models]\nnames = "mlp"\n', "models.names must be list"),
    ("[data]\ndataset = 3\n", "data.dataset must be str"),
    ("task = 3\n", "task must be a table"),
])
def test_type_errors(tmp_path, text, needle):
    with pytest.raises(DataError, match=needle.replace(".", r"\.")):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize("section, key, value", [
    ("task", "mode", "perfect"),
    ("data", "dataset", "beijng"),
    ("training", "optimizer", "adam"),
    ("training", "activation", "swish"),
    ("training", "lr_schedule", "step"),
    ("task", "target_transform", "log"),
])
def test_choices(section, key, value):
    with pytest.raises(DataError, match=f"{section}.{key} = '{value}' is not one of") as info:
        load_config(None, {section: {key: value}})
    from forecast.config import CHOICES
    for choice in CHOICES[(section, key)]:
        assert choice in str(info.value)


@pytest.mark.parametrize("text, needle", [
    ("[training]\nhiden = 3\n", "unknown option 'training.hiden' (did you mean 'hidden'?)"),
    ("[trainig]\nhidden = 3\n", "unknown option 'trainig' (did you mean 'training'?)"),
    ("[data]\ndatset = 'x'\n", "unknown option 'data.datset' (did you mean 'dataset'?)"),
    ("[diagnostics]\nsweep_hiden = [1]\n", "did you mean 'sweep_hidden'?"),
    ("[task]\nzzz = 1\n", "unknown option 'task.zzz'"),
    ("[models]\nnames = ['RIDGE']\n", "unknown model 'RIDGE'"),
    ("[models]\nnames = ['RIDGE']\n", "(did you mean 'ridge'?)"),
    ("[Training]\nhidden = 3\n", "(did you mean 'training'?)"),
])
def test_unknown_keys_suggest_the_nearest(tmp_path, text, needle):
    with pytest.raises(DataError) as info:
        load_config(write(tmp_path, text))
    assert needle in str(info.value)


def test_unknown_key_in_overrides():
    with pytest.raises(DataError, match="did you mean 'lags'"):
        load_config(None, {"task": {"lag": 3}})


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(DataError, match="invalid TOML"):
        load_config(write(tmp_path, "[task\nlags = 3\n"))
    with pytest.raises(DataError, match="not found"):
        load_config(tmp_path / "absent.toml")


def test_model_names_and_ranges_are_validated():
    with pytest.raises(DataError, match="unknown model 'lstn'.*did you mean 'lstm'"):
        load_config(None, {"models": {"names": ["ridge", "lstn"]}})
    with pytest.raises(DataError, match="no models"):
        load_config(None, {"models": {"names": []}})
    for key in ("horizon", "sequence_length"):
        with pytest.raises(DataError, match=f"task.{key} must be at least 1"):
            load_config(None, {"task": {key: 0}})
    for lags in (0, 10 ** 20):
        with pytest.raises(DataError, match=f"task.lags must be from 1 to 3650 .days., not {lags}"):
            load_config(None, {"task": {"lags": lags}})
    for hours in (0, 25):
        with pytest.raises(DataError, match="config: data.min_hours must be from 1 to 24"):
            load_config(None, {"data": {"min_hours": hours}})
    with pytest.raises(DataError, match="seeds must be at least 1"):
        load_config(None, {"training": {"seeds": 0}})
    for key in ("batch_size", "max_steps_per_epoch"):
        with pytest.raises(DataError, match=f"training.{key} must be at least 1"):
            load_config(None, {"training": {key: 0}})
    with pytest.raises(DataError, match="training.max_batch_size must be 0"):
        load_config(None, {"training": {"max_batch_size": -1}})
    bad = copy.deepcopy(DEFAULTS)
    bad["task"]["extra"] = 1
    with pytest.raises(DataError, match="unknown option"):
        validate(bad)


def test_dumps_round_trips(tmp_path):
    config = load_config(None, {"task": {"lags": 4}, "data": {"columns": {"pm25": "P"}}})
    assert load_config(write(tmp_path, dumps(config))) == config


def test_example_config_loads():
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} does not exist yet")
    config = load_config(EXAMPLE)
    assert set(config) == set(DEFAULTS)


def test_the_capacity_sweep_needs_a_network():
    with pytest.raises(DataError, match="sweep_model = 'ridge' is not one of mlp"):
        load_config(overrides={"diagnostics": {"sweep_model": "ridge"}})


@pytest.mark.parametrize("key, flag", [("sweep_hidden", "--no-capacity-sweep"),
                                       ("sweep_layers", "--no-capacity-sweep"),
                                       ("learning_fractions", "--no-learning-curve")])
def test_an_empty_diagnostic_grid_is_a_one_line_error(key, flag):
    """An empty grid left the diagnostic nothing to fit: a traceback after the models."""
    with pytest.raises(DataError) as info:
        load_config(overrides={"diagnostics": {key: []}})
    assert f"diagnostics.{key} is empty" in str(info.value) and flag in str(info.value)
    switch = "learning_curve" if key == "learning_fractions" else "capacity_sweep"
    load_config(overrides={"diagnostics": {key: [], switch: False}})    # not read: fine


def test_the_hourly_window_is_built_only_when_asked_for():
    from forecast.config import hourly_hours

    assert hourly_hours(load_config()) == 0          # no default model reads it
    assert hourly_hours(load_config(overrides={"task": {"mode": "forecast"}})) == 0
    assert hourly_hours(load_config(overrides={"task": {"hourly_sequence": True,
                                                         "hourly_hours": 48}})) == 48
    with pytest.raises(DataError, match="task.hourly_hours must be at least 1"):
        load_config(overrides={"task": {"hourly_hours": 0}})


@pytest.mark.parametrize("overrides, needle", [
    ({"training": {"dropout": 1.5}}, "training.dropout must be from 0 to below 1, not 1.5"),
    ({"training": {"learning_rate": -1.0}}, "training.learning_rate must be above 0"),
    ({"training": {"learning_rate": float("nan")}}, "training.learning_rate must be a finite"),
    ({"training": {"weight_decay": -1.0}}, "training.weight_decay must be 0 or more"),
    ({"training": {"max_epochs": 0}}, "training.max_epochs must be at least 1"),
    ({"training": {"hidden": 0}}, "training.hidden must be at least 1"),
    ({"training": {"devices": 0}}, "training.devices must be at least 1"),
    ({"training": {"num_nodes": 0}}, "training.num_nodes must be at least 1"),
    ({"training": {"threads": -1}}, "training.threads must be 0"),
    ({"training": {"gradient_clip": -1.0}}, "training.gradient_clip must be 0"),
    ({"training": {"accelerator": "tpuu"}}, "training.accelerator = 'tpuu' is not one of"),
    ({"training": {"strategy": "dpp"}}, "training.strategy = 'dpp' is not a Lightning strategy"),
    ({"task": {"max_fill_days": -1}}, "task.max_fill_days must be 0 or more"),
    ({"quality": {"stuck_floor": -1.0}}, "quality.stuck_floor must be 0 or more"),
    ({"quality": {"sentinels": ["NA"]}}, "quality.sentinels must hold finite numbers, not 'NA'"),
    ({"evaluation": {"n_boot": 0}}, "evaluation.n_boot must be at least 10"),
    ({"evaluation": {"exceedance_threshold": float("inf")}}, "must be a finite number"),
    ({"evaluation": {"exceedance_threshold": -5.0}}, "exceedance_threshold must be above 0"),
    ({"evaluation": {"warning_cost_loss": 1.0}}, "warning_cost_loss must be 0 (warn at the best CSI)"),
    ({"evaluation": {"warning_cost_loss": -0.2}}, "a cost/loss ratio above 0 and below 1"),
    ({"run": {"seed": -1}}, "run.seed must be from 0"),
    ({"run": {"name": "x/y"}}, "run.name must be one folder's name"),
    ({"run": {"name": ".."}}, "run.name must be one folder's name"),
    ({"run": {"name": "a\0b"}}, "run.name must be one folder's name"),
    # an empty run.out wrote the run directory in the current folder
    ({"run": {"out": ""}}, "run.out must name a folder, not an empty string"),
    ({"run": {"out": " "}}, "run.out must name a folder, not an empty string"),
    ({"models": {"names": ["ridge", "ridge"]}}, "models.names lists 'ridge' twice"),
    ({"models": {"names": [1, 2]}}, "models.names must hold model names, not 1"),
    ({"diagnostics": {"learning_fractions": [0.0, 2.0]}},
     "diagnostics.learning_fractions must hold shares above 0 and at most 1, not 0.0"),
    ({"diagnostics": {"sweep_hidden": [0]}}, "diagnostics.sweep_hidden must hold whole"),
    ({"data": {"dataset": "synthetic", "synthetic_stations": 0}},
     "data.synthetic_stations must be at least 1"),
    ({"data": {"dataset": "synthetic", "synthetic_start": "2012-02-30"}},
     "data.synthetic_start must be a date"),
    # a time of day is no day: the data would start at 05:00
    ({"data": {"dataset": "synthetic", "synthetic_end": "2012-01-01T05"}},
     "data.synthetic_end must be a date"),
    ({"data": {"dataset": "synthetic", "synthetic_start": "2013-01-01",
               "synthetic_end": "2012-01-01"}}, "synthetic_end must come after"),
    ({"data": {"dataset": "csv", "station": "A", "station_column": "site"}},
     "data.station names the one station of a file without a station column"),
    ({"data": {"units": {"temp": "furlongs"}}},
     "data.units.temp = 'furlongs' is not a unit this tool converts"),
    ({"data": {"units": {"temp": 5}}}, "data.units.temp must be a unit's name, not 5"),
    ({"data": {"columns": {"pm25": ["PM2.5"]}}},
     "data.columns.pm25 must be the file's column name (text, or a whole number), not "
     "['PM2.5']"),
    ({"data": {"columns": {"pm25": True}}}, "data.columns.pm25 must be the file's column name"),
    ({"data": {"columns": {"pm25": ""}}}, "data.columns.pm25 must be the file's column name"),
    ({"data": {"units": {"temperature": "°F"}}},
     "data.units.temperature: not a canonical column (did you mean 'temp'?)"),
    # too large to mean anything: each failed deep in the run (an overflow, a hang,
    # memory, the threads' crash), the run directory half-written
    ({"task": {"horizon": 10 ** 20}}, "task.horizon must be at most 3650 (days)"),
    ({"task": {"sequence_length": 10 ** 22}}, "task.sequence_length must be at most 3650 (days)"),
    ({"task": {"max_fill_days": 10 ** 22}}, "task.max_fill_days must be at most 3650 (days)"),
    ({"task": {"hourly_hours": 10 ** 22}}, "task.hourly_hours must be at most 87600 (hours)"),
    ({"training": {"seeds": 10 ** 22}}, "training.seeds must be at most 1000"),
    ({"training": {"hidden": 10 ** 22}}, "training.hidden must be at most 65536"),
    ({"training": {"layers": 10 ** 22}}, "training.layers must be at most 100"),
    ({"training": {"batch_size": 10 ** 22}}, "training.batch_size must be at most 1000000000"),
    ({"training": {"devices": 10 ** 22}}, "training.devices must be at most 1024"),
    ({"training": {"num_nodes": 10 ** 22}}, "training.num_nodes must be at most 1024"),
    ({"training": {"threads": 2 ** 31 - 1}}, "training.threads must be at most 1024"),
    ({"evaluation": {"n_boot": 10 ** 22}}, "evaluation.n_boot must be at most 100000"),
    ({"diagnostics": {"sweep_hidden": [8, 10 ** 22]}},
     "diagnostics.sweep_hidden must hold whole numbers from 1 to 65536"),
    ({"diagnostics": {"sweep_layers": [10 ** 22]}},
     "diagnostics.sweep_layers must hold whole numbers from 1 to 100"),
    ({"data": {"dataset": "synthetic", "synthetic_stations": 10 ** 22}},
     "data.synthetic_stations must be at most 10000"),
])
def test_values_no_run_can_mean_anything_are_one_line_errors(overrides, needle):
    with pytest.raises(DataError) as info:
        load_config(overrides=overrides)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_empty_path_options_that_mean_not_set_stay_valid(tmp_path):
    """An empty data_dir (the UCI files looked up elsewhere), path (no CSV) or run name (a
    name from the date) means "not set", as the defaults have them; run.out has none."""
    config = load_config(write(tmp_path, '[data]\ndata_dir = ""\npath = ""\n'
                                         '[run]\nname = ""\nout = "runs"\n'))
    assert config["data"]["data_dir"] == config["data"]["path"] == config["run"]["name"] == ""
    assert config["run"]["out"] == "runs"


@pytest.mark.parametrize("task, needle", [
    ({"holidays": "XX"}, "task.holidays = 'XX' is not a country the holidays package knows"),
    ({"holidays": "de"}, "(did you mean 'DE'?)"),
    ({"holidays": "Germany"}, "(did you mean 'DE'?)"),
    ({"holidays": "US-ZZ"}, "task.holidays = 'US-ZZ': US has no subdivision 'ZZ'; known: AK"),
    ({"holidays": "US-ca"}, "US has no subdivision 'ca' (did you mean 'CA'?)"),
    ({"holidays": 49}, "task.holidays must be str, not 49"),
    ({"holidays": "US-"}, "task.holidays = 'US-' has an empty subdivision: give 'US' alone"),
    ({"holidays": "none"}, "task.holidays = 'none': for no holidays give \"\""),
    ({"holidays": "off"}, "task.holidays = 'off': for no holidays give \"\""),
    ({"heating_season": "11-15,03-15"}, "task.heating_season must be two days, the season's first"),
    ({"heating_season": ["13-01", "03-15"]}, "task.heating_season: '13-01' is no day of the year"),
    ({"heating_season": ["11-15", "02-30"]}, "task.heating_season: '02-30' is no day of the year"),
    ({"heating_season": ["1115", "0315"]}, "heating_season days are written MM-DD (e.g. \"11-15\""),
    ({"heating_season": ["11-15"]}, "task.heating_season must be two days, the season's first and last"),
    ({"heating_season": ["11-15", "12-01", "03-15"]}, "must be two days"),
    ({"heating_season": [1115, 315]}, "heating_season days are written MM-DD (e.g. \"11-15\" for 15 "
                                      "November), not 1115"),
    ({"heating_season": "11-15"}, "task.heating_season must be two days, the season's first"),
])
def test_a_calendar_no_region_has_is_a_one_line_error(task, needle):
    """An unknown country or subdivision of the holidays package (the nearest suggested),
    a day that is not MM-DD or no day of the year, a season that is not two days."""
    with pytest.raises(DataError) as info:
        load_config(overrides={"task": task})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_the_calendar_defaults_to_beijings_and_takes_other_regions(tmp_path):
    """Defaults: China's holidays, 15 Nov - 15 Mar; another country, a subdivision, an
    alpha-3 code, none; a season in summer, one day, none (29 February is a day). A run
    stored before the options existed (its config.toml without them) reads the defaults."""
    config = load_config()
    assert config["task"]["holidays"] == "CN"
    assert config["task"]["heating_season"] == ["11-15", "03-15"]
    for code in ("DE", "US-CA", "DE-BY", "IND", "NO", ""):      # NO: Norway, not "none"
        assert load_config(overrides={"task": {"holidays": code}})["task"]["holidays"] == code
    for season in (["06-01", "08-31"], ["12-25", "12-25"], ["02-29", "03-01"], []):
        assert load_config(overrides={"task": {"heating_season": season}})[
            "task"]["heating_season"] == season
    stored = {section: dict(table) for section, table in config.items()}
    for key in ("holidays", "heating_season"):
        del stored["task"][key]
    assert load_config(write(tmp_path, dumps(stored)))["task"] == config["task"]
    given = load_config(write(tmp_path, '[task]\nholidays = "IN"\nheating_season = []\n'))
    assert dumps(given).count('holidays = "IN"') == 1 and "heating_season = []" in dumps(given)


def test_units_the_tool_leaves_as_text_still_pass():
    load_config(overrides={"data": {"units": {"rain": "0/1 flag: hour with rain",
                                              "temp": "°F", "pres": "kPa", "pm25": "µg/m³"}}})


def test_a_config_with_a_byte_order_mark_reads_and_a_folder_is_named(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[task]\nlags = 5\n")
    assert load_config(path)["task"]["lags"] == 5
    with pytest.raises(DataError, match="is a folder, not a TOML file"):
        load_config(tmp_path)


def test_split_ends_are_days_written_yyyy_mm_dd_in_order(tmp_path):
    """Checked with the config, before any data are read, naming the key."""
    for text in ("garbage", "2012-13-45", "2012/12/31", "31-12-2012"):
        with pytest.raises(DataError, match=f"config: split.train_end must be a day written "
                                            f"YYYY-MM-DD, not '{text}'"):
            load_config(None, {"split": {"train_end": text}})
    with pytest.raises(DataError, match=r"split.val_end \(2013-01-01\) must come before "
                                        r"split.test_end \(2012-12-31\)"):
        load_config(None, {"split": {"val_end": "2013-01-01", "test_end": "2012-12-31"}})
    # an unquoted TOML date is a date too
    config = load_config(write(tmp_path, "[split]\ntrain_end = 2012-12-31\n"))
    assert config["split"]["train_end"] == "2012-12-31"


@pytest.mark.parametrize("name", [".tmp-foo", ".hidden", "a" * 201])
def test_a_run_name_is_refused_when_hidden_or_too_long(name):
    """``.tmp-*`` are runs' temporary directories, removed by a later run once their
    owner has gone: a run named so would be lost."""
    with pytest.raises(DataError, match="config: run.name"):
        load_config(None, {"run": {"name": name}})


def test_data_keys_the_dataset_does_not_read_are_named(capsys):
    from forecast.config import ignored_data_keys
    from forecast.pipeline import load_data

    base = {"dataset": "synthetic", "synthetic_start": "2013-01-01",
            "synthetic_end": "2013-06-30"}
    assert ignored_data_keys(load_config(overrides={"data": base})["data"]) == []
    config = load_config(overrides={"data": {**base, "units": {"temp": "°F"},
                                             "time_format": "%d/%m/%Y %H:%M"}})
    assert ignored_data_keys(config["data"]) == ["data.time_format", "data.units"]
    load_data(config)
    line = next(x for x in capsys.readouterr().err.splitlines() if "not read" in x)
    assert "data.time_format, data.units are not read for dataset 'synthetic'" in line
    # under a CSV the CSV keys are read and the synthetic period is not
    csv = load_config(overrides={"data": {"dataset": "csv", "path": "x.csv",
                                          "units": {"temp": "°F"},
                                          "synthetic_end": "2013-06-30"}})["data"]
    assert ignored_data_keys(csv) == ["data.synthetic_end"]
    assert ignored_data_keys(DEFAULTS["data"]) == []
    # --data-dir is the folder of the UCI files: read for them alone
    for dataset, unread in (("synthetic", ["data.data_dir"]), ("csv", ["data.data_dir"]),
                            ("beijing", []), ("beijing-multisite", [])):
        data = {**DEFAULTS["data"], "dataset": dataset, "data_dir": "/somewhere"}
        assert ignored_data_keys(data) == unread, dataset
