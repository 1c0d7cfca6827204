"""Screenshots of a report page with headless Chromium, for docs/report.md.

    python scripts/report_screenshots.py REPORT_DIR docs/img [--theme 8] [--chromium chromium]

Shoots the page at 1280 px and 420 px wide: the top of the page, and one theme
card on its own (a temporary copy of the page whose style hides everything else,
so the card is rendered by the page's own CSS, its first comment unfolded).  Chromium runs with a fresh
profile and no network features, so what is shown is what a reader sees offline.
Needs Chromium (``apt-get install chromium``); Pillow, when installed, trims the
empty space below a card.
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


def shoot(chromium: str, page: Path, width: int, height: int, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="emocause-chromium-") as profile:
        cmd = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={target}", page.resolve().as_uri()]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)


def trim(path: Path, background: tuple[int, int, int] = (246, 247, 249), margin: int = 24) -> None:
    """Cut the page background below the last drawn row (when Pillow is there)."""
    try:
        from PIL import Image, ImageChops
    except ImportError:
        return
    im = Image.open(path).convert("RGB")
    box = ImageChops.difference(im, Image.new("RGB", im.size, background)).getbbox()
    if box:
        im.crop((0, 0, im.width, min(im.height, box[3] + margin))).save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="a folder written by emocause report")
    ap.add_argument("dest", type=Path, help="where the PNG files go")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--theme", type=int, default=1, help="the theme card to show on its own")
    args = ap.parse_args()
    page = args.report / "report.html"
    args.dest.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    only = (f"<style>header.hero, .kpis, main > h2, main > .panel, main > article:not(#theme-"
            f"{args.theme}), footer {{ display: none !important; }} main {{ padding-top: 16px; }}"
            "</style></head>")
    with tempfile.TemporaryDirectory(prefix="emocause-shot-") as tmp:
        card = Path(tmp) / "card.html"
        start = html.find(f'id="theme-{args.theme}"')
        opened = html[:start] + html[start:].replace("<details>", "<details open>", 1)  # a comment
        card.write_text(opened.replace("</head>", only, 1), encoding="utf-8")
        for width, height in ((1280, 1500), (420, 2300)):
            shoot(args.chromium, page, width, height, args.dest / f"report-{width}.png")
            shoot(args.chromium, card, width, 3000, args.dest / f"report-{width}-theme.png")
            trim(args.dest / f"report-{width}-theme.png")
            print(f"{args.dest}/report-{width}.png, report-{width}-theme.png")


if __name__ == "__main__":
    main()
