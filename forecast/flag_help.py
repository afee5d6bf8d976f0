"""What each option does, for ``forecast ... --help`` (configs/example.toml says the same
at greater length, beside each key). Keyed by (section, key) of :data:`config.DEFAULTS`;
a test checks that every option has its line."""

from __future__ import annotations

FLAG_HELP: dict[tuple[str, str], str] = {
    ("data", "dataset"): "the data: the UCI single-site or 12-site Beijing set, synthetic "
                         "stations, or a CSV of your own",
    ("data", "data_dir"): "folder with the UCI files (else $FORECAST_DATA_DIR, data/raw/, "
                          "then a download)",
    ("data", "min_hours"): "hourly PM2.5 values a day needs for a valid daily mean",
    ("data", "stations"): "only these stations (empty: all)",
    ("data", "path"): "CSV: the file, a folder of .csv files or a pattern (\"sites/*.csv\")",
    ("data", "station"): "CSV without a station column: the station's name",
    ("data", "station_column"): "CSV: the column that names the station",
    ("data", "time_column"): "CSV: the one date-time column",
    ("data", "time_columns"): "CSV: the time's columns, e.g. year,month,day,hour or date,hour",
    ("data", "time_format"): "CSV: strftime format of the time (or date) column",
    ("data", "utc_offset"): "CSV: read times that carry UTC offsets on this clock, e.g. +08:00",
    ("data", "time_zone"): "CSV: an IANA zone (Europe/Paris) whose wall clock the times are on",
    ("data", "time_label"): "CSV: a time labels the start, the end or the middle of its hour",
    ("data", "parameter_column"): "CSV with a row per time, station and parameter (OpenAQ): "
                                  "the column of the parameter's name",
    ("data", "value_column"): "CSV with a parameter column: the column of its value",
    ("data", "stations_in_columns"): "CSV: a column per station, named by its header",
    ("data", "wind_dir_degrees"): "CSV: the wind direction column is in degrees",
    ("data", "synthetic_stations"): "synthetic data: how many stations",
    ("data", "synthetic_start"): "synthetic data: first day (YYYY-MM-DD)",
    ("data", "synthetic_end"): "synthetic data: last day (YYYY-MM-DD)",
    ("task", "mode"): "observed: inputs up to day D; forecast: and day D+1's weather as "
                      "observed (a perfect forecast)",
    ("task", "horizon"): "days ahead: the target is the daily mean PM2.5 of day D + horizon",
    ("task", "lags"): "daily-mean PM2.5 lags 1..lags as features",
    ("task", "sequence_length"): "days of daily features the sequence networks read",
    ("task", "hourly_hours"): ("hours up to the end of day D the hourly networks read "
                               "(hgb_hourly reads the last 24 of them)"),
    ("task", "hourly_sequence"): "build the hourly window even when no model reads it",
    ("task", "max_fill_days"): "daily gaps up to this many days are filled from the past only",
    ("task", "weather_step"): "forecast mode: hours between the weather forecast's values "
                              "(1, 2, 3, 4, 6, 8 or 12)",
    ("task", "weather_error"): "forecast mode: fit for a weather forecast whose errors are "
                               "this many times a typical day-ahead forecast's (0: perfect)",
    ("task", "target_transform"): "the networks' target: auto, none or log1p",
    ("task", "train_issue_hours"): "networks: also train on forecasts issued at these hours "
                                   "(0-22) of day D",
    ("task", "holidays"): "public holidays of the target day: a country code of the "
                          "holidays package (CN, US-CA, ...), or empty",
    ("task", "heating_season"): "the heating season the target day's feature flags",
    ("split", "train_end"): "last target day of training (default: the dataset's)",
    ("split", "val_end"): "last target day of validation (default: the dataset's)",
    ("split", "test_end"): "last target day of the test (default: the dataset's)",
    ("split", "folds"): "rolling-origin folds, a year apart: 0 = as many as the data allow, "
                        "1 = the main split only",
    ("split", "refit"): "forecast the test years by each model fitted again on train + "
                        "validation",
    ("models", "names"): "the models to fit and compare",
    ("models", "combination"): "also a combination of the models, weights fitted on "
                               "validation",
    ("training", "seeds"): "networks: fits with seeds seed..seed+seeds-1, and their ensemble",
    ("training", "max_epochs"): "networks: most epochs of a fit",
    ("training", "patience"): "networks: epochs without a better validation loss before "
                              "early stopping",
    ("training", "batch_size"): "networks: rows per minibatch",
    ("training", "max_steps_per_epoch"): "networks: batches grow so that an epoch takes at "
                                         "most this many steps",
    ("training", "max_batch_size"): "networks: batches grow to at most this many rows "
                                    "(0: no cap)",
    ("training", "max_val_rows"): "networks: the validation loss that stops training early "
                                  "is computed on a fixed random sample of at most this "
                                  "many validation rows (0: all; every validation row is "
                                  "still forecast and scored)",
    ("training", "learning_rate"): "networks: the optimiser's learning rate",
    ("training", "weight_decay"): "networks: the optimiser's weight decay",
    ("training", "optimizer"): "networks: the optimiser",
    ("training", "momentum"): "networks: momentum of the sgd optimiser",
    ("training", "activation"): "networks: the activation function",
    ("training", "hidden"): "networks: units per layer",
    ("training", "layers"): "networks: layers",
    ("training", "dropout"): "networks: dropout rate",
    ("training", "gradient_clip"): "networks: gradient norm clipped to this (0: none)",
    ("training", "lr_schedule"): "networks: the learning-rate schedule",
    ("training", "accelerator"): "Lightning's accelerator: cpu, cuda, auto, ...",
    ("training", "devices"): "Lightning's devices per machine",
    ("training", "strategy"): "Lightning's strategy, e.g. ddp for several processes or GPUs",
    ("training", "num_nodes"): "machines (Lightning launches them: torchrun, SLURM)",
    ("training", "progress_bar"): "Lightning's per-epoch progress bars",
    ("training", "jobs"): "processes for the networks' fits (0: one per CPU core; the same "
                          "numbers)",
    ("training", "threads"): "torch CPU threads per fit (0: torch's default)",
    ("training", "loss"): "networks: mse (a point forecast) or pinball (a quantile head)",
    ("diagnostics", "capacity_sweep"): "fit networks of several sizes to see whether "
                                       "capacity limits them",
    ("diagnostics", "sweep_model"): "the network of the capacity sweep and learning curve",
    ("diagnostics", "sweep_hidden"): "the capacity sweep's widths",
    ("diagnostics", "sweep_layers"): "the capacity sweep's depths",
    ("diagnostics", "learning_curve"): "fit on shares of the training years to see whether "
                                       "data limit the networks",
    ("diagnostics", "learning_fractions"): "the learning curve's shares of the training years",
    ("diagnostics", "max_epochs"): "most epochs of a diagnostics fit",
    ("diagnostics", "importance"): "what each model relies on: the rise of its validation "
                                   "RMSE when a group of inputs is shuffled",
    ("quality", "strict"): "refuse data with any flagged value instead of setting it missing",
    ("quality", "sentinels"): "values that mean missing",
    ("quality", "stuck_hours"): "PM2.5 repeating one value this many hours is a stuck monitor",
    ("quality", "stuck_floor"): "µg/m³: repeats at or below it are not flagged (clean air)",
    ("quality", "dewpoint_tolerance"): "°C a dew point may exceed the temperature",
    ("evaluation", "n_boot"): "bootstrap resamples for the 95 % intervals",
    ("evaluation", "exceedance_threshold"): "µg/m³ whose exceedance probability is "
                                            "forecast and scored",
    ("evaluation", "warning_cost_loss"): "when to warn: 0 at the probability with the best "
                                         "CSI; a cost/loss ratio C/L (acting on a warning "
                                         "costs C, an exceedance without one L) at the "
                                         "lowest expense on the validation years",
    ("run", "seed"): "every random draw of the run (weights, batches, bootstrap, synthetic "
                     "data)",
    ("run", "out"): "folder the run directory is written in",
    ("run", "name"): "the run directory's name (default: date, time, dataset, mode)",
    ("run", "train_forecasts"): "forecast the main fold's training rows too, into "
                                "predictions.csv (no score reads them; about half the main "
                                "fold's rows, a third of the file)",
}
