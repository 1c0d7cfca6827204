"""Screenshots of a report page with headless Chromium, for docs/report.md.

    python scripts/report_screenshots.py REPORT_DIR docs/img [--chromium chromium]

Takes the page at 1280 px and 420 px wide (the top of the page, and the page at
a theme card), with a fresh profile and no network features, so what is shown
is what a reader sees offline.  Needs Chromium (``apt-get install chromium``)
and Pillow (installed with matplotlib) to trim the empty bottom of a shot.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


def shoot(chromium: str, url: str, width: int, height: int, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="emocause-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={target}", url]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="a folder written by emocause report")
    ap.add_argument("dest", type=Path, help="where the PNG files go")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--theme", type=int, default=1, help="the theme card to show")
    args = ap.parse_args()
    page = (args.report / "report.html").resolve().as_uri()
    args.dest.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 1900), (420, 2300)):
        shoot(args.chromium, page, width, height, args.dest / f"report-{width}.png")
        shoot(args.chromium, f"{page}#theme-{args.theme}", width, height,
              args.dest / f"report-{width}-theme.png")
        print(f"{args.dest}/report-{width}.png, report-{width}-theme.png")


if __name__ == "__main__":
    main()
