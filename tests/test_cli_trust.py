"""Runs you can trust (issue 16, the CLI and config parts): exit codes, config keys, early checks, Ctrl-C,
closed choices, -q/-v, and the progress bar's first frame.  Real servers on 127.0.0.1, real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.fakes.openai import FakeOpenAI, keyword_responder

RULES = {"broken": "Annoyance", "thank": "Gratitude"}


def comments(path: Path, n: int = 6) -> Path:
    pd.DataFrame({"id": [f"c{i}" for i in range(n)],
                  "text": [f"comment {i}: the build is broken" for i in range(n)]}).to_csv(path, index=False)
    return path


def openai(server: FakeOpenAI, *extra: object) -> list[object]:
    return ["--backend", "openai", "--model", "m", "--base-url", server.url, *extra]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "EMOCAUSE_PROGRESS": "0", "PYTHONPATH": str(ROOT), **extra}


# ------------------------------------------------------------------------ 2. failed rows exit 3

def test_failed_rows_exit_3_with_the_count_in_summary_and_manifest(tmp_path, cli):
    src = comments(tmp_path / "in.csv")
    with FakeOpenAI(keyword_responder(RULES)) as server:
        server.inject(500, 2)
        r = cli("classify", src, "--out", tmp_path / "o.csv", *openai(server, "--retries", 0, "-j", 1))
        assert r.code == 3 and "2 of 6 rows failed" in r.err and "rerun the same command" in r.err
        summary = {ln.split()[0]: ln.split()[-1] for ln in r.err.splitlines() if ln.strip()}
        manifest = json.loads((tmp_path / "o.csv.manifest.json").read_text())
        assert summary["failed"] == "2" == str(manifest["counts"]["failed"])
        assert manifest["outcome"] == {"failed": 2, "of": 6, "max_failed": "0", "ok": False}
        assert len(pd.read_csv(tmp_path / "o.csv")) == 6  # everything is written all the same
        server.inject(500, 2)
        assert cli("classify", src, "--out", tmp_path / "o2.csv", "--no-cache", "--max-failed", 2,
                   *openai(server, "--retries", 0, "-j", 1)).code == 0
        server.inject(500, 2)
        assert cli("classify", src, "--out", tmp_path / "o3.csv", "--no-cache", "--max-failed", "30%",
                   *openai(server, "--retries", 0, "-j", 1)).code == 3  # 2 of 6 is 33%
        r = cli("classify", src, "--out", tmp_path / "o4.csv", "--max-failed", "lots", *openai(server))
        assert r.code == 2 and "--max-failed 'lots'" in r.err


def test_a_dead_server_fails_every_row_and_exits_3(tmp_path, cli):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = comments(tmp_path / "in.csv", 3)
    r = cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
            "--base-url", f"http://127.0.0.1:{port}/v1", "--retries", 0)
    assert r.code == 3 and "3 of 3 rows failed" in r.err


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/v1", "http://127.0.0.1:99999/v1", "127.0.0.1:8000/v1"])
def test_unusable_base_url_is_refused_up_front(tmp_path, cli, url):
    r = cli("classify", comments(tmp_path / "in.csv"), "--out", tmp_path / "o.csv", "--backend", "openai",
            "--base-url", url)
    assert r.code == 2 and "--base-url" in r.err and r.err.count("\n") == 1
    assert not (tmp_path / "o.csv").exists()


# ------------------------------------------------------------------------ 6. config that works

def test_every_config_key_is_read(tmp_path, cli, monkeypatch):
    src = comments(tmp_path / "in.csv", 12)
    cfg = tmp_path / "config.toml"
    with FakeOpenAI(keyword_responder({}), latency=0.05) as server:
        cfg.write_text(f'backend = "openai"\nmodel = "cfg"\nbase_url = "{server.url}"\nconcurrency = 3\n'
                       f'retries = 0\ntemperature = 0.5\nplatform = "jira"\ncache = "{tmp_path / "c.sqlite"}"\n')
        monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
        monkeypatch.delenv("EMOCAUSE_CACHE")  # the test environment's own cache would win
        server.inject(500, 1)
        r = cli("classify", src, "--out", tmp_path / "o.csv")
        assert r.code == 3  # retries = 0: the injected 500 is not retried
        assert server.max_inflight == 3
        body = server.requests[-1]["body"]
        assert body["model"] == "cfg" and body["temperature"] == 0.5
        assert "JIRA" in body["messages"][0]["content"]
        assert (tmp_path / "c.sqlite").is_file()
        server.max_inflight = 0
        assert cli("classify", src, "--out", tmp_path / "o2.csv", "--no-cache", "-j", 1).code == 0
        assert server.max_inflight == 1  # the flag beats the file
        monkeypatch.setenv("EMOCAUSE_CONCURRENCY", "2")
        server.max_inflight = 0
        assert cli("classify", src, "--out", tmp_path / "o3.csv", "--no-cache").code == 0
        assert server.max_inflight == 2  # the environment beats the file
    cfg.write_text('batch_size = 7\ndevice = "cpu"\nembedding_model = "all-MiniLM-L6-v2"\n')
    from emocause import get_backend

    with get_backend("hf") as hf:
        assert hf.batch_size == 7 and hf.requested_device == "cpu"
    with get_backend("embedding") as emb:
        assert emb.model == "all-MiniLM-L6-v2" and emb.device == "cpu"


@pytest.mark.parametrize("text,needle", [
    ('colour = "red"\n', "unknown keys colour"),
    ("concurrency = 0\n", "concurrency must be between 1 and 256"),
    ('concurrency = "many"\n', "concurrency must be an integer"),
    ('platform = 3\n', "platform must be a non-empty string"),
    ('platform = "gitlab"\n', "--platform 'gitlab'"),
    ("backend = [\n", "config file"),
])
def test_bad_config_is_one_line(tmp_path, cli, monkeypatch, text, needle):
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
    r = cli("classify", comments(tmp_path / "in.csv"), "--out", tmp_path / "o.csv")
    assert r.code == 2 and needle in r.err and r.err.count("\n") == 1


def test_missing_config_file_is_an_error(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(tmp_path / "typo.toml"))
    r = cli("classify", comments(tmp_path / "in.csv"), "--out", tmp_path / "o.csv")
    assert r.code == 2 and "typo.toml: no such file" in r.err
    assert cli("config", "show").code == 2


def test_config_show_prints_values_and_sources(tmp_path, cli, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('backend = "openai"\nbase_url = "http://user:hunter2@127.0.0.1:8000/v1"\nconcurrency = 4\n')
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
    monkeypatch.setenv("EMOCAUSE_MODEL", "env-model")
    shown = json.loads(cli("config", "show", "--json").out)
    assert shown["config_file"] == str(cfg)
    s = shown["settings"]
    assert s["backend"] == {"value": "openai", "source": f"config {cfg}"}
    assert s["model"] == {"value": "env-model", "source": "env EMOCAUSE_MODEL"}
    assert s["concurrency"]["value"] == 4 and s["retries"] == {"value": 6, "source": "default"}
    r = cli("config", "show")
    assert r.code == 0 and "hunter2" not in r.out and "127.0.0.1:8000" in r.out
    assert "env EMOCAUSE_MODEL" in r.out


# ------------------------------------------------------------- 12. output checked before any work

def test_unwritable_output_fails_before_any_request(tmp_path, cli):
    src = comments(tmp_path / "in.csv")
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    (tmp_path / "folder.csv").mkdir()
    with FakeOpenAI(keyword_responder(RULES)) as server:
        for out, needle in ((blocker / "o.csv", "is a file, not a folder"), (tmp_path / "folder.csv", "is a folder")):
            for command in (["classify"], ["causes", "--emotion", "Anger"]):
                r = cli(*command, src, "--out", out, *openai(server))
                assert r.code == 2 and needle in r.err and r.err.count("\n") == 1, r.err
        assert server.count == 0
    r = cli("train", src, "--model-out", blocker / "model")
    assert r.code == 2 and "is a file, not a folder" in r.err


# --------------------------------------------------------------------------------- Ctrl-C

def interrupt(cmd: list[str], server: FakeOpenAI) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "emocause", *cmd], env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    start, deadline = server.count, time.time() + 60
    while server.count < start + 3 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def test_ctrl_c_exits_130_with_a_resume_hint_only_where_a_rerun_resumes(tmp_path):
    src = comments(tmp_path / "in.csv", 40)
    with FakeOpenAI(keyword_responder(RULES), latency=0.1) as server:
        base = ["classify", str(src), "--out", str(tmp_path / "o.csv"), "--backend", "openai", "--model", "m",
                "--base-url", server.url, "-j", "1"]
        cached = interrupt([*base, "--cache", str(tmp_path / "c.sqlite")], server)
        assert cached.returncode == 130
        assert cached.stderr.strip() == ("interrupted: answers received so far are cached; "
                                         "rerun the same command to resume")
        before = server.count
        uncached = interrupt([*base, "--no-cache"], server)
        assert server.count > before
    assert uncached.returncode == 130 and uncached.stderr.strip() == "interrupted"
    assert not (tmp_path / "o.csv").exists()


def test_resume_hint_only_for_commands_that_resume():
    from emocause.cli.app import interrupted_message

    assert "rerun the same command to resume" in interrupted_message(["-q", "classify", "x.csv", "-o", "y.csv"])
    assert "records fetched so far are saved" in interrupted_message(["scrape", "github", "a/b", "-o", "x.csv"])
    for argv in (["report", "c.csv", "--from-causes", "-o", "r"], ["classify", "x.csv", "--dry-run"],
                 ["evaluate", "emotions", "--gold", "g.csv"], ["datasets", "fetch", "x"], ["train", "x.csv"]):
        assert interrupted_message(argv) == "interrupted", argv


def test_cache_clear_without_a_terminal_refuses_in_one_line(tmp_path, cli):
    cache = tmp_path / "c.sqlite"
    src = comments(tmp_path / "in.csv", 2)
    with FakeOpenAI(keyword_responder(RULES)) as server:
        assert cli("classify", src, "--out", tmp_path / "o.csv", *openai(server), "--cache", cache).code == 0
    r = subprocess.run([sys.executable, "-m", "emocause", "cache", "clear", "--cache", str(cache)],
                       env=env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "pass --yes" in r.stderr and r.stderr.count("\n") == 1
    assert "rerun" not in r.stderr
    assert json.loads(cli("cache", "stats", "--cache", cache, "--json").out)["entries"] == 2


# ------------------------------------------------------------------------- closed choices, help

@pytest.mark.parametrize("args,needle", [
    (["--platform", "gitlab"], "'gitlab' is not one of 'github', 'stackoverflow', 'jira', 'mail'"),
    (["--backend", "gpt"], "unknown backend 'gpt'; available: openai, hf, embedding, trained"),
])
def test_closed_choices_are_checked_by_the_parser(tmp_path, cli, args, needle):
    for command in (["classify"], ["causes", "-e", "Anger"]):
        r = cli(*command, comments(tmp_path / "in.csv"), "--out", tmp_path / "o.csv", *args)
        assert r.code == 2 and needle in r.err and r.err.count("\n") == 1, r.err
    r = cli("prompts", "show", "basic", "--text", "x", "--platform", "gitlab")
    assert r.code == 2 and "gitlab" in r.err


def test_no_help_shows_a_bool_metavar(cli):
    from emocause.cli.app import app
    import typer.main

    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(typer.main.get_command(app), []):
        r = cli(*path, "--help")
        assert r.code == 0 and "<bool>" not in r.out, path
    shown = cli("classify", "--help").out
    assert "<github|stackoverflow" in shown and "jira|mail>" in shown  # choices, not <str>


# ----------------------------------------------------------------------------------- -q / -v

def test_quiet_prints_nothing_but_errors(tmp_path, cli):
    src = comments(tmp_path / "in.csv", 2)
    with FakeOpenAI(keyword_responder(RULES)) as server:
        r = cli("-q", "classify", src, "--out", tmp_path / "o.csv", *openai(server))
        assert r.code == 0 and r.err == "" and r.out == ""
        server.inject(500, 1)
        r = cli("-q", "classify", src, "--out", tmp_path / "o2.csv", "--no-cache", *openai(server, "--retries", 0))
        assert r.code == 3 and r.err.strip().startswith("1 of 2 rows failed")
    cli("classify", "--help")  # back to normal for the tests that follow
    assert cli("-q", "-v", "prompts", "list").code == 2


@pytest.mark.slow
def test_report_shows_no_third_party_progress_bar(tmp_path):
    """transformers' 'Loading weights' bar leaked into `report` (it loads the sentence model)."""
    causes = ["the build is broken", "the build is red", "the build is failing", "CI is broken again",
              "tests are flaky", "the tests are flaky", "flaky tests again", "docs are outdated"]
    src = tmp_path / "causes.csv"
    pd.DataFrame({"cause": causes * 2}).to_csv(src, index=False)
    r = subprocess.run([sys.executable, "-m", "emocause", "report", str(src), "--from-causes", "--roles", "all",
                        "--min-samples", "2", "--min-cluster-size", "2", "--out", str(tmp_path / "out"),
                        "--embedding-cache", str(tmp_path / "emb.sqlite")],
                       env={**env(), "EMOCAUSE_PROGRESS": "1"}, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "report:" in r.stderr  # emocause's own summary
    assert "Loading weights" not in r.stderr and "it/s]" not in r.stderr


THIRD_PARTY = """
import logging, sys
from emocause.cli.app import main
main([*FLAGS, "prompts", "show", "basic"])  # the CLI sets its switches before any command runs
from tqdm import tqdm
for _ in tqdm(range(3), desc="third-party bar"):
    pass
logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/v1/chat/completions")
from transformers.utils import logging as hf_logging
hf_logging.get_logger("transformers.modeling_utils").warning("Some weights were not initialized")
"""


def test_third_party_bars_and_logs_only_with_verbose(tmp_path):
    runs = {}
    for flags in ((), ("-v",), ("-q",)):
        code = THIRD_PARTY.replace("FLAGS", repr(list(flags)))
        runs[flags] = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True, text=True,
                                     timeout=120)
        assert runs[flags].returncode == 0, runs[flags].stderr
        assert "{text}" in runs[flags].stdout  # the command itself ran
    needles = ("third-party bar", "HTTP Request: POST", "Some weights were not initialized")
    assert not any(n in runs[()].stderr for n in needles), runs[()].stderr
    assert not any(n in runs[("-q",)].stderr for n in needles), runs[("-q",)].stderr
    assert all(n in runs[("-v",)].stderr for n in needles), runs[("-v",)].stderr


# --------------------------------------------------------------------------- progress first frame

def test_first_progress_frame_shows_no_absurd_rate_or_eta():
    from rich.progress import Progress

    from emocause.progress import RateColumn, RemainingColumn

    clock = [100.0]
    progress = Progress(RateColumn(), RemainingColumn(), get_time=lambda: clock[0])
    task_id = progress.add_task("x", total=10_000)
    progress.start_task(task_id)
    clock[0] += 0.002
    progress.advance(task_id, 5)  # five answers 2 ms after the start
    task = progress.tasks[0]
    assert RateColumn().render(task).plain == "-/s"
    assert RemainingColumn().render(task).plain == "-:--:--"
    clock[0] += 1.998
    progress.advance(task_id, 15)  # 20 answers in 2 s
    assert RateColumn().render(progress.tasks[0]).plain == "10.0/s"
    assert RemainingColumn().render(progress.tasks[0]).plain not in ("-:--:--", "0:00:00")
