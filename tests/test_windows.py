"""forecast.windows: windows held as a table of days and their day numbers behave as
the array (rows, L, channels) they stand for, and a network's scaled inputs from them are
those of that array, bit for bit."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

from forecast import daily
from forecast import task as T
from forecast.synthetic import generate_hourly
from forecast.windows import Windows, WindowTensor
from models.scaling import Scalers, _standardise


def _windows() -> tuple[Windows, np.ndarray]:
    """Windows of length 3 over 6 days of 2 channels (day 2's first channel missing, the
    second channel missing on every day but day 4), day 6 all-NaN padding; and the array
    they stand for."""
    rng = np.random.default_rng(0)
    table = rng.normal(size=(7, 2))
    table[2, 0] = np.nan
    table[[0, 1, 2, 3, 5], 1] = np.nan
    table[6] = np.nan
    index = np.array([[6, 6, 0], [6, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]])
    return Windows(table, index), table[index]


def test_windows_index_as_the_array_does():
    windows, array = _windows()
    assert windows.shape == array.shape and len(windows) == len(array)
    np.testing.assert_array_equal(np.asarray(windows), array)
    mask = np.array([True, False, True, True, False, True])
    for key in (mask, np.array([5, 0, 3]), slice(1, 4), 2, (mask, -1), (slice(None), 0, 1),
                (np.array([1, 2]), slice(1, None), 0)):
        np.testing.assert_array_equal(windows[key], array[key])
    np.testing.assert_array_equal(np.asarray(windows.take(mask)), array[mask])
    np.testing.assert_array_equal(np.asarray(windows.channels([1])), array[:, :, [1]])
    both = Windows.concat([windows, windows.take(mask)])
    np.testing.assert_array_equal(np.asarray(both), np.concatenate([array, array[mask]]))
    again = Windows.from_array(array)
    np.testing.assert_array_equal(np.asarray(again), array)


def test_moments_and_values_are_those_of_the_gathered_windows():
    """Days read by several windows count as many times; a channel with no value in the
    rows is NaN, as np.nanmean gives."""
    windows, array = _windows()
    for rows in (np.ones(6, bool), np.array([True, True, False, False, False, False]),
                 np.array([2, 3, 5])):
        mean, std = windows.moments(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected_mean = np.nanmean(array[rows], axis=(0, 1))
            expected_std = np.nanstd(array[rows], axis=(0, 1))
        np.testing.assert_allclose(mean, expected_mean, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(std, expected_std, rtol=1e-12, equal_nan=True)
        values = windows.values_of(rows)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            np.testing.assert_array_equal(np.nanmin(values, axis=0),
                                          np.nanmin(array[rows], axis=(0, 1)))
        np.testing.assert_array_equal(np.isnan(values).any(axis=0),
                                      np.isnan(array[rows]).any(axis=(0, 1)))
    assert np.isnan(windows.moments(np.array([0, 1]))[0][1])   # channel 1: no value
    # the days a subset's windows read, and each position's place among them: np.unique's
    for rows in (np.array([1, 4]), np.array([5, 0]), np.ones(6, bool)):
        days, place = windows.take(rows).days_read()
        expected_days, expected_place = np.unique(windows.index[rows], return_inverse=True)
        np.testing.assert_array_equal(days, expected_days)
        np.testing.assert_array_equal(place, expected_place.reshape(place.shape))


def test_window_tensor_gathers_a_batch():
    windows, array = _windows()
    tensor = WindowTensor(torch.from_numpy(windows.table), torch.from_numpy(windows.index))
    assert tensor.shape == array.shape and len(tensor) == len(array)
    batch = torch.tensor([4, 0, 4])
    assert np.array_equal(tensor[batch].numpy(), array[[4, 0, 4]], equal_nan=True)
    assert np.array_equal(tensor[1:3].numpy(), array[1:3], equal_nan=True)
    assert np.array_equal(tensor[:, -1, 0].numpy(), array[:, -1, 0], equal_nan=True)


@pytest.fixture(scope="module")
def task() -> T.ForecastTask:
    hourly = generate_hourly(seed=5, n_stations=2, start="2010-01-01", end="2010-06-30")
    return T.build_task(hourly, daily.to_daily(hourly), dataset="synthetic",
                        train_end="2010-03-31", val_end="2010-05-15", test_end="2010-06-29")


def test_a_network_reads_the_windows_as_the_whole_array(task):
    """Scalers fitted on the windows equal those fitted on the array they stand for (its
    float32 statistics), and the scaled windows a network reads are that array's
    standardised, bit for bit."""
    dense = dataclasses.replace(task, sequence=np.asarray(task.sequence))
    assert isinstance(task.sequence, Windows)
    scalers = Scalers.fit(task)
    mean, std = T.train_statistics(dense, dense.sequence)
    np.testing.assert_array_equal(scalers.seq_mean, mean)
    np.testing.assert_array_equal(scalers.seq_std, std)
    for rows in (task.mask("train"), task.mask("test"), np.ones(len(task.y), bool)):
        _, seq, _ = scalers.inputs(task, rows)
        expected = _standardise(dense.sequence, scalers.seq_mean, scalers.seq_std,
                                scalers.seq_indicate, scalers.seq_low, scalers.seq_high, rows)
        assert torch.equal(seq[:], torch.from_numpy(expected))


def test_the_task_holds_each_day_once(task):
    """The table has one row per station-day of the daily table (and one all-NaN row
    for padding), where the array held every day ``sequence_length`` times."""
    hourly = generate_hourly(seed=5, n_stations=2, start="2010-01-01", end="2010-06-30")
    assert len(task.sequence.table) == len(daily.to_daily(hourly)) + 1
    assert task.sequence.nbytes * 5 < np.asarray(task.sequence).nbytes
