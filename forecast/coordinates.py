"""Station coordinates (latitude, longitude in decimal degrees, WGS84) for the
neighbouring-station features of :mod:`forecast.task`.

The built-in multi-site set ships without coordinates; ``MULTISITE_COORDINATES`` are the
approximate public locations of its 12 monitors (see ``data/README.md`` for the source
and its caveats). A CSV gets them from the optional ``[data.coordinates]`` table
(station = [lat, lon]); the synthetic generator places its stations itself.
"""

from __future__ import annotations

import math

from .errors import DataError

# The KDD Cup 2018 station list (Beijing Municipal Environmental Monitoring Center), to
# three decimals (about 100 m); approximate, not part of the UCI data.
MULTISITE_COORDINATES: dict[str, tuple[float, float]] = {
    "Aotizhongxin": (39.982, 116.397),
    "Changping": (40.217, 116.230),
    "Dingling": (40.292, 116.220),
    "Dongsi": (39.929, 116.417),
    "Guanyuan": (39.929, 116.339),
    "Gucheng": (39.914, 116.184),
    "Huairou": (40.328, 116.628),
    "Nongzhanguan": (39.937, 116.461),
    "Shunyi": (40.127, 116.655),
    "Tiantan": (39.886, 116.407),
    "Wanliu": (39.987, 116.287),
    "Wanshouxigong": (39.878, 116.352),
}


def check_coordinates(table, where: str = "[data.coordinates]") -> dict[str, tuple[float, float]]:
    """``table`` (station → [lat, lon]) as station → (lat, lon) floats; a DataError (one
    line) for anything else: not a table, not a pair of numbers, latitude outside
    −90..90 or longitude outside −180..180, or two stations at the same place."""
    if not isinstance(table, dict):
        raise DataError(f"{where} must be a table of station = [latitude, longitude]")
    out: dict[str, tuple[float, float]] = {}
    for station, value in table.items():
        pair = value if isinstance(value, (list, tuple)) else None
        if (pair is None or len(pair) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) for v in pair)):
            raise DataError(f"{where}: {station} must be [latitude, longitude] in decimal "
                            f"degrees, not {value!r}")
        lat, lon = float(pair[0]), float(pair[1])
        if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
            raise DataError(f"{where}: {station} = [{lat}, {lon}] is not a place: latitude "
                            "must be in −90..90 and longitude in −180..180 (order: lat, lon)")
        out[str(station)] = (lat, lon)
    seen: dict[tuple[float, float], str] = {}
    for station, place in out.items():
        if place in seen:
            raise DataError(f"{where}: {seen[place]} and {station} are at the same place "
                            f"{list(place)}; neighbours need distinct coordinates")
        seen[place] = station
    return out


def require_coordinates(coordinates: dict, stations, where: str = "[data.coordinates]") -> None:
    """A DataError when ``coordinates`` (non-empty) lacks one of ``stations``."""
    if not coordinates:
        return
    missing = sorted(set(stations) - set(coordinates))
    if missing:
        raise DataError(f"{where} has no entry for station(s) {', '.join(missing)}; give "
                        "every station its [latitude, longitude] or none at all")
