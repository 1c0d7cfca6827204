"""Install size of the core and of each extra: a fresh virtual environment per install, from the built wheel.

    python -m benchmarks.bench_install                 # core local report all (about 10 minutes)
    python -m benchmarks.bench_install core            # just some

The local, report and all environments get ``torch==2.13.0`` first (the CPU build; a bare
``torch`` requirement would pull the CUDA wheels).  Prints megabytes on disk and the number
of installed packages per environment, against a bare venv (pip alone).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("core", "local", "report", "all")


def megabytes(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "pip"


def main(kinds: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="emocause-install-"))
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(work)],
                       check=True)
        wheel = next(work.glob("emocause-*.whl"))
        venv(work / "bare")
        bare = megabytes(work / "bare")
        print(f"{'install':<10} {'MB':>7} {'packages':>9}   (bare venv: {bare:.0f} MB)")
        for kind in kinds:
            pip = venv(work / kind)
            if kind != "core":
                subprocess.run([str(pip), "install", "-q", "torch==2.13.0"], check=True)
            spec = str(wheel) if kind == "core" else f"{wheel}[{kind}]"
            subprocess.run([str(pip), "install", "-q", spec], check=True)
            listed = subprocess.run([str(pip), "list", "--format", "freeze"], capture_output=True, text=True,
                                    check=True).stdout.split()
            print(f"{kind:<10} {megabytes(work / kind):>7.0f} {len(listed):>9}", flush=True)
            shutil.rmtree(work / kind)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    chosen = sys.argv[1:] or list(KINDS)
    unknown = set(chosen) - set(KINDS)
    if unknown:
        sys.exit(f"unknown install {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    main(chosen)
