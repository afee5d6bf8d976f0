"""Render report.html in headless Chromium at phone width (skipped when Chromium is absent).

``make test`` installs Chromium where it is missing and apt-get can be used. The page is
opened from file:// with networking switched off: a self-contained report needs none.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_report import make_run

from forecast.report import write_report

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="chromium (or chromium-browser) is not on PATH; `make browser` installs it")
WIDTH, HEIGHT = 400, 3000


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars",
               "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
               *args]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=180,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("headless chromium did not finish within 180 s")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    run = make_run(tmp_path_factory.mktemp("browser") / "run", winner="ridge", n_stations=2)
    html_path, _ = write_report(run)
    return html_path


def test_screenshot_at_phone_width(report, tmp_path):
    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", report.as_uri())
    assert shot.is_file(), f"no screenshot; chromium said:\n{result.stderr[-2000:]}"
    assert shot.stat().st_size > 50_000  # text, tables and figures, not a blank page
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        pixels = np.asarray(image.convert("L"), dtype=float)
    # Content reaches far down the page and is not a uniform colour.
    ink_rows = np.flatnonzero((pixels < 200).any(axis=1))
    assert ink_rows.size and ink_rows.max() > HEIGHT * 0.9
    assert pixels.std() > 10
    # Nothing is drawn past the right edge: the last columns are page margin (tables
    # scroll inside their wrapper, images shrink to the width).
    assert (pixels[:, -8:] > 240).mean() > 0.99


def test_dom_has_every_image_and_heading(report, tmp_path):
    result = _chromium(tmp_path, "--dump-dom", report.as_uri())
    dom = result.stdout
    assert "</html>" in dom, f"no DOM dumped; chromium said:\n{result.stderr[-2000:]}"
    source = report.read_text()
    images = re.findall(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]+"', dom)
    assert len(images) == source.count("<img ") >= 7
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", dom)
    assert headings == re.findall(r"<h2[^>]*>(.*?)</h2>", source)
    assert any("Verdict" in h for h in headings) and any("Data quality" in h for h in headings)
    assert any("Uncertainty and calibration" in h for h in headings)
    for caption in ("calibrated forecast distribution", "PIT histograms",
                    "Reliability of the probability of exceeding"):
        assert re.search(rf"<img [^>]*alt=\"[^\"]*{caption}", dom), caption
    assert re.search(r"<h1[^>]*>PM2\.5 forecast validation report", dom)
    assert 'name="viewport"' in dom
    assert "Recommendation:" in dom
    assert dom.count('class="table-wrap"') == len(re.findall(r"<table\b", dom)) > 5
