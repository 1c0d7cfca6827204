"""``emocause datasets``: downloads from a real HTTP server on 127.0.0.1, checksums, offline errors."""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emocause.evaluate import datasets


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def serve():
    """Serve a directory over HTTP on 127.0.0.1; returns its base URL."""
    servers = []

    def start(directory) -> str:
        handler = functools.partial(_Quiet, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_registry_matches_the_released_files(paper_dir):
    """Checksums and sizes were computed from the released copies in ../shared/data/paper."""
    names = [f.name for d in datasets.DATASETS.values() for f in d.files]
    assert len(names) == len(set(names))
    for d in datasets.DATASETS.values():
        for f in d.files:
            local = paper_dir / f.name
            assert local.stat().st_size == f.size, f.name
            assert sha(local) == f.sha256, f.name
            assert f.url.startswith("https://raw.githubusercontent.com/") and " " not in f.url


def test_list(cli):
    r = cli("datasets", "list", "--json")
    assert r.code == 0
    listed = json.loads(r.out)
    assert [d["name"] for d in listed] == list(datasets.DATASETS)
    assert {"github-emotions", "stackoverflow-emotions", "jira-emotions", "emotion-causes"} <= set(
        d["name"] for d in listed)
    table = cli("datasets", "list")
    assert table.code == 0 and "emotion-causes" in table.out


def test_fetch_verifies_and_skips_present_files(cli, serve, paper_dir, tmp_path):
    base = serve(paper_dir)
    dest = tmp_path / "data"
    r = cli("datasets", "fetch", "emotion-causes", "github-emotions", "--dir", dest, "--base-url", base)
    assert r.code == 0, r.err
    expected = ["manual_causes.csv", "annotation_instructions.pdf", "github-train.csv", "github-test.csv"]
    assert r.out.split() == [str(dest / n) for n in expected]
    for n in expected:
        assert sha(dest / n) == sha(paper_dir / n)
    manifest = json.loads((dest / "emotion-causes.manifest.json").read_text())
    assert manifest["command"] == "datasets fetch" and manifest["base_url"] == base
    assert {f["status"] for f in manifest["files"]} == {"downloaded"}
    assert not list(dest.glob("*.part"))
    again = cli("datasets", "fetch", "emotion-causes", "--dir", dest, "--base-url", base)
    assert again.code == 0
    manifest = json.loads((dest / "emotion-causes.manifest.json").read_text())
    assert {f["status"] for f in manifest["files"]} == {"present"}


def test_fetch_all_through_the_environment_mirror(cli, serve, paper_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_BASE_URL, serve(paper_dir))
    monkeypatch.setenv(datasets.ENV_DATA_DIR, str(tmp_path / "env-dir"))
    r = cli("datasets", "fetch", "all")
    assert r.code == 0, r.err
    files = [f for d in datasets.DATASETS.values() for f in d.files]
    assert len(r.out.split()) == len(files)
    assert all((tmp_path / "env-dir" / f.name).is_file() for f in files)


def test_a_corrupt_local_copy_is_replaced(cli, serve, paper_dir, tmp_path):
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "manual_causes.csv").write_text("tampered")
    r = cli("datasets", "fetch", "emotion-causes", "--dir", dest, "--base-url", serve(paper_dir))
    assert r.code == 0
    assert sha(dest / "manual_causes.csv") == sha(paper_dir / "manual_causes.csv")


def test_checksum_mismatch_saves_nothing(cli, serve, paper_dir, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(paper_dir / "annotation_instructions.pdf", mirror)
    data = (paper_dir / "manual_causes.csv").read_bytes()
    (mirror / "manual_causes.csv").write_bytes(data.replace(b"Cause Span", b"Cause span", 1))
    dest = tmp_path / "d"
    r = cli("datasets", "fetch", "emotion-causes", "--dir", dest, "--base-url", serve(mirror))
    assert r.code == 2
    assert r.err.startswith("error: checksum mismatch for manual_causes.csv") and r.err.count("\n") == 1
    assert "the file was not saved" in r.err
    assert list(dest.iterdir()) == []


def test_http_error_is_one_line(cli, serve, tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    r = cli("datasets", "fetch", "jira-emotions", "--dir", tmp_path / "d", "--base-url", serve(empty))
    assert r.code == 2 and "HTTP 404" in r.err and r.err.count("\n") == 1


def test_offline_is_one_line_exit_2(cli, tmp_path):
    port = closed_port()
    r = cli("datasets", "fetch", "emotion-causes", "--dir", tmp_path / "d", "--base-url",
            f"http://127.0.0.1:{port}", "--timeout", "5")
    assert r.code == 2
    assert r.err.startswith("error: cannot download manual_causes.csv: cannot reach 127.0.0.1:")
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert not list((tmp_path / "d").iterdir())


def test_unknown_dataset(cli, tmp_path):
    r = cli("datasets", "fetch", "imdb", "--dir", tmp_path)
    assert r.code == 2 and "unknown dataset 'imdb'" in r.err and "emotion-causes" in r.err


def test_mirror_urls_are_flat_and_quoted():
    f = datasets.RemoteFile("JIRA-Anger-Test.csv", "https://example.org/x", 1, "0" * 64)
    assert datasets.file_url(f, "http://m/") == "http://m/JIRA-Anger-Test.csv"
    assert datasets.file_url(f, None) == "https://example.org/x"
    jira = datasets.DATASETS["jira-emotions"].files[0]
    assert "JIRA%20-%20JIRA-Anger-Train.csv" in jira.url
