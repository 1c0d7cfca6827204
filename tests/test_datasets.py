"""``emocause datasets``: downloads from a real HTTP server on 127.0.0.1, checksums, offline errors."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emocause.errors import UsageError
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


# ---------------------------------------------------------------- hostile mirrors and folders (issue 16)

class _Recording(_Quiet):
    """Serves a folder and records every request line (to prove what was, or was not, asked)."""

    seen: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path)
        super().do_GET()


@pytest.fixture
def recording_server(paper_dir):
    handler_cls = type("Rec", (_Recording,), {"seen": []})
    handler = functools.partial(handler_cls, directory=str(paper_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", handler_cls.seen
    server.shutdown()
    server.server_close()


def test_credentials_in_the_mirror_url_never_reach_an_artifact(cli, recording_server, tmp_path):
    host, seen = recording_server
    base = f"http://alice:s3cr3t-pass@{host}/?token=t0k3n-value&x=1"
    dest = tmp_path / "d"
    r = cli("datasets", "fetch", "emotion-causes", "--dir", dest, "--base-url", base)
    assert r.code == 0, r.err
    assert {p.split("?")[0] for p in seen} == {"/manual_causes.csv", "/annotation_instructions.pdf"}
    assert any("token=t0k3n-value" in p for p in seen)          # the credential was used ...
    texts = [r.out, r.err] + [p.read_text(errors="replace") for p in dest.glob("*.json")]
    for text in texts:                                             # ... and written nowhere
        assert "s3cr3t-pass" not in text and "t0k3n-value" not in text and "alice" not in text
    manifest = json.loads((dest / "emotion-causes.manifest.json").read_text())
    assert manifest["base_url"] == f"http://{host}/?token=REDACTED&x=1"
    assert all("REDACTED" in f["url"] for f in manifest["files"])
    # an error line names the mirror without its credentials too
    bad = cli("datasets", "fetch", "jira-emotions", "--dir", tmp_path / "e", "--base-url",
              f"http://alice:s3cr3t-pass@{host}/missing/?token=t0k3n-value")
    assert bad.code == 2 and "HTTP 404" in bad.err and bad.err.count("\n") == 1
    assert "s3cr3t-pass" not in bad.err and "t0k3n-value" not in bad.err


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/data/", "127.0.0.1:8000/data", "http://127.0.0.1:99999/",
                                 "http://u:p@127.0.0.1:99999/"])
def test_unusable_mirror_urls_are_refused_up_front(cli, tmp_path, url):
    r = cli("datasets", "fetch", "emotion-causes", "--dir", tmp_path / "d", "--base-url", url)
    assert r.code == 2 and r.err.startswith("error: --base-url") and r.err.count("\n") == 1, r.err
    assert ":p@" not in r.err
    assert not (tmp_path / "d").exists()


def test_dir_naming_a_file_is_one_line_before_any_download(cli, recording_server, tmp_path):
    host, seen = recording_server
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    for target in (a_file, a_file / "sub"):
        r = cli("datasets", "fetch", "emotion-causes", "--dir", target, "--base-url", f"http://{host}")
        assert r.code == 2 and r.err.startswith("error: --dir") and r.err.count("\n") == 1, r.err
    assert seen == [] and a_file.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_dir_is_one_line_before_any_download(cli, recording_server, tmp_path):
    host, seen = recording_server
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        r = cli("datasets", "fetch", "emotion-causes", "--dir", ro, "--base-url", f"http://{host}")
    finally:
        ro.chmod(0o700)
    assert r.code == 2 and "not writable" in r.err and r.err.count("\n") == 1 and seen == []


class _Oversized(BaseHTTPRequestHandler):
    """Answers every GET with ``total`` bytes, announcing them (or a lie) in Content-Length, or not at all."""

    total = 0
    announce: int | None = None
    sent: list[int] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        if self.announce is not None:
            self.send_header("Content-Length", str(self.announce))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        block, done = b"x" * (1 << 16), 0
        try:
            while done < self.total:
                self.wfile.write(block)
                done += len(block)
        except OSError:
            pass
        type(self).sent.append(done)


def _oversized_server(total: int, announce: int | None):
    handler = type("H", (_Oversized,), {"total": total, "announce": announce, "sent": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.mark.parametrize("announce", ["none", "truthful"])
def test_a_mirror_streaming_past_the_known_size_is_cut_off(tmp_path, announce):
    """64 MiB for a 94 kB file: stopped after the first chunk beyond the size, nothing saved."""
    f = datasets.DATASETS["emotion-causes"].files[0]
    total = 64 << 20
    server, base = _oversized_server(total, None if announce == "none" else total)
    received = []
    try:
        with pytest.raises(UsageError) as err:
            datasets.fetch([datasets.DATASETS["emotion-causes"]], tmp_path / "d", base, timeout=10,
                           on_bytes=received.append)
    finally:
        server.shutdown()
        server.server_close()
    if announce == "none":
        assert "sent more than the file's 93,940 bytes" in str(err.value)
        assert sum(received) <= f.size
    else:
        assert "announces 67,108,864 bytes, the file has 93,940" in str(err.value)
        assert sum(received) == 0
    assert list((tmp_path / "d").iterdir()) == []


def test_disk_write_failure_is_one_line(cli, serve, paper_dir, tmp_path, monkeypatch):
    """A write that fails mid-download (disk full) is one line, not a traceback."""
    import errno

    real = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self._f = real(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(datasets.os, "fdopen", Full)
    r = cli("datasets", "fetch", "emotion-causes", "--dir", tmp_path / "d", "--base-url", serve(paper_dir))
    assert r.code == 2 and "No space left on device" in r.err and r.err.count("\n") == 1
    assert list((tmp_path / "d").iterdir()) == []
