"""Sources: the canonical HourlyFrame, bad input through the CLI, file lookup, checksums."""

from __future__ import annotations

import json
import urllib.error

import numpy as np
import pandas as pd
import pytest
import tomli_w

from forecast import cli as forecast_cli
from forecast import quality, sources
from forecast.errors import DataError
from forecast.schema import (
    WIND_DIR_DTYPE,
    compass_to_degrees,
    degrees_to_compass,
    sector_codes,
    validate_hourly,
)

# ---------------------------------------------------------------- helpers


def write_csv(path, rows: list[dict]) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def hourly_rows(n: int = 48, start: str = "2012-01-01", pm25=None) -> list[dict]:
    times = pd.date_range(start, periods=n, freq="h")
    return [{"timestamp": f"{t:%Y-%m-%d %H:%M}",
             "PM25": (pm25(i) if pm25 else 30.0 + i), "T": -1.0 + 0.1 * i,
             "WS": 2.0, "WD": "NW", "R": 0.0}
            for i, t in enumerate(times)]


def write_config(path, data: dict) -> str:
    path.write_text(tomli_w.dumps({"data": data}))
    return str(path)


def csv_config(tmp_path, csv_path: str, **extra) -> str:
    data = {"dataset": "csv", "path": csv_path, "station": "Test site",
            "time_column": "timestamp",
            "columns": {"pm25": "PM25", "temp": "T", "wind_speed": "WS", "wind_dir": "WD",
                        "rain": "R"}}
    data.update(extra)
    if data.get("station_column"):          # a file with a station column names its own
        data.pop("station")
    return write_config(tmp_path / "config.toml", data)


# ---------------------------------------------------------------- bad input via the CLI


def test_weather_columns_the_mapping_leaves_out_are_named(tmp_path, cli, cli_error):
    """A file with columns named temp or Wind_Speed that [data.columns] does not map: a
    warning says they are not read; in forecast mode, with no weather read at all, an
    error names them (the report would say the models read the target day's weather)."""
    rows = [{"timestamp": r["timestamp"], "PM25": r["PM25"], "temp": r["T"],
             "Wind_Speed": r["WS"], "T2": r["T"]} for r in hourly_rows()]
    csv = write_csv(tmp_path / "site.csv", rows)
    config = write_config(tmp_path / "c.toml", {
        "dataset": "csv", "path": csv, "time_column": "timestamp",
        "columns": {"pm25": "PM25"}})
    code, _, err = cli("data", "--config", config)
    assert code == 0, err
    assert (f"warning: {csv}: it has column(s) temp, Wind_Speed that [data.columns] does not "
            "map; they are not read") in err
    line = cli_error("run", "--config", config, "--mode", "forecast", "--models", "persistence",
                     "--out", tmp_path / "out", progress=True)
    assert "forecast mode reads the target day's weather" in line
    assert "map the file's temp, wind_speed in [data.columns], or run --mode observed" in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    # mapped (here temp to another column), a weather name is no longer reported
    config = write_config(tmp_path / "c.toml", {
        "dataset": "csv", "path": csv, "time_column": "timestamp",
        "columns": {"pm25": "PM25", "temp": "T2", "wind_speed": "Wind_Speed"}})
    code, _, err = cli("data", "--config", config)
    assert code == 0 and "not map" not in err, err


def test_csv_mapping_to_a_column_not_in_the_file(tmp_path, cli_error):
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    columns = {"pm25": "PM25", "temp": "TEMPERATURE"}
    config = csv_config(tmp_path, csv, columns=columns)
    line = cli_error("data", "--config", config)
    assert "temperature" in line and "not in the file" in line and "site.csv" in line


def test_csv_mapping_two_names_to_one_column(tmp_path, cli_error):
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    config = csv_config(tmp_path, csv, columns={"pm25": "PM25", "temp": "T", "dewp": "T"})
    line = cli_error("data", "--config", config)
    assert "[data.columns]: temp and dewp are both mapped to the column 't'" in line


@pytest.mark.parametrize("key, value", [("time_column", "when"), ("station_column", "site_id"),
                                        ("time_columns", ["yr", "mo", "dy", "hr"])])
def test_csv_mapping_naming_an_absent_time_or_station_column(tmp_path, cli_error, key, value):
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    extra = {key: value}
    if key == "time_columns":
        extra["time_column"] = ""
    config = csv_config(tmp_path, csv, **extra)
    line = cli_error("data", "--config", config)
    absent = value[0] if isinstance(value, list) else value
    assert absent in line and "not in the file" in line


def test_csv_mapping_without_pm25(tmp_path, cli_error):
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    config = csv_config(tmp_path, csv, columns={"temp": "T"})
    line = cli_error("data", "--config", config)
    assert "pm25" in line


def test_beijing_parser_on_a_csv_without_pm25(tmp_path, cli_error, isolated_sources,
                                              monkeypatch, beijing_csv):
    text = beijing_csv().replace(",pm2.5,", ",pm10,")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / sources.BEIJING_FILE).write_text(text)
    monkeypatch.setattr(sources, "BEIJING_SHA256", sources.sha256_of(text.encode()))
    line = cli_error("data", "--dataset", "beijing", "--data-dir", folder)
    assert "missing required column" in line and "pm2.5" in line


@pytest.mark.parametrize("bad", ["not-a-date", "2012-13-45 00:00"])
def test_unparseable_date_in_a_datetime_column(tmp_path, cli_error, bad):
    rows = hourly_rows()
    rows[5]["timestamp"] = bad
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "unparseable date" in line and bad in line and "row 6" in line


def test_day_first_dates_and_an_empty_time_cell_say_what_to_do(tmp_path, cli, cli_error):
    """13/01/2012 after twelve days read month-first: the line points to time_format; an
    n/a time cell is said to be one, not 'unparseable date nan'."""
    rows = hourly_rows(n=24 * 14)
    for row in rows:
        day = pd.Timestamp(row["timestamp"])
        row["timestamp"] = f"{day:%d/%m/%Y %H:%M}"
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "unparseable date '13/01/2012 00:00' on data row 289 (a day-first date" in line
    assert "set [data] time_format or --time-format, e.g. '%d/%m/%y %h:%m'" in line
    # twelve days day-first: every date reads month-first without an error, so a warning
    for fmt, warned, example in (("%d/%m/%Y %H:%M", True, "02/01/2012 00:00"),
                                 ("%m/%d/%Y %H:%M", True, "01/02/2012 00:00"),
                                 ("%Y-%m-%d %H:%M", False, "")):
        rows = hourly_rows(n=24 * 12)
        for row in rows:
            row["timestamp"] = f"{pd.Timestamp(row['timestamp']):{fmt}}"
        config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
        code, _, err = cli("data", "--config", config)
        assert code == 0 and ("could be day-first" in err) is warned, err
        if warned:
            assert (f"the dates of timestamp (e.g. '{example}') are read month first "
                    "(MM/DD); no day or month in them is over 12") in err
            assert "set [data] time_format or --time-format, e.g. '%d/%m/%Y %H:%M'" in err
    config = csv_config(tmp_path, str(tmp_path / "site.csv"), time_format="%Y-%m-%d %H:%M")
    assert "could be day-first" not in cli("data", "--config", config)[2]
    spec = {"time_column": "t"}
    month_first = pd.DataFrame({"t": ["01/12/2012 00:00", "01/13/2012 00:00"]})
    assert sources.day_month_ambiguity(month_first, spec) is None
    same = pd.DataFrame({"t": ["01/01/2012 00:00", "02/02/2012 00:00"]})
    assert sources.day_month_ambiguity(same, spec) is None
    dates = pd.DataFrame({"d": ["3.4.2012", "4.4.2012"], "h": [0, 0]})
    assert "(MM.DD)" in sources.day_month_ambiguity(dates, {"time_columns": ["d", "h"]})
    rows = hourly_rows()
    rows[5]["timestamp"] = "n/a"
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    assert cli_error("data", "--config", config).endswith(
        "no date on data row 6 (its time cell is empty or n/a)")
    parts = [{"y": 2012, "m": 1, "d": 1, "h": h, "PM25": 10.0} for h in range(24)]
    parts[3]["m"] = None
    config = write_config(tmp_path / "c.toml", {
        "dataset": "csv", "path": write_csv(tmp_path / "site.csv", parts),
        "time_columns": ["y", "m", "d", "h"], "columns": {"pm25": "PM25"}})
    assert "unparseable date: m=(empty or n/a) on data row 4" in cli_error("data", "--config",
                                                                          config)


def test_unparseable_date_in_year_month_day_hour_columns(tmp_path, cli_error):
    rows = [{"y": 2012, "m": 1, "d": 1, "h": h, "PM25": 10.0} for h in range(24)]
    rows[3]["m"] = "jan"
    csv = write_csv(tmp_path / "site.csv", rows)
    config = write_config(tmp_path / "c.toml", {
        "dataset": "csv", "path": csv, "time_columns": ["y", "m", "d", "h"],
        "columns": {"pm25": "PM25"}})
    line = cli_error("data", "--config", config)
    assert "unparseable date" in line and "jan" in line


@pytest.mark.parametrize("column, value, shown", [
    ("h", 25, "h=25 on data row 4"), ("h", 3.5, "h=3.5 on data row 4"),
    ("m", 13, "m=13 on data row 4"), ("y", 99999, "y=99999 on data row 4")])
def test_a_time_part_out_of_range_names_its_row(tmp_path, cli_error, column, value, shown):
    """An hour of 25 read as "time goes back", 3.5 was cut to 3, a year past 2261 ended in
    a traceback."""
    rows = [{"y": 2012, "m": 1, "d": 1, "h": h, "PM25": 10.0} for h in range(24)]
    rows[3][column] = value
    csv = write_csv(tmp_path / "site.csv", rows)
    config = write_config(tmp_path / "c.toml", {
        "dataset": "csv", "path": csv, "time_columns": ["y", "m", "d", "h"],
        "columns": {"pm25": "PM25"}})
    line = cli_error("data", "--config", config)
    assert f"unparseable date: {shown} (a whole number from" in line


def test_a_time_past_what_pandas_holds_and_a_row_without_a_station(tmp_path, cli_error):
    rows = hourly_rows()
    rows[-1]["timestamp"] = "2300-01-01 00:00"
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "time 2300-01-01 00:00:00 on data row 48 lies outside the years 1678–2261" in line
    rows = [dict(r, site="A" if k % 2 else "B") for k, r in enumerate(hourly_rows())]
    rows[5]["site"] = None
    config = csv_config(tmp_path, write_csv(tmp_path / "sites.csv", rows),
                        station_column="site")
    line = cli_error("data", "--config", config)
    assert "1 row(s) without a station, the first on data row 6" in line


def test_decimal_commas_late_in_a_semicolon_file_or_quoted_in_a_comma_file(tmp_path, cli,
                                                                          cli_error):
    """A semicolon file whose numbers are whole for its first 300 rows read every later
    '127,9' as text; a comma file with quoted '73,4' lost every value as missing."""
    rows = hourly_rows(n=400)
    table = pd.DataFrame(rows)
    table["PM25"] = [f"{v:.0f}" if k < 300 else f"{v:.1f}".replace(".", ",")
                     for k, v in enumerate(table["PM25"] + 0.3)]
    table["T"] = table["T"].round(0).astype(int)
    path = tmp_path / "late.csv"
    table.to_csv(path, sep=";", index=False)
    code, out, err = cli("data", "--config", csv_config(tmp_path, str(path)), "--json")
    assert code == 0, err
    assert json.loads(out)["quality"]["total"] == 0
    quoted = pd.DataFrame(hourly_rows()).assign(
        PM25=lambda t: [f"{v:.1f}".replace(".", ",") for v in t["PM25"] + 0.3])
    path = tmp_path / "quoted.csv"
    quoted.to_csv(path, index=False)
    line = cli_error("data", "--config", csv_config(tmp_path, str(path)))
    assert "quoted.csv: column 'pm25' writes its numbers with a decimal comma ('30,3')" in line


def test_duplicated_station_hour(tmp_path, cli_error):
    rows = hourly_rows()
    rows[10]["timestamp"] = rows[9]["timestamp"]
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "duplicated station-hour" in line and "2012-01-01 09:00" in line
    assert "no hour of the day" not in line


def test_times_without_an_hour_are_said_to_be_so(tmp_path, cli_error):
    """Daily rows whose times are dates alone: each day's 24 hours all at midnight."""
    rows = hourly_rows()
    for row in rows:
        row["timestamp"] = str(row["timestamp"])[:10]
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "d.csv",
                                                                         rows)))
    assert "duplicated station-hour" in line and "every time is a midnight: the times " \
        "carry no hour of the day" in line


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"timestamp,PM25\n", "a header and no rows"),
    (b"timestamp,PM25,PM25\n2012-01-01 00:00,1,2\n", "header names 'pm25' more than once"),
    # pandas would make the extra leading fields the index, every column one place off
    (b"timestamp,PM25\n2012-01-01 00:00,1,7,8\n2012-01-01 01:00,2\n",
     "the first data row has 4 fields and the header 2"),
    ("timestamp,PM25\n2012-01-01 00:00,1\n".encode("utf-16"), "mapped column(s) not in"),
    (bytes(range(256)) * 20, "not a csv"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "not a csv"),
])
def test_empty_or_binary_file(tmp_path, cli_error, content, expected):
    path = tmp_path / "site.csv"
    path.write_bytes(content)
    line = cli_error("data", "--config", csv_config(tmp_path, str(path)))
    assert expected in line and "site.csv" in line


def test_missing_csv_file(tmp_path, cli_error):
    line = cli_error("data", "--dataset", f"csv:{tmp_path / 'nope.csv'}")
    assert "nope.csv" in line and "no such file" in line


def test_all_missing_pm25(tmp_path, cli_error):
    rows = hourly_rows(pm25=lambda i: np.nan)
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "every pm2.5 value is missing" in line


def test_all_negative_pm25_is_all_missing(tmp_path, cli_error):
    rows = hourly_rows(pm25=lambda i: -5.0)
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    assert "every pm2.5 value is missing" in cli_error("data", "--config", config)


def test_unknown_wind_direction(tmp_path, cli_error):
    rows = hourly_rows()
    rows[2]["WD"] = "NORTHISH"
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "northish" in line and "wind_dir_degrees" in line


def test_unknown_dataset_name(cli_error):
    line = cli_error("data", "--dataset", "beijng")
    assert "beijng" in line and "beijing" in line


def test_unknown_dataset_name_in_sources_load():
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        sources.load("nope")


def test_data_dir_that_is_not_a_folder(tmp_path, cli_error, isolated_sources):
    line = cli_error("data", "--dataset", "beijing", "--data-dir", tmp_path / "absent")
    assert "absent" in line and "not a folder" in line


# ---------------------------------------------------------------- checksums and lookup


def test_checksum_mismatch_names_file_and_both_hashes(tmp_path, cli_error, isolated_sources,
                                                      monkeypatch, beijing_csv):
    def never(*args, **kwargs):
        raise AssertionError("_download must not be called")

    monkeypatch.setattr(sources, "_download", never)
    folder = tmp_path / "data"
    folder.mkdir()
    corrupt = beijing_csv().encode()
    (folder / sources.BEIJING_FILE).write_bytes(corrupt)
    line = cli_error("data", "--dataset", "beijing", "--data-dir", folder)
    assert "checksum mismatch" in line
    assert sources.BEIJING_FILE.lower() in line
    assert sources.BEIJING_SHA256 in line
    assert sources.sha256_of(corrupt) in line
    # no cached copy was written
    assert not isolated_sources.exists() or not any(isolated_sources.iterdir())


def test_corrupt_cached_copy_is_an_error_not_a_redownload(isolated_sources, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("_download must not be called")

    monkeypatch.setattr(sources, "_download", never)
    isolated_sources.mkdir()
    (isolated_sources / sources.BEIJING_FILE).write_text("No,year\n1,2010\n")
    with pytest.raises(DataError, match="checksum mismatch"):
        sources.load_beijing()


def test_multisite_checksum_mismatch(tmp_path, isolated_sources, monkeypatch):
    monkeypatch.setattr(sources, "_download", lambda *a, **k: pytest.fail("download"))
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / sources.multisite_file("Dongsi")).write_text("No,year\n1,2013\n")
    with pytest.raises(DataError, match="checksum mismatch") as info:
        sources.load_multisite(folder)
    assert sources.MULTISITE_SHA256["Dongsi"] in str(info.value)


@pytest.fixture
def three_copies(tmp_path, isolated_sources, monkeypatch, beijing_csv):
    """The same tiny Beijing file in a --data-dir, a FORECAST_DATA_DIR and the cache."""
    text = beijing_csv()
    monkeypatch.setattr(sources, "BEIJING_SHA256", sources.sha256_of(text.encode()))
    folders = {"flag": tmp_path / "flag", "env": tmp_path / "env" / "nested",
               "cache": isolated_sources}
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / sources.BEIJING_FILE).write_text(text)
    folders["env"] = tmp_path / "env"   # found in a subfolder
    return folders


def _used(loaded: sources.Loaded) -> str:
    (path,) = loaded.files
    return path


def test_lookup_order_data_dir_first(three_copies, monkeypatch):
    monkeypatch.setenv("FORECAST_DATA_DIR", str(three_copies["env"]))
    loaded = sources.load_beijing(three_copies["flag"])
    assert _used(loaded).startswith(str(three_copies["flag"]))
    assert len(loaded.hourly) == 48


def test_lookup_order_env_before_cache(three_copies, monkeypatch):
    monkeypatch.setenv("FORECAST_DATA_DIR", str(three_copies["env"]))
    assert _used(sources.load_beijing(None)).startswith(str(three_copies["env"] / "nested"))


def test_lookup_order_cache_last(three_copies):
    assert _used(sources.load_beijing(None)).startswith(str(three_copies["cache"]))


def test_lookup_order_through_the_cli(three_copies, monkeypatch, cli):
    monkeypatch.setenv("FORECAST_DATA_DIR", str(three_copies["env"]))
    code, out, err = cli("data", "--dataset", "beijing", "--data-dir", three_copies["flag"],
                         "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert list(summary["files"]) == [str(three_copies["flag"] / sources.BEIJING_FILE)]
    assert summary["hourly_rows"] == 48 and summary["days"] == 2


def test_offline_without_a_local_copy(isolated_sources, monkeypatch, cli_error):
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(sources.urllib.request, "urlopen", offline)
    line = cli_error("data", "--dataset", "beijing")
    assert calls, "the download was not attempted"
    assert "--data-dir" in line and sources.BEIJING_FILE.lower() in line
    assert not any(p.is_file() for p in isolated_sources.rglob("*"))


def test_offline_multisite_without_a_local_copy(isolated_sources, monkeypatch, cli_error):
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(sources.urllib.request, "urlopen", offline)
    line = cli_error("data", "--dataset", "beijing-multisite")
    assert "--data-dir" in line and sources.MULTISITE_ZIP.lower() in line


# ---------------------------------------------------------------- normalisation


def test_rows_whose_time_goes_back_are_refused(tmp_path, cli_error):
    """A shuffled file, or one whose day and month are swapped in some dates, is an error
    naming the first data row where a station's time goes back: sorting would hide it."""
    rows = hourly_rows(n=48)
    shuffled = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "s.csv",
                                                                        shuffled)))
    first = next(i for i in range(1, 48) if shuffled[i]["timestamp"] < shuffled[i - 1]["timestamp"])
    assert f"time goes back at data row {first + 1}: station test site" in line
    assert f"on data row {first}" in line
    days = [{**row, "timestamp": f"2012-{d:02d}-01 00:00"} for d, row in
            zip((1, 2, 3, 4), hourly_rows(n=4), strict=True)]
    days[2]["timestamp"] = "2012-01-03 00:00"          # 2012-03-01 written day first
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "d.csv",
                                                                        days)))
    assert "time goes back at data row 3: station test site at 2012-01-03 00:00 after " \
        "2012-02-01 00:00 on data row 2" in line


def test_negative_pm25_counted(tmp_path, cli):
    rows = hourly_rows(n=48)
    rows[3]["PM25"] = -2.0
    rows[40]["PM25"] = -0.5
    rows[7]["PM25"] = np.nan
    csv = write_csv(tmp_path / "site.csv", rows)
    loaded = sources.load_csv({"path": csv, "station": "X", "time_column": "timestamp",
                               "columns": {"pm25": "PM25"}})
    assert list(loaded.hourly["time"]) == list(pd.date_range("2012-01-01", periods=48, freq="h"))
    hourly, report = quality.check(loaded.hourly)
    assert report.count("pm25", "below_min") == 2
    assert hourly["pm25"].isna().sum() == 3
    assert np.isnan(hourly["pm25"].iloc[3]) and np.isnan(hourly["pm25"].iloc[40])
    assert hourly["pm25"].iloc[4] == pytest.approx(34.0)

    code, out, err = cli("data", "--config", csv_config(tmp_path, csv), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["negative_pm25"] == 2 and summary["missing_pm25"] == 3


def test_hourly_frame_is_categorical_and_sorted_by_station_name():
    times = pd.date_range("2012-01-01", periods=3, freq="h")
    # the stations interleaved hour by hour, as a file sorted by time holds them
    frame = pd.DataFrame({"station": ["s2", "s10", "s2", "s10", "s2", "s10"],
                          "time": times[[0, 0, 1, 1, 2, 2]], "pm25": np.arange(6.0),
                          "wind_dir": np.array(["NW", "calm", None, "N", "SSE", "NW"],
                                               dtype=object)})
    hourly = validate_hourly(frame, "t")
    assert isinstance(hourly["station"].dtype, pd.CategoricalDtype)
    assert list(hourly["station"].cat.categories) == ["s10", "s2"]      # as text sorts
    assert hourly["station"].tolist() == ["s10"] * 3 + ["s2"] * 3
    assert hourly["time"].tolist() == list(times) * 2
    assert hourly["pm25"].tolist() == [1.0, 3.0, 5.0, 0.0, 2.0, 4.0]
    assert hourly["wind_dir"].dtype == WIND_DIR_DTYPE
    assert hourly["wind_dir"].astype(object).where(hourly["wind_dir"].notna()).tolist()[:4] == \
        ["calm", "N", "NW", "NW"]
    assert hourly["wind_dir"].isna().tolist() == [False] * 4 + [True, False]
    # a categorical station column with names no longer present (a selection) is tidied,
    # one whose categories are not in name order is put in it
    subset = validate_hourly(hourly[hourly["station"] == "s2"], "t")
    assert list(subset["station"].cat.categories) == ["s2"]
    unsorted = frame.assign(station=pd.Categorical(frame["station"], categories=["s2", "s10"]))
    pd.testing.assert_frame_equal(validate_hourly(unsorted, "t"), hourly)
    # the wind helpers read categorical and plain text columns alike
    text = hourly["wind_dir"].astype(object)
    assert np.array_equal(sector_codes(text), sector_codes(hourly["wind_dir"]))
    assert np.array_equal(compass_to_degrees(text), compass_to_degrees(hourly["wind_dir"]),
                          equal_nan=True)


# ---------------------------------------------------------------- generic CSV


def _spec(path, **extra) -> dict:
    spec = {"path": str(path), "columns": {"pm25": "PM25"}}
    spec.update(extra)
    return spec


def test_csv_datetime_column_equals_year_month_day_hour_columns(tmp_path):
    times = pd.date_range("2012-03-01", periods=30, freq="h")
    pm25 = np.arange(30) * 1.5
    pd.DataFrame({"when": times.strftime("%d/%m/%Y %H:%M"), "PM25": pm25}).to_csv(
        tmp_path / "a.csv", index=False)
    pd.DataFrame({"Y": times.year, "M": times.month, "D": times.day, "H": times.hour,
                  "PM25": pm25}).to_csv(tmp_path / "b.csv", index=False)
    a = sources.load_csv(_spec(tmp_path / "a.csv", station="S", time_column="when",
                               time_format="%d/%m/%Y %H:%M")).hourly
    b = sources.load_csv(_spec(tmp_path / "b.csv", station="S",
                               time_columns=["Y", "M", "D", "H"])).hourly
    assert list(a["time"]) == list(times)
    pd.testing.assert_frame_equal(a, b)


def test_csv_fixed_station_name_vs_station_column(tmp_path):
    times = pd.date_range("2012-03-01", periods=24, freq="h")
    frame = pd.DataFrame({"t": list(times.astype(str)) * 2, "site": ["B"] * 24 + ["A"] * 24,
                          "PM25": np.arange(48.0)})
    frame.to_csv(tmp_path / "two.csv", index=False)
    both = sources.load_csv(_spec(tmp_path / "two.csv", time_column="t",
                                  station_column="site")).hourly
    assert sorted(both["station"].unique()) == ["A", "B"]
    assert list(both["station"]) == ["A"] * 24 + ["B"] * 24   # sorted by station, time
    assert both.loc[both["station"] == "A", "pm25"].tolist() == list(np.arange(24.0, 48.0))

    frame[frame["site"] == "A"].to_csv(tmp_path / "one.csv", index=False)
    fixed = sources.load_csv(_spec(tmp_path / "one.csv", time_column="t",
                                   station="My station")).hourly
    assert set(fixed["station"]) == {"My station"}
    unnamed = sources.load_csv(_spec(tmp_path / "one.csv", time_column="t")).hourly
    assert set(unnamed["station"]) == {"one"}   # the file's stem


def test_csv_wind_direction_degrees_become_compass_names(tmp_path):
    degrees = [0, 45, 90, 350, 200, 191, 359.9, np.nan, 22.5, 315]
    expected = ["N", "NE", "E", "N", "SSW", "S", "N", np.nan, "NNE", "NW"]
    n = len(degrees)
    pd.DataFrame({"t": pd.date_range("2012-01-01", periods=n, freq="h").astype(str),
                  "PM25": 10.0, "DIR": degrees}).to_csv(tmp_path / "w.csv", index=False)
    spec = _spec(tmp_path / "w.csv", time_column="t", wind_dir_degrees=True,
                 columns={"pm25": "PM25", "wind_dir": "DIR"})
    got = sources.load_csv(spec).hourly["wind_dir"].tolist()
    assert [g if isinstance(g, str) else "nan" for g in got] == \
        [e if isinstance(e, str) else "nan" for e in expected]
    assert degrees_to_compass(np.array([180.0])).tolist() == ["S"]


def test_csv_compass_names_declared_as_degrees_are_refused(tmp_path, cli_error):
    """wind_dir_degrees on a column of compass names would leave every direction missing:
    one error that says so, from the config key and from the flag alike."""
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    for in_config, flag in ((True, ()), (False, ("--wind-dir-degrees",))):
        config = csv_config(tmp_path, csv, wind_dir_degrees=in_config)
        line = cli_error("data", "--config", config, *flag)
        assert "site.csv: the wind direction column holds compass names ('nw'), not " \
            "degrees: drop [data] wind_dir_degrees = true or --wind-dir-degrees" in line


def test_csv_text_in_a_degrees_column_is_flagged_and_set_missing(tmp_path, cli_error):
    """Text in a wind direction column of degrees ("VRB") is text where a number belongs:
    missing and flagged, as in any numeric column; --strict refuses it."""
    rows = hourly_rows(48)
    for i, row in enumerate(rows):
        row["WD"] = str(15 * i % 360)
    rows[4]["WD"] = rows[7]["WD"] = "VRB"
    rows[9]["WD"] = "999"                             # a missing-value code
    csv = write_csv(tmp_path / "site.csv", rows)
    loaded = sources.load_csv(_spec(csv, time_column="timestamp", station="S",
                                    wind_dir_degrees=True,
                                    columns={"pm25": "PM25", "wind_dir": "WD"}))
    flags = {f.reason: f for f in loaded.source_flags}
    assert set(flags) == {"not_a_number", "invalid_direction"}
    assert flags["not_a_number"].column == "wind_dir" and flags["not_a_number"].count == 2
    assert flags["not_a_number"].value == "VRB"
    assert flags["not_a_number"].time == "2012-01-01 04:00"
    assert flags["invalid_direction"].count == 1 and flags["invalid_direction"].value == 999
    wind = loaded.hourly["wind_dir"]
    assert wind.isna().tolist()[:11] == [False] * 4 + [True] + [False] * 2 + [True] + [False] \
        + [True, False]
    assert wind.iloc[6] == "E" and wind.notna().sum() == 45       # 90°
    line = cli_error("data", "--config", csv_config(tmp_path, csv, wind_dir_degrees=True),
                     "--strict")
    assert "--strict: 3 flagged value(s); the first is wind_dir = 'vrb' at test site " \
        "2012-01-01 04:00 (text where a number belongs)" in line


def test_csv_compass_text_is_normalised(tmp_path):
    names = ["nw", " NE", "cv", "CALM", "ssw", None]
    pd.DataFrame({"t": pd.date_range("2012-01-01", periods=6, freq="h").astype(str),
                  "PM25": 10.0, "WD": names}).to_csv(tmp_path / "w.csv", index=False)
    spec = _spec(tmp_path / "w.csv", time_column="t", columns={"pm25": "PM25", "wind_dir": "WD"})
    got = sources.load_csv(spec).hourly["wind_dir"].tolist()
    assert got[:5] == ["NW", "NE", "calm", "calm", "SSW"] and pd.isna(got[5])


def test_csv_units_are_recorded_and_unmapped_weather_absent(tmp_path):
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    loaded = sources.load(f"csv:{csv}", csv={
        "time_column": "timestamp", "station": "S",
        "columns": {"pm25": "PM25", "rain": "R"}, "units": {"rain": "mm", "pm25": "µg/m³"}})
    assert loaded.dataset == "csv"
    assert loaded.units == {"rain": "mm", "pm25": "µg/m³"}
    assert list(loaded.files) == [csv]
    assert loaded.files[csv] == sources.sha256_of((tmp_path / "site.csv").read_bytes())
    assert list(loaded.hourly.columns) == ["station", "time", "pm25", "rain"]


def test_beijing_parser_maps_to_the_canonical_schema(beijing_csv):
    text = beijing_csv(rows=6).replace(",NW,4.0,", ",cv,4.0,").replace(",NW,5.0,", ",cv,5.0,")
    hourly = sources.parse_beijing(text.encode(), "tiny")
    assert list(hourly.columns) == ["station", "time", "pm25", "temp", "dewp", "pres",
                                    "wind_speed", "wind_dir", "rain", "snow"]
    assert set(hourly["station"]) == {sources.BEIJING_STATION}
    assert hourly["wind_dir"].tolist() == ["NW", "NW", "NW", "calm", "calm", "NW"]
    # cumulated Iws 1,2,3 | 4,5 | 6 → hourly speed 1,1,1 | 4,1 | 6
    assert hourly["wind_speed"].tolist() == [1.0, 1.0, 1.0, 4.0, 1.0, 6.0]


def test_a_corrupt_download_is_never_cached(tmp_path, monkeypatch, capsys):
    import io as _io

    monkeypatch.setattr(sources, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv("FORECAST_DATA_DIR", raising=False)

    class Response(_io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(sources.urllib.request, "urlopen",
                        lambda url, timeout=None: Response(b"year,month\n2010,1\n"))
    code = forecast_cli.main(["data", "--dataset", "beijing"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "checksum mismatch" in err[0] and sources.BEIJING_SHA256 in err[0]
    assert not (tmp_path / "cache" / sources.BEIJING_FILE).exists()


# ---------------------------------------------------------------- time steps and clocks


def _sub_hourly(tmp_path, minutes: int = 30, days: int = 2):
    times = pd.date_range("2012-01-01", periods=days * 24 * 60 // minutes, freq=f"{minutes}min")
    n = len(times)
    wind = np.array(["NW", "N", "NW", "calm"] * (n // 4 + 1))[:n]
    frame = pd.DataFrame({"timestamp": times.strftime("%Y-%m-%d %H:%M"),
                          "PM25": np.arange(n, dtype=float), "T": np.linspace(-5, 5, n),
                          "WS": 2.0, "WD": wind, "R": 0.5})
    frame.loc[3, "PM25"] = np.nan                     # the second hour keeps one value
    return frame


def test_sub_hourly_values_are_averaged_into_hours(tmp_path):
    frame = _sub_hourly(tmp_path)
    frame.to_csv(tmp_path / "half.csv", index=False)
    loaded = sources.load_csv(_spec(tmp_path / "half.csv", station="S", time_column="timestamp",
                                    columns={"pm25": "PM25", "temp": "T", "wind_dir": "WD",
                                             "rain": "R"}))
    hourly = loaded.hourly
    assert len(hourly) == 48 and (hourly["time"] == pd.date_range(
        "2012-01-01", periods=48, freq="h")).all()
    assert hourly["pm25"].iloc[0] == 0.5 and hourly["pm25"].iloc[1] == 2.0   # 2, (3 missing)
    assert hourly["pm25"].iloc[2] == 4.5
    np.testing.assert_allclose(hourly["temp"], frame["T"].to_numpy().reshape(-1, 2).mean(1))
    assert (hourly["rain"] == 1.0).all()                           # millimetres add up
    assert list(hourly["wind_dir"].iloc[:2]) == ["N", "NW"]   # ties: the first name, calm last
    assert len(loaded.notes) == 1 and "96 rows at a step under an hour (median 30 min) " \
        "were averaged into 48 hourly values" in loaded.notes[0]


def test_sub_hourly_values_labelled_by_their_end_stay_in_their_own_hour_and_day(tmp_path):
    """10-minute values labelled by their end (00:10 closes 00:00-00:10): each lands in the
    hour it was measured in. Moved back a whole hour, the first 50 minutes of day D+1
    became day D's hour 23, a leak into every day-D feature: perturbing what was measured
    on D+1 must leave issue day D's features alone."""
    from forecast.daily import to_daily
    from forecast.task import build_task

    rng = np.random.default_rng(0)
    ends = pd.date_range("2015-01-01 00:10", "2015-03-01 00:00", freq="10min")
    pm25 = rng.gamma(2.0, 30.0, len(ends)).round(1)
    frame = pd.DataFrame({"time": ends.strftime("%Y-%m-%d %H:%M"), "PM25": pm25})
    spec = _spec(tmp_path / "a.csv", station="S", time_column="time", time_label="end")
    frame.to_csv(tmp_path / "a.csv", index=False)
    loaded = sources.load_csv(spec)
    day = pd.Timestamp("2015-02-10")
    hour_23 = loaded.hourly.set_index("time")["pm25"][day + pd.Timedelta(hours=23)]
    measured = (ends > day + pd.Timedelta(hours=23)) & (ends <= day + pd.Timedelta(days=1))
    assert hour_23 == pytest.approx(pm25[measured].mean())
    assert loaded.hourly["time"].iloc[0] == pd.Timestamp("2015-01-01")
    later = ends > day + pd.Timedelta(days=1, minutes=10)     # measured on D+1 and after
    frame.loc[later, "PM25"] = frame.loc[later, "PM25"] * 3 + 100
    frame.to_csv(tmp_path / "b.csv", index=False)
    moved = sources.load_csv({**spec, "path": str(tmp_path / "b.csv")})
    splits = dict(dataset="csv", train_end="2015-02-01", val_end="2015-02-15",
                  test_end="2015-02-27")
    before, after = (build_task(h.hourly, to_daily(h.hourly), **splits) for h in (loaded, moved))
    row = (before.rows["issue_day"] == day).to_numpy()
    np.testing.assert_array_equal(before.X[row], after.X[row])
    assert not np.array_equal(before.X[np.roll(row, 1)], after.X[np.roll(row, 1)])


@pytest.mark.parametrize("case", ["hourly and 10-minute stations", "hourly then 10-minute",
                                  "10-minute, every other missing"])
def test_end_labels_are_read_per_station_whatever_the_steps_around_them(tmp_path, case):
    """Mixed or gappy steps: one median step for the whole file moved 10-minute values an
    hour back wherever it came out at an hour (or 20 minutes), and values measured on
    day D+1 into day D. Each value here is 10 µg/m³ but those measured on D+1, 1010."""
    def rows(site, start, end, step, keep=None):
        starts = pd.date_range(start, end, freq=step, inclusive="left")
        frame = pd.DataFrame({"site": site, "start": starts, "pm25": np.where(
            starts >= pd.Timestamp("2015-02-21"), 1010.0, 10.0)})
        frame["time"] = (starts + pd.Timedelta(step)).strftime("%Y-%m-%d %H:%M")
        return frame if keep is None else frame[keep(frame)]

    station = "B"
    if case == "hourly and 10-minute stations":
        frame = pd.concat([rows("A", "2015-01-01", "2015-03-01", "1h"),
                           rows("B", "2015-02-19", "2015-02-22", "10min")])
    elif case == "hourly then 10-minute":
        station = "A"
        frame = pd.concat([rows("A", "2015-01-01", "2015-02-19", "1h"),
                           rows("A", "2015-02-19", "2015-02-23", "10min")])
    else:
        frame = rows("B", "2015-02-19", "2015-02-23", "10min",
                     keep=lambda f: f["start"].dt.minute % 20 == 0)
    frame.drop(columns="start").to_csv(tmp_path / "a.csv", index=False)
    hourly = sources.load_csv(_spec(tmp_path / "a.csv", station_column="site",
                                    time_column="time", time_label="end",
                                    columns={"pm25": "pm25"})).hourly
    mine = hourly[hourly["station"] == station].set_index("time")["pm25"]
    day = mine[pd.Timestamp("2015-02-20"):pd.Timestamp("2015-02-20 23:00")]
    assert len(day) == 24 and (day == 10.0).all()
    assert mine[pd.Timestamp("2015-02-21")] == 1010.0


def test_hourly_values_stamped_off_the_hour_need_their_label_said(tmp_path):
    """00:30 as the start of its period runs to 01:30, and the value stamped 23:30 half
    into the next day: counted in hour 23, as before, half an hour of day D+1 fed day D.
    Start labels on such data are refused; as the middle of their hour (00:00-01:00 for
    00:30) or its end (23:30-00:30) they count in hour 0."""
    times = pd.date_range("2012-01-01 00:30", periods=48, freq="h")
    pd.DataFrame({"t": times.strftime("%Y-%m-%d %H:%M"), "PM25": np.arange(48.0)}).to_csv(
        tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match="values whose periods run into the next hour as "
                                        "starts .the first S 2012-01-01 00:30, data row 1, a "
                                        "step of 1 h.; set .data. time_label = \"middle\""):
        sources.load_csv(_spec(tmp_path / "a.csv", station="S", time_column="t"))
    for label in ("end", "middle"):
        loaded = sources.load_csv(_spec(tmp_path / "a.csv", station="S", time_column="t",
                                        time_label=label))
        assert (loaded.hourly["time"] == times - pd.Timedelta(minutes=30)).all()
        assert (loaded.hourly["pm25"] == np.arange(48.0)).all()
        assert "48 times off the hour" in loaded.notes[0]
    # finer steps off their grid run over too (10 minutes at 23:55; 30 at 23:45), and an
    # hourly time that cannot be a middle (23:45 as the middle of 23:15-00:15)
    for freq, first in (("10min", "00:05"), ("30min", "00:15")):
        odd = pd.date_range(f"2012-01-01 {first}", periods=200, freq=freq)
        pd.DataFrame({"t": odd.strftime("%Y-%m-%d %H:%M"), "PM25": 1.0}).to_csv(
            tmp_path / "odd.csv", index=False)
        with pytest.raises(DataError, match="values whose periods run into the next hour"):
            sources.load_csv(_spec(tmp_path / "odd.csv", station="S", time_column="t"))
    # ... and a stretch of hourly values at hh:30 in a station that goes on at 10 minutes
    switch = times.append(pd.date_range(times[-1] + pd.Timedelta(minutes=10), periods=60,
                                        freq="10min"))
    pd.DataFrame({"t": switch.strftime("%Y-%m-%d %H:%M"), "PM25": 1.0}).to_csv(
        tmp_path / "switch.csv", index=False)
    with pytest.raises(DataError, match="run into the next hour as starts .the first S "
                                        "2012-01-01 00:30, data row 1, a step of 1 h"):
        sources.load_csv(_spec(tmp_path / "switch.csv", station="S", time_column="t"))
    quarter = pd.date_range("2012-01-01 00:45", periods=48, freq="h")
    pd.DataFrame({"t": quarter.strftime("%Y-%m-%d %H:%M"), "PM25": 1.0}).to_csv(
        tmp_path / "q.csv", index=False)
    with pytest.raises(DataError, match="times that cannot mark the middle of their period"):
        sources.load_csv(_spec(tmp_path / "q.csv", station="S", time_column="t",
                               time_label="middle"))
    # 10-minute values (gappy, some readings an hour from the next) stay in the hour they
    # start in
    tens = pd.date_range("2012-01-01 00:00", periods=6 * 48, freq="10min")
    tens = tens[((np.arange(len(tens)) % 5) != 3) & ((np.arange(len(tens)) % 17) > 10)]
    pd.DataFrame({"t": tens.strftime("%Y-%m-%d %H:%M"), "PM25": tens.hour.to_numpy(float)}
                 ).to_csv(tmp_path / "c.csv", index=False)
    hourly = sources.load_csv(_spec(tmp_path / "c.csv", station="S", time_column="t")).hourly
    assert (hourly["pm25"] == hourly["time"].dt.hour).all()
    assert len(hourly) == len(set(tens.floor("h")))
    hourly = pd.date_range("2012-01-01", periods=48, freq="h")
    pd.DataFrame({"t": hourly.strftime("%Y-%m-%d %H:%M"), "PM25": 1.0}).to_csv(
        tmp_path / "b.csv", index=False)
    assert sources.load_csv(_spec(tmp_path / "b.csv", station="S", time_column="t")).notes == []


def test_a_duplicated_time_in_sub_hourly_data_is_still_an_error(tmp_path, cli_error):
    rows = _sub_hourly(tmp_path).to_dict("records")
    csv = write_csv(tmp_path / "site.csv", rows[:10] + rows[9:])
    line = cli_error("data", "--config", csv_config(tmp_path, csv))
    assert "1 duplicated station-hour(s), first test site at 2012-01-01 04:30" in line


@pytest.mark.parametrize("freq, text", [("D", "24 h"), ("3h", "3 h"), ("7D", "7 days")])
def test_data_coarser_than_hourly_is_refused(tmp_path, cli_error, freq, text):
    times = pd.date_range("2012-01-01", periods=400, freq=freq)
    rows = [{"timestamp": f"{t:%Y-%m-%d %H:%M}", "PM25": 30.0, "T": 1.0, "WS": 2.0,
             "WD": "NW", "R": 0.0} for t in times]
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "d.csv", rows)))
    assert f"the rows are {text} apart" in line and "needs hourly values" in line


def test_a_coarse_station_beside_hourly_ones_is_refused_by_name(tmp_path):
    """One median over every station's steps let a daily station through beside hourly
    ones (its days then all invalid, without a word)."""
    hourly = pd.DataFrame({"site": "A", "time": pd.date_range("2015-01-01", periods=24 * 60,
                                                              freq="h")})
    daily = pd.DataFrame({"site": "B", "time": pd.date_range("2015-01-01", periods=60,
                                                             freq="D")})
    frame = pd.concat([hourly, daily]).assign(pm25=10.0)
    frame["time"] = frame["time"].dt.strftime("%Y-%m-%d %H:%M")
    frame.to_csv(tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match="the rows of B are 24 h apart"):
        sources.load_csv(_spec(tmp_path / "a.csv", station_column="site", time_column="time",
                               columns={"pm25": "pm25"}))


def test_times_with_utc_offsets(tmp_path, cli_error):
    utc = pd.date_range("2012-03-24", periods=72, freq="h", tz="UTC")     # DST from 03-25
    london = utc.tz_convert("Europe/London")
    rows = [{"timestamp": t.isoformat(), "PM25": float(i)} for i, t in enumerate(london)]
    csv = write_csv(tmp_path / "tz.csv", rows)
    config = write_config(tmp_path / "c.toml", {"dataset": "csv", "path": csv, "station": "S",
                                                 "time_column": "timestamp",
                                                 "columns": {"pm25": "PM25"}})
    line = cli_error("data", "--config", config)
    assert "several utc offsets" in line and "utc_offset" in line
    spec = _spec(tmp_path / "tz.csv", station="S", time_column="timestamp",
                 columns={"pm25": "PM25"})
    hourly = sources.load_csv({**spec, "utc_offset": "+00:00"}).hourly
    assert (hourly["time"] == utc.tz_localize(None)).all()          # one clock: no gap
    hourly = sources.load_csv({**spec, "utc_offset": "-05:00"}).hourly
    assert (hourly["time"] == utc.tz_localize(None) - pd.Timedelta(hours=5)).all()
    with pytest.raises(DataError, match="'8' is not an offset"):
        sources.load_csv({**spec, "utc_offset": "8"})
    # one offset throughout: the clock time as written
    beijing = pd.date_range("2012-03-24", periods=48, freq="h", tz="Asia/Shanghai")
    write_csv(tmp_path / "bj.csv", [{"timestamp": t.isoformat(), "PM25": 1.0} for t in beijing])
    hourly = sources.load_csv(_spec(tmp_path / "bj.csv", station="S",
                                    time_column="timestamp")).hourly
    assert (hourly["time"] == beijing.tz_localize(None)).all()


def test_text_in_a_numeric_column_is_flagged_and_set_missing(tmp_path, cli_error):
    rows = hourly_rows(48)
    for i in (5, 6, 7):
        rows[i]["PM25"] = "<5"                      # below a detection limit, as text
    rows[9]["T"] = "---"
    rows[10]["PM25"] = "n/a"                        # a missing-value marker: missing, no flag
    rows[11]["PM25"] = " "
    csv = write_csv(tmp_path / "site.csv", rows)
    spec = {"path": csv, "station": "S", "time_column": "timestamp",
            "columns": {"pm25": "PM25", "temp": "T"}}
    loaded = sources.load_csv(spec)
    flags = {f.column: f for f in loaded.source_flags}
    assert flags["pm25"].reason == "not_a_number" and flags["pm25"].count == 3
    assert flags["pm25"].value == "<5" and flags["pm25"].time == "2012-01-01 05:00"
    assert flags["temp"].count == 1 and flags["temp"].value == "---"
    assert list(loaded.hourly["pm25"].iloc[4:13].isna()) == [False] + [True] * 3 \
        + [False] * 2 + [True] * 2 + [False]
    assert np.isnan(loaded.hourly["temp"].iloc[9]) and loaded.hourly["pm25"].iloc[12] == 42.0
    line = cli_error("data", "--config", csv_config(tmp_path, csv), "--strict")
    assert "--strict: 4 flagged value(s); the first is pm25 = '<5' at test site 2012-01-01 05:00" \
        " (text where a number belongs)" in line


@pytest.mark.parametrize("sep, decimal", [(";", ","), (";", "."), ("\t", "."), ("|", ".")])
def test_spreadsheet_exports_with_other_separators_read_as_with_commas(tmp_path, sep, decimal):
    frame = pd.DataFrame(hourly_rows(48)).rename(columns={"timestamp": "time of day"})
    frame["PM25"] += 0.25
    frame.loc[3, "T"] = -12.5
    frame.to_csv(tmp_path / "comma.csv", index=False)
    frame.to_csv(tmp_path / "other.csv", index=False, sep=sep, decimal=decimal)
    spec = {"station": "S", "time_column": "time of day",
            "columns": {"pm25": "PM25", "temp": "T", "wind_speed": "WS", "wind_dir": "WD"}}
    comma = sources.load_csv({**spec, "path": str(tmp_path / "comma.csv")}).hourly
    other = sources.load_csv({**spec, "path": str(tmp_path / "other.csv")}).hourly
    pd.testing.assert_frame_equal(comma, other)
    assert other["temp"].iloc[3] == -12.5 and other["pm25"].iloc[0] == 30.25


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_spreadsheet_encodings_of_a_header_with_units(tmp_path, encoding):
    frame = pd.DataFrame(hourly_rows(48)).rename(columns={"PM25": "PM2.5 (µg/m³)"})
    frame.to_csv(tmp_path / "a.csv", index=False, encoding=encoding)
    loaded = sources.load_csv({"path": str(tmp_path / "a.csv"), "station": "S",
                               "time_column": "timestamp", "columns": {"pm25": "PM2.5 (µg/m³)"}})
    assert (loaded.hourly["pm25"] == frame["PM2.5 (µg/m³)"]).all()


def test_times_that_label_the_end_of_their_hour(tmp_path, cli_error, cli):
    starts = pd.date_range("2012-01-01", periods=72, freq="h")
    # the hour 23:00-24:00 is written as 24:00 of its own day, not 00:00 of the next
    day = [(t + pd.Timedelta(minutes=59)).normalize() for t in starts]
    hour = [t.hour + 1 for t in starts]
    written = [f"{d:%Y-%m-%d} {h:02d}:00" for d, h in zip(day, hour, strict=True)]
    assert written[23] == "2012-01-01 24:00" and written[24] == "2012-01-02 01:00"
    pm25 = np.arange(72.0)
    pd.DataFrame({"timestamp": written, "PM25": pm25}).to_csv(tmp_path / "end.csv", index=False)
    pd.DataFrame({"Y": [d.year for d in day], "M": [d.month for d in day],
                  "D": [d.day for d in day], "H": hour, "PM25": pm25}).to_csv(
        tmp_path / "parts.csv", index=False)
    spec = {"station": "S", "columns": {"pm25": "PM25"}, "time_label": "end"}
    by_text = sources.load_csv({**spec, "path": str(tmp_path / "end.csv"),
                                "time_column": "timestamp"}).hourly
    by_parts = sources.load_csv({**spec, "path": str(tmp_path / "parts.csv"),
                                 "time_columns": ["Y", "M", "D", "H"]}).hourly
    assert (by_text["time"] == starts).all() and (by_text["pm25"] == pm25).all()
    pd.testing.assert_frame_equal(by_text, by_parts)
    # an hour labelled by its end, 24:00, without time_label = "end"
    config = write_config(tmp_path / "c.toml", {"dataset": "csv", "path": str(tmp_path / "end.csv"),
                                                 "station": "S", "time_column": "timestamp",
                                                 "columns": {"pm25": "PM25"}})
    line = cli_error("data", "--config", config)
    assert "hour 24 ('2012-01-01 24:00') on data row 24" in line and 'time_label = "end"' in line
    line = cli_error("data", "--config", config, "--time-label", "centre")
    assert "data.time_label = 'centre' is not one of start, end, middle" in line
    code, out, _ = cli("data", "--config", config, "--time-label", "end", "--json")
    assert code == 0 and json.loads(out)["start"] == "2012-01-01 00:00"


def test_a_row_per_parameter_reads_as_a_column_per_parameter(tmp_path, cli_error):
    times = pd.date_range("2012-01-01", periods=48, freq="h")
    wide = pd.DataFrame({"when": list(times.strftime("%Y-%m-%d %H:%M")) * 2,
                         "site": ["B"] * 48 + ["A"] * 48, "PM25": np.arange(96.0),
                         "T": np.linspace(-3, 3, 96), "WD": ["NW", "calm"] * 48})
    wide.loc[5, "PM25"] = np.nan
    wide.to_csv(tmp_path / "wide.csv", index=False)
    # OpenAQ-like: one row per time, site and parameter, parameters interleaved, one
    # parameter the run does not map (no2), one missing value left out altogether
    tidy = wide.rename(columns={"PM25": "pm25", "T": "temperature", "WD": "wind"}).assign(
        no2=1.0).melt(id_vars=["when", "site"], var_name="parameter", value_name="value")
    tidy = tidy.dropna(subset=["value"]).sample(frac=1.0, random_state=0)
    tidy = tidy.sort_values(["site", "when"], kind="stable", ascending=[False, True])
    tidy.to_csv(tmp_path / "tidy.csv", index=False)
    spec = {"time_column": "when", "station_column": "site"}
    expected = sources.load_csv({**spec, "path": str(tmp_path / "wide.csv"),
                                 "columns": {"pm25": "PM25", "temp": "T", "wind_dir": "WD"}})
    loaded = sources.load_csv({**spec, "path": str(tmp_path / "tidy.csv"),
                               "parameter_column": "parameter", "value_column": "value",
                               "columns": {"pm25": "pm25", "temp": "temperature",
                                           "wind_dir": "wind"}})
    pd.testing.assert_frame_equal(loaded.hourly, expected.hourly)
    # a repeated (time, site, parameter) and a mapped parameter the file lacks
    tidy = pd.concat([tidy, tidy[tidy["parameter"] == "pm25"].iloc[[3]]])
    tidy.to_csv(tmp_path / "twice.csv", index=False)
    data = {"dataset": "csv", "path": str(tmp_path / "twice.csv"), "time_column": "when",
            "station_column": "site", "parameter_column": "parameter", "value_column": "value",
            "columns": {"pm25": "pm25"}}
    line = cli_error("data", "--config", write_config(tmp_path / "a.toml", data))
    assert "1 row(s) repeat a time, station and parameter, first parameter=" in line
    data["columns"] = {"pm25": "PM2.5"}
    line = cli_error("data", "--config", write_config(tmp_path / "b.toml", data))
    assert "none of the mapped parameters (pm2.5) is in column 'parameter'" in line
    del data["value_column"]
    line = cli_error("data", "--config", write_config(tmp_path / "c.toml", data))
    assert "parameter_column and value_column go together" in line
    data["value_column"] = "amount"
    line = cli_error("data", "--config", write_config(tmp_path / "d.toml", data))
    assert "mapped column(s) not in the file: amount" in line


def test_known_other_units_are_converted_to_the_canonical_ones(tmp_path):
    rows = hourly_rows(48)
    frame = pd.DataFrame(rows).assign(P=1013.25, D=-3.0)
    frame.to_csv(tmp_path / "si.csv", index=False)
    other = frame.assign(T=frame["T"] * 9 / 5 + 32, D=frame["D"] + 273.15, WS=frame["WS"] * 3.6,
                         P=frame["P"] / 10, R=frame["R"] / 25.4, PM25=frame["PM25"] / 1000)
    other.to_csv(tmp_path / "us.csv", index=False)
    spec = {"station": "S", "time_column": "timestamp",
            "columns": {"pm25": "PM25", "temp": "T", "dewp": "D", "wind_speed": "WS",
                        "pres": "P", "rain": "R"}}
    si = sources.load_csv({**spec, "path": str(tmp_path / "si.csv"),
                           "units": {"temp": "°C", "rain": "0/1 flag"}})
    us = sources.load_csv({**spec, "path": str(tmp_path / "us.csv"),
                           "units": {"temp": "°F", "dewp": "K", "wind_speed": "km/h",
                                     "pres": "kPa", "rain": "inches", "pm25": "mg/m³"}})
    pd.testing.assert_frame_equal(us.hourly, si.hourly, rtol=1e-9)
    assert si.notes == [] and si.units == {"temp": "°C", "rain": "0/1 flag"}
    assert "temp converted from °F to °C" in us.notes
    assert "wind_speed converted from km/h to m/s" in us.notes and len(us.notes) == 6


def test_a_unit_for_a_column_the_mapping_does_not_read_converts_nothing(tmp_path, cli):
    """[data.units] temp = "K" with temp unmapped: no 'temp converted from K' (nothing
    was), but a warning that the unit names a column not read."""
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    spec = {"path": csv, "station": "S", "time_column": "timestamp",
            "columns": {"pm25": "PM25", "wind_speed": "WS"}, "units": {"temp": "K",
                                                                      "wind_speed": "km/h"}}
    loaded = sources.load_csv(spec)
    assert loaded.notes == ["wind_speed converted from km/h to m/s"]
    assert loaded.units == {"wind_speed": "km/h"}
    config = write_config(tmp_path / "c.toml", {"dataset": "csv", **spec})
    code, out, err = cli("data", "--config", config)
    assert code == 0, err
    assert "temp converted" not in out + err and "wind_speed converted" in out
    assert ("warning: [data.units] gives a unit for temp, which [data.columns] does not map; "
            "nothing is converted") in err


def test_a_folder_or_a_pattern_of_files_reads_as_one_table(tmp_path, cli_error):
    times = pd.date_range("2012-01-01", periods=48, freq="h")
    parts = {name: pd.DataFrame({"t": times.strftime("%Y-%m-%d %H:%M"), "site": name,
                                 "PM25": np.arange(48.0) + k})
             for k, name in enumerate(["B", "A", "C"])}
    (tmp_path / "sites").mkdir()
    for name, part in parts.items():
        part.to_csv(tmp_path / "sites" / f"site_{name}.csv", index=False)
    pd.concat(parts.values()).to_csv(tmp_path / "all.csv", index=False)
    (tmp_path / "sites" / "notes.txt").write_text("not data")
    spec = {"time_column": "t", "station_column": "site", "columns": {"pm25": "PM25"}}
    one = sources.load_csv({**spec, "path": str(tmp_path / "all.csv")})
    folder = sources.load_csv({**spec, "path": str(tmp_path / "sites")})
    pattern = sources.load_csv({**spec, "path": str(tmp_path / "sites" / "site_[AB].csv")})
    pd.testing.assert_frame_equal(folder.hourly, one.hourly)
    assert sorted(folder.files) == [str(tmp_path / "sites" / f"site_{n}.csv") for n in "ABC"]
    assert list(pattern.hourly["station"].unique()) == ["A", "B"]
    parts["C"].rename(columns={"PM25": "pm2.5"}).to_csv(tmp_path / "sites" / "site_C.csv",
                                                         index=False)
    config = csv_config(tmp_path, str(tmp_path / "sites"), station_column="site",
                        time_column="t", columns={"pm25": "PM25"})
    assert "site_c.csv: its columns (t, site, pm2.5) are not those of" in cli_error(
        "data", "--config", config)
    # a copy of a file beside it: named, not "time goes back at data row 49"
    parts["A"].to_csv(tmp_path / "sites" / "site_C.csv", index=False)
    (tmp_path / "sites" / "site_A copy.csv").write_bytes(
        (tmp_path / "sites" / "site_A.csv").read_bytes())
    with pytest.raises(DataError, match="site_A.csv holds the same bytes as .*site_A copy.csv"):
        sources.load_csv({**spec, "path": str(tmp_path / "sites")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="a folder with no .csv file"):
        sources.load_csv({**spec, "path": str(tmp_path / "empty")})
    with pytest.raises(DataError, match="no file matches"):
        sources.load_csv({**spec, "path": str(tmp_path / "sites" / "x_*.csv")})


@pytest.mark.parametrize("dates, fmt", [("%Y%m%d", None), ("%Y-%m-%d", None),
                                        ("%d/%m/%Y", "%d/%m/%Y")])
def test_a_date_column_and_an_hour_column(tmp_path, dates, fmt):
    times = pd.date_range("2012-01-30", periods=72, freq="h")
    frame = pd.DataFrame({"date": times.strftime(dates), "hour": times.hour,
                          "PM25": np.arange(72.0)})
    frame.to_csv(tmp_path / "a.csv", index=False)
    spec = {"path": str(tmp_path / "a.csv"), "station": "S", "time_columns": ["date", "hour"],
            "columns": {"pm25": "PM25"}, **({"time_format": fmt} if fmt else {})}
    assert (sources.load_csv(spec).hourly["time"] == times).all()
    # hours 1-24 labelling the hour each ends
    frame.assign(hour=times.hour + 1, date=(times + pd.Timedelta(minutes=59)).normalize(
        ).strftime(dates)).to_csv(tmp_path / "end.csv", index=False)
    ended = sources.load_csv({**spec, "path": str(tmp_path / "end.csv"), "time_label": "end"})
    assert (ended.hourly["time"] == times).all()
    with pytest.raises(DataError, match="hour 24"):
        sources.load_csv({**spec, "path": str(tmp_path / "end.csv")})


def test_a_column_per_station_as_national_archives_publish(tmp_path, cli_error):
    """date,hour,type,1001A,1002A,... with a row per hour and quantity (AQI, PM2.5, PM10,
    ...), one file per day; and a file of PM2.5 alone with a column per station."""
    times = pd.date_range("2014-05-13", periods=72, freq="h")
    rng = np.random.default_rng(3)
    stations = ["1001A", "1002A", "1003A"]
    pm25 = pd.DataFrame(rng.gamma(2, 30, (72, 3)).round(), columns=stations)
    pm25.iloc[5, 1] = np.nan
    long = pd.DataFrame({"t": np.repeat(times.strftime("%Y-%m-%d %H:%M"), 3),
                         "site": stations * 72, "PM25": pm25.to_numpy().ravel()})
    long.to_csv(tmp_path / "long.csv", index=False)
    days = []
    for day, hours in pd.Series(range(72)).groupby(times.date):
        rows = []
        for h in hours:
            for kind in ("AQI", "PM2.5", "PM2.5_24h", "PM10"):
                values = pm25.iloc[h] * (1.0 if kind == "PM2.5" else 1.7)
                rows.append({"date": f"{times[h]:%Y%m%d}", "hour": times[h].hour, "type": kind,
                             **values.to_dict()})
        days.append(pd.DataFrame(rows))
        days[-1].to_csv(tmp_path / f"china_sites_{day:%Y%m%d}.csv", index=False)
    expected = sources.load_csv({"path": str(tmp_path / "long.csv"), "time_column": "t",
                                 "station_column": "site", "columns": {"pm25": "PM25"}})
    archive = sources.load_csv({"path": str(tmp_path / "china_sites_*.csv"),
                                "time_columns": ["date", "hour"], "stations_in_columns": True,
                                "parameter_column": "type", "columns": {"pm25": "PM2.5"}})
    pd.testing.assert_frame_equal(archive.hourly, expected.hourly)
    assert len(archive.files) == 3
    # PM2.5 alone, a column per station: the cells are PM2.5
    pd.concat(days).query("type == 'PM2.5'").drop(columns="type").to_csv(
        tmp_path / "pm25_only.csv", index=False)
    alone = sources.load_csv({"path": str(tmp_path / "pm25_only.csv"),
                              "time_columns": ["date", "hour"], "stations_in_columns": True,
                              "columns": {"pm25": "PM2.5"}})
    pd.testing.assert_frame_equal(alone.hourly, expected.hourly)
    config = csv_config(tmp_path, str(tmp_path / "pm25_only.csv"), station="",
                        time_columns=["date", "hour"], stations_in_columns=True,
                        columns={"pm25": "PM2.5", "temp": "T"})
    config_text = (tmp_path / "config.toml").read_text().replace('time_column = "timestamp"\n', "")
    (tmp_path / "config.toml").write_text(config_text)
    assert "maps pm25 alone" in cli_error("data", "--config", config)


def test_parameter_codes_and_a_mapping_written_as_numbers(tmp_path, cli_error):
    """EPA-style parameter codes (88101 = PM2.5) and a TOML mapping written as numbers."""
    times = pd.date_range("2012-01-01", periods=48, freq="h")
    tidy = pd.DataFrame({"t": np.tile(times.strftime("%Y-%m-%d %H:%M"), 2),
                         "code": np.repeat([88101, 62101], 48),
                         "value": np.r_[np.arange(48.0), np.linspace(-2, 2, 48)]})
    tidy.to_csv(tmp_path / "aqs.csv", index=False)
    loaded = sources.load_csv({"path": str(tmp_path / "aqs.csv"), "station": "S",
                               "time_column": "t", "parameter_column": "code",
                               "value_column": "value",
                               "columns": {"pm25": 88101, "temp": "62101"}})
    assert (loaded.hourly["pm25"] == np.arange(48.0)).all()
    np.testing.assert_allclose(loaded.hourly["temp"], np.linspace(-2, 2, 48))
    csv = write_csv(tmp_path / "site.csv", hourly_rows())
    line = cli_error("data", "--config", csv_config(tmp_path, csv, columns={"pm25": 25}))
    assert "mapped column(s) not in the file: 25" in line


def test_a_station_without_a_valid_day_is_named(tmp_path, cli):
    times = pd.date_range("2012-01-01", periods=72, freq="h")
    frame = pd.DataFrame({"timestamp": np.tile(times.strftime("%Y-%m-%d %H:%M"), 2),
                          "site": np.repeat(["Live", "Dead"], 72),
                          "PM25": np.r_[np.arange(72.0), [np.nan] * 60, np.arange(12.0)]})
    csv = write_csv(tmp_path / "two.csv", frame.to_dict("records"))
    config = csv_config(tmp_path, csv, station="", station_column="site",
                        columns={"pm25": "PM25"})
    code, _, err = cli("data", "--config", config)
    assert code == 0
    assert ("warning: 1 station(s) without a single valid daily mean (≥ 18 hourly PM2.5 "
            "values): Dead; they give no training or scored day") in err


def test_data_without_a_valid_day_says_how_many_hours_a_day_needs(tmp_path, cli, cli_error):
    """Every other hour missing: 12 values a day, under the 75 % rule's 18."""
    rows = [dict(r, PM25=r["PM25"] if k % 2 else None)
            for k, r in enumerate(hourly_rows(n=24 * 40))]
    config = csv_config(tmp_path, write_csv(tmp_path / "half.csv", rows))
    line = cli_error("run", "--config", config, "--models", "persistence")
    assert ("no valid daily mean: a day needs at least 18 hourly pm2.5 values ([data] "
            "min_hours) and the data's days have at most 12") in line
    code, out, err = cli("data", "--config", config)          # the summary still shows it
    assert code == 0 and "valid days     0" in out, err


def test_a_clock_that_repeats_an_hour_is_named_as_the_likely_cause(tmp_path, cli_error):
    """Local times of a DST zone written without their offset repeat 01:00 in autumn."""
    local = pd.date_range("2012-10-27", periods=72, freq="h", tz="UTC").tz_convert(
        "Europe/London")
    rows = [{"timestamp": f"{t:%Y-%m-%d %H:%M}", "PM25": 1.0, "T": 1.0, "WS": 1.0, "WD": "N",
             "R": 0.0} for t in local]
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "l.csv", rows)))
    assert "1 duplicated station-hour(s), first test site at 2012-10-28 01:00" in line
    assert "daylight saving time ends" in line and "time_zone" in line
    rows = hourly_rows(48, start="2012-06-01")
    rows[30]["timestamp"] = rows[29]["timestamp"]
    line = cli_error("data", "--config", csv_config(tmp_path, write_csv(tmp_path / "d.csv", rows)))
    assert "duplicated" in line and "daylight" not in line


# ---------------------------------------------------------------- a local clock with DST


def _wall_clock_rows(utc: pd.DatetimeIndex, zone: str, stations=("S",)) -> list[dict]:
    """Rows written on ``zone``'s wall clock without offsets, hour by hour and station
    by station within each hour; PM2.5 the hour's number since the first."""
    local = utc.tz_convert(zone)
    return [{"timestamp": f"{t:%Y-%m-%d %H:%M}", "site": station, "PM25": float(i)}
            for i, t in enumerate(local) for station in stations]


def test_a_wall_clock_with_daylight_saving_time_is_read_on_standard_time(tmp_path):
    """Autumn: 01:00 comes twice; each station's first is daylight time, its second
    standard time. Every hour lands once on the zone's standard clock (GMT here)."""
    utc = pd.date_range("2012-10-27", periods=72, freq="h", tz="UTC")
    csv = write_csv(tmp_path / "l.csv", _wall_clock_rows(utc, "Europe/London", ("A", "B")))
    spec = _spec(csv, station_column="site", time_column="timestamp", time_zone="Europe/London")
    hourly = sources.load_csv(spec).hourly
    for station in ("A", "B"):
        one = hourly[hourly["station"] == station]
        assert (one["time"].to_numpy() == utc.tz_localize(None).to_numpy()).all()
        assert (one["pm25"].to_numpy() == np.arange(72.0)).all()
    # summer: the wall clock is an hour ahead of standard time (CET for Paris)
    utc = pd.date_range("2012-06-01", periods=48, freq="h", tz="UTC")
    csv = write_csv(tmp_path / "p.csv", _wall_clock_rows(utc, "Europe/Paris"))
    loaded = sources.load_csv({**spec, "path": csv, "time_zone": "Europe/Paris"})
    assert (loaded.hourly["time"].to_numpy()
            == (utc.tz_localize(None) + pd.Timedelta(hours=1))).all()
    assert "times read on Europe/Paris standard time, UTC+01:00" in loaded.notes[0]
    # spring: the skipped hour is simply absent, and the standard clock has no gap
    utc = pd.date_range("2012-03-24", periods=72, freq="h", tz="UTC")
    csv = write_csv(tmp_path / "s.csv", _wall_clock_rows(utc, "America/New_York"))
    hourly = sources.load_csv({**spec, "path": csv, "time_zone": "America/New_York"}).hourly
    assert (hourly["time"].diff().dropna() == pd.Timedelta(hours=1)).all()
    # southern hemisphere: standard time is the (smaller) July offset, +10 for Sydney
    assert sources.standard_offset(sources.ZoneInfo("Australia/Sydney"), 2012) == pd.Timedelta(
        hours=10)


def test_a_repeated_hour_given_once_is_read_as_its_later_reading(tmp_path):
    """01:00 given once on the night the clock goes back: taken as standard time, the
    later of its two readings, so that no value is placed before it was measured (as
    daylight time, an end-labelled 01:00 that closes 00:00-01:00 GMT fell in the day
    before)."""
    utc = pd.date_range("2012-10-27", periods=72, freq="h", tz="UTC")
    rows = _wall_clock_rows(utc, "Europe/London")
    repeated = [i for i, row in enumerate(rows) if row["timestamp"] == "2012-10-28 01:00"]
    for dropped, kept in ((repeated[1], repeated[0]), (repeated[0], repeated[1])):
        given = [row for i, row in enumerate(rows) if i != dropped]
        hourly = sources.load_csv(_spec(write_csv(tmp_path / "l.csv", given), station="S",
                                        time_column="timestamp",
                                        time_zone="Europe/London")).hourly
        assert len(hourly) == 71
        assert (hourly["time"] == utc[repeated[1]].tz_localize(None)).any(), kept
        assert not (hourly["time"] == utc[repeated[0]].tz_localize(None)).any()


def test_a_repeated_hour_with_gaps_in_either_pass_is_read_by_row_order(tmp_path):
    """10-minute values through the repeated hour, one reading missing from each pass:
    a time whose twin is missing was read as daylight time and the file refused ("time
    goes back") or placed an hour early."""
    utc = pd.date_range("2012-10-27 22:00", "2012-10-28 04:00", freq="10min", tz="UTC")
    wall = utc.tz_convert("Europe/London")
    frame = pd.DataFrame({"timestamp": wall.strftime("%Y-%m-%d %H:%M"),
                          "PM25": np.arange(len(utc), dtype=float)})
    first_pass = np.flatnonzero(wall.strftime("%H:%M %Z") == "01:20 BST")[0]
    second_pass = np.flatnonzero(wall.strftime("%H:%M %Z") == "01:40 GMT")[0]
    frame = frame.drop(index=[first_pass, second_pass])
    frame.to_csv(tmp_path / "g.csv", index=False)
    hourly = sources.load_csv(_spec(tmp_path / "g.csv", station="S", time_column="timestamp",
                                    time_zone="Europe/London")).hourly
    # on GMT (London's standard time) every hour holds the values measured in it
    expected = pd.Series(np.arange(len(utc), dtype=float), index=utc.tz_localize(None)).drop(
        index=utc[[first_pass, second_pass]].tz_localize(None))
    means = expected.groupby(expected.index.floor("h")).mean()
    np.testing.assert_allclose(hourly.set_index("time")["pm25"].to_numpy(), means.to_numpy())
    assert (hourly["time"].to_numpy() == means.index.to_numpy()).all()


def test_time_zone_with_date_and_hour_columns_and_end_labels(tmp_path):
    utc = pd.date_range("2012-10-27", periods=72, freq="h", tz="UTC")
    ends = (utc + pd.Timedelta(hours=1)).tz_convert("Europe/London")
    rows = [{"date": f"{t:%Y-%m-%d}", "hour": t.hour, "PM25": float(i)}
            for i, t in enumerate(ends)]
    spec = _spec(str(tmp_path / "e.csv"), station="S", time_columns=["date", "hour"],
                 time_zone="Europe/London", time_label="end")
    rows = [{**row, "hour": 24 if row["hour"] == 0 else row["hour"],
             "date": (f"{pd.Timestamp(row['date']) - pd.Timedelta(days=1):%Y-%m-%d}"
                      if row["hour"] == 0 else row["date"])} for row in rows]
    write_csv(tmp_path / "e.csv", rows)
    hourly = sources.load_csv(spec).hourly            # 01:00-24:00, 01:00 twice on 10-28
    assert (hourly["time"].to_numpy() == utc.tz_localize(None).to_numpy()).all()


def test_times_with_offsets_and_a_time_zone_are_read_on_its_standard_time(tmp_path):
    utc = pd.date_range("2012-03-24", periods=72, freq="h", tz="UTC")
    rows = [{"timestamp": t.isoformat(), "PM25": 1.0} for t in utc.tz_convert("Europe/Paris")]
    hourly = sources.load_csv(_spec(write_csv(tmp_path / "o.csv", rows), station="S",
                                    time_column="timestamp", time_zone="Europe/Paris")).hourly
    assert (hourly["time"].to_numpy() == (utc.tz_localize(None) + pd.Timedelta(hours=1))).all()


@pytest.mark.parametrize("extra, expected", [
    ({"time_zone": "Europe/Pariss"}, "'europe/pariss' is not an iana time zone"),
    ({"time_zone": "Europe/Paris", "utc_offset": "+01:00"}, "utc_offset and time_zone both set"),
])
def test_a_bad_time_zone_is_one_line(tmp_path, cli_error, extra, expected):
    csv = write_csv(tmp_path / "d.csv", hourly_rows(48))
    assert expected in cli_error("data", "--config", csv_config(tmp_path, csv, **extra))


def test_an_hour_the_clock_skips_is_an_error_naming_it(tmp_path, cli_error):
    rows = hourly_rows(48, start="2012-03-25")             # 01:00 does not exist in London
    csv = write_csv(tmp_path / "d.csv", rows)
    line = cli_error("data", "--config", csv_config(tmp_path, csv),
                     "--time-zone", "Europe/London")
    assert "2012-03-25 01:00 on data row 2 does not exist in europe/london" in line
    assert "utc_offset" in line


def test_a_wall_clock_in_a_row_per_parameter_or_a_column_per_station(tmp_path):
    """The repeated autumn hour of a tidy file (a row per time, station and parameter)
    gives each parameter twice: the first row is summer time, the second winter time; in
    a file with a column per station each station gives it twice."""
    utc = pd.date_range("2012-10-27", periods=72, freq="h", tz="UTC")
    stamps = [f"{t:%Y-%m-%d %H:%M}" for t in utc.tz_convert("Europe/London")]
    rows = [{"time": stamp, "site": "S", "parameter": name, "value": value + i}
            for i, stamp in enumerate(stamps) for name, value in (("pm25", 0.0),
                                                                   ("temperature", 10.0))]
    tidy = sources.load_csv({"path": write_csv(tmp_path / "tidy.csv", rows),
                             "station_column": "site", "time_column": "time",
                             "parameter_column": "parameter", "value_column": "value",
                             "columns": {"pm25": "pm25", "temp": "temperature"},
                             "time_zone": "Europe/London"}).hourly
    assert (tidy["time"].to_numpy() == utc.tz_localize(None).to_numpy()).all()
    np.testing.assert_array_equal(tidy["pm25"], np.arange(72.0))
    np.testing.assert_array_equal(tidy["temp"], np.arange(72.0) + 10)
    wide = [{"time": stamp, "A": float(i), "B": 100.0 + i} for i, stamp in enumerate(stamps)]
    hourly = sources.load_csv({"path": write_csv(tmp_path / "wide.csv", wide),
                               "time_column": "time", "stations_in_columns": True,
                               "columns": {"pm25": "pm25"},
                               "time_zone": "Europe/London"}).hourly
    for station, offset in (("A", 0.0), ("B", 100.0)):
        one = hourly[hourly["station"] == station]
        assert (one["time"].to_numpy() == utc.tz_localize(None).to_numpy()).all()
        np.testing.assert_array_equal(one["pm25"], np.arange(72.0) + offset)


def test_a_utf16_file_is_read_and_a_gbk_header_gets_an_encoding_hint(tmp_path):
    """A spreadsheet's "Unicode text" export (UTF-16) reads as UTF-8 would; a GBK file
    cannot be told from Windows-1252, so a Chinese header that does not match says why."""
    text = "时间,PM2.5\n2012-01-01 00:00,1\n2012-01-01 01:00,2\n"
    (tmp_path / "u16.csv").write_bytes(text.encode("utf-16"))
    (tmp_path / "u8.csv").write_bytes(text.encode("utf-8"))
    spec = {"station": "S", "time_column": "时间", "columns": {"pm25": "PM2.5"}}
    read = [sources.load_csv({**spec, "path": str(tmp_path / f)}).hourly
            for f in ("u16.csv", "u8.csv")]
    pd.testing.assert_frame_equal(*read)
    (tmp_path / "gbk.csv").write_bytes(text.encode("gbk"))
    with pytest.raises(DataError, match="mapped column.* not in the file: 时间 .*a file that "
                                        "is not UTF-8 is read as Windows-1252: save it as UTF-8"):
        sources.load_csv({**spec, "path": str(tmp_path / "gbk.csv")})


def test_an_offset_off_the_clock_and_a_time_format_that_does_not_fit_are_named(tmp_path):
    for offset in ("+25:00", "-14:30", "+08:75"):
        with pytest.raises(DataError, match=f"utc_offset: '\\{offset}' is not an offset"):
            sources._utc_offset(offset)
    assert sources._utc_offset("+14:00") == pd.Timedelta(hours=14)
    times = pd.date_range("2012-01-01", periods=30, freq="h")
    pd.DataFrame({"t": times.strftime("%Y-%m-%d %H:%M"), "PM25": 1.0}).to_csv(
        tmp_path / "a.csv", index=False)
    with pytest.raises(DataError, match=r"unparseable date '2012-01-01 00:00' on data row 1 "
                                        r"\(read with time_format '%d/%m/%Y %H:%M'\)"):
        sources.load_csv(_spec(tmp_path / "a.csv", station="S", time_column="t",
                               time_format="%d/%m/%Y %H:%M"))


@pytest.mark.parametrize("label", ["start", "end"])
def test_a_date_column_and_a_time_of_day_column(tmp_path, label):
    """10-minute data split into a date and an HH:MM column read as the same times in
    one column do (the time column was refused as an unparseable hour)."""
    starts = pd.date_range("2015-01-01", periods=6 * 72, freq="10min")
    times = starts + (pd.Timedelta(minutes=10) if label == "end" else pd.Timedelta(0))
    pm25 = np.arange(len(times), dtype=float)
    one = pd.DataFrame({"t": times.strftime("%Y-%m-%d %H:%M"), "PM25": pm25})
    one.to_csv(tmp_path / "one.csv", index=False)
    clock = times.strftime("%H:%M")
    dates = times.strftime("%Y-%m-%d")
    if label == "end":     # the day's last interval closes at 24:00 of the day it is in
        midnight = clock == "00:00"
        clock = np.where(midnight, "24:00", clock)
        dates = np.where(midnight, (times - pd.Timedelta(days=1)).strftime("%Y-%m-%d"), dates)
    pd.DataFrame({"date": dates, "time": clock, "PM25": pm25}).to_csv(tmp_path / "two.csv",
                                                                     index=False)
    spec = {"station": "S", "columns": {"pm25": "PM25"}, "time_label": label}
    expected = sources.load_csv({**spec, "path": str(tmp_path / "one.csv"),
                                 "time_column": "t"}).hourly
    got = sources.load_csv({**spec, "path": str(tmp_path / "two.csv"),
                            "time_columns": ["date", "time"]}).hourly
    pd.testing.assert_frame_equal(got, expected)
    assert len(got) == 72 and got["pm25"].iloc[0] == pm25[:6].mean()
    (tmp_path / "bad.csv").write_text("date,time,PM25\n2015-01-01,00:75,1\n2015-01-01,01:00,2\n")
    with pytest.raises(DataError, match="unparseable hour: time='00:75' on data row 1"):
        sources.load_csv({**spec, "path": str(tmp_path / "bad.csv"),
                          "time_columns": ["date", "time"]})


def test_blank_and_missing_station_names_are_counted_once_each():
    from forecast.errors import DataError
    from forecast.schema import validate_hourly

    frame = pd.DataFrame({"station": np.array(["A", "  ", None, "A", " ", "B"], dtype=object),
                          "time": pd.date_range("2012-01-01", periods=6, freq="h"),
                          "pm25": 10.0})
    with pytest.raises(DataError, match=r"3 row\(s\) without a station, the first on data row 2"):
        validate_hourly(frame, "x")


def test_station_codes_with_leading_zeros_keep_them(tmp_path, cli, cli_error):
    """A station column of codes such as 001 and 002 was read as numbers: the stations
    became 1 and 2, --stations 001 was refused as unknown, and codes 01 and 1 merged into
    one station whose hours were 'duplicated'."""
    rows = [dict(r, site="001" if k % 2 else "002") for k, r in enumerate(hourly_rows(96))]
    for k, r in enumerate(rows):
        r["timestamp"] = hourly_rows(48)[k // 2]["timestamp"]
    config = csv_config(tmp_path, write_csv(tmp_path / "sites.csv", rows),
                        station_column="site")
    code, out, err = cli("data", "--config", config, "--stations", "001", "--json")
    assert code == 0, err
    assert json.loads(out)["stations"] == ["001"]
    rows = [dict(r, site="01" if k % 2 else "1") for k, r in enumerate(rows)]
    config = csv_config(tmp_path, write_csv(tmp_path / "sites.csv", rows),
                        station_column="site")
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["stations"]) == ["01", "1"]


def test_a_time_column_of_numbers_is_refused_or_read_with_its_format(tmp_path, cli,
                                                                     cli_error):
    """Unix seconds (or 2012010100 without a time_format) were read as nanoseconds since
    1970: the whole file fell into one hour of 1970-01-01, with warnings about rain above
    its physical maximum and no valid daily mean instead of an error."""
    rows = hourly_rows()
    for row in rows:
        row["timestamp"] = int(pd.Timestamp(row["timestamp"]).timestamp())
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    line = cli_error("data", "--config", config)
    assert "the time column holds numbers, not dates (1325376000 on data row 1)" in line
    assert "time_format" in line
    rows = hourly_rows()
    for row in rows:
        row["timestamp"] = int(pd.Timestamp(row["timestamp"]).strftime("%Y%m%d%H"))
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows),
                        time_format="%Y%m%d%H")
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["start"], summary["end"]) == ("2012-01-01 00:00", "2012-01-02 23:00")


def test_times_pandas_parses_one_by_one_print_no_python_warning(tmp_path, cli, recwarn):
    """Times such as 01/01/2012 01:00 PM were read right, but pandas' UserWarning
    ('Could not infer format, so each element will be parsed individually, falling back
    to `dateutil`', with the source line of forecast/sources.py) came out on stderr."""
    rows = hourly_rows()
    for row in rows:
        row["timestamp"] = pd.Timestamp(row["timestamp"]).strftime("%m/%d/%Y %I:%M %p")
    config = csv_config(tmp_path, write_csv(tmp_path / "site.csv", rows))
    code, out, err = cli("data", "--config", config, "--json")
    assert code == 0, err
    assert json.loads(out)["end"] == "2012-01-02 23:00"
    assert not [w for w in recwarn if "infer format" in str(w.message)]


def test_a_comma_and_space_separated_file_is_read(tmp_path, cli):
    """'timestamp, PM25, T, ...' (a space after each comma, as many programs write) was
    refused: 'mapped column(s) not in the file: PM25, ... (the file has: timestamp,  PM25,
    ...)', naming as absent the very columns it listed; the station names kept a leading
    space."""
    rows = [dict(r, site="A" if k % 2 else "B") for k, r in enumerate(hourly_rows(96))]
    for k, r in enumerate(rows):
        r["timestamp"] = hourly_rows(48)[k // 2]["timestamp"]
    path = tmp_path / "spaced.csv"
    path.write_text(pd.DataFrame(rows).to_csv(index=False).replace(",", ", "))
    config = csv_config(tmp_path, str(path), station_column="site")
    code, out, err = cli("data", "--config", config, "--stations", "A", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["stations"] == ["A"] and summary["hourly_rows"] == 48
    assert summary["missing_pm25"] == 0 and summary["quality"]["total"] == 0


def test_a_file_named_as_this_tool_names_its_columns_needs_no_mapping(tmp_path, cli, cli_error):
    """time, station, pm25, temp ...: --dataset csv:PATH reads it with no config file
    (station codes kept as written), and says so; a mapping given still rules."""
    rows = []
    for station in ("001", "002"):
        for row in hourly_rows(n=48):
            rows.append({"time": row["timestamp"], "station": station, "pm25": row["PM25"],
                         "temp": row["T"], "wind_dir": row["WD"], "Other": 1})
    path = write_csv(tmp_path / "own.csv", rows)
    code, out, err = cli("data", "--dataset", f"csv:{path}", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["stations"] == ["001", "002"], err
    assert summary["hourly_rows"] == 96
    code, out, err = cli("data", "--dataset", f"csv:{path}")
    assert "no [data.columns]: the file's pm25, temp, wind_dir read under their own names" in out
    # a mapping names what is read: here pm25 alone
    config = write_config(tmp_path / "c.toml", {"dataset": "csv", "path": path,
                                                "time_column": "time",
                                                "station_column": "station",
                                                "columns": {"pm25": "pm25"}})
    code, out, err = cli("data", "--config", config)
    assert code == 0 and "under their own names" not in out, err
    assert "that [data.columns] does not map" in err      # temp, wind_dir: not read
    # without a pm25 column the mapping is still needed, and the line says both ways
    pd.DataFrame(rows).drop(columns="pm25").to_csv(tmp_path / "own.csv", index=False)
    assert ("must name the pm25 column (or name the file's columns pm25, time, ... as this "
            "tool does)") in cli_error("data", "--dataset", f"csv:{path}")
