"""Placeholder: replaced by the report module."""
from pathlib import Path


def write_report(run_dir):
    run_dir = Path(run_dir)
    (run_dir / "report.md").write_text("# report\n")
    (run_dir / "report.html").write_text("<html></html>")
    return run_dir / "report.html", run_dir / "report.md"
