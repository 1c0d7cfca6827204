"""Defaults from the environment and the config file; the admin commands."""

import json

import pandas as pd

from tests.fakes.openai import FakeOpenAI, keyword_responder


def test_config_file_and_env_choose_the_default_backend(tmp_path, cli, monkeypatch):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["The build is broken"]}).to_csv(src, index=False)
    with FakeOpenAI(keyword_responder({"broken": "Annoyance"})) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'backend = "openai"\nmodel = "from-config"\nbase_url = "{server.url}"\n')
        monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
        assert cli("classify", src, "--out", tmp_path / "o.csv").code == 0
        assert server.requests[-1]["body"]["model"] == "from-config"
        monkeypatch.setenv("EMOCAUSE_MODEL", "from-env")
        assert cli("classify", src, "--out", tmp_path / "o2.csv").code == 0
        assert server.requests[-1]["body"]["model"] == "from-env"
        assert cli("classify", src, "--out", tmp_path / "o3.csv", "--model", "from-flag").code == 0
        assert server.requests[-1]["body"]["model"] == "from-flag"
    manifest = json.loads((tmp_path / "o3.csv.manifest.json").read_text())
    assert manifest["backend"] == "openai" and manifest["model"] == "from-flag"


def test_bad_config_file_is_one_line(tmp_path, cli, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('backend = "openai"\napi_key = "nope"\n')
    monkeypatch.setenv("EMOCAUSE_CONFIG", str(cfg))
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["x"]}).to_csv(src, index=False)
    r = cli("classify", src, "--out", tmp_path / "o.csv")
    assert r.code == 2 and "unknown keys api_key" in r.err


def test_prompts_and_cache_commands(tmp_path, cli):
    r = cli("prompts", "list")
    assert r.code == 0 and "all-levels" in r.out and "frustration-cause" in r.out
    r = cli("prompts", "show", "basic")
    assert r.code == 0 and "{text}" in r.out and "sha256" in r.out
    r = cli("prompts", "show", "cause", "--text", "CI is red", "--emotion", "Anger", "--platform", "jira")
    assert r.code == 0 and "JIRA" in r.out and "CI is red" in r.out and "Anger" in r.out
    assert cli("prompts", "show", "nope").code == 2
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["The build is broken", "thanks!"]}).to_csv(src, index=False)
    cache = tmp_path / "c.sqlite"
    with FakeOpenAI(keyword_responder({"broken": "Annoyance"})) as server:
        assert cli("classify", src, "--out", tmp_path / "o.csv", "--backend", "openai", "--model", "m",
                   "--base-url", server.url, "--cache", cache).code == 0
    r = cli("cache", "stats", "--cache", cache, "--json")
    st = json.loads(r.out)
    assert st["entries"] == 2 and st["by_model"][0]["model"] == "m"
    r = cli("cache", "clear", "--cache", cache, "--yes")
    assert r.code == 0 and "deleted 2" in r.out
    assert json.loads(cli("cache", "stats", "--cache", cache, "--json").out)["entries"] == 0


def test_every_command_has_help(cli):
    from emocause.cli.app import app
    import typer.main

    group = typer.main.get_command(app)

    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path in walk(group, []):
        r = cli(*path, "--help")
        assert r.code == 0 and "Usage" in r.out, path


def test_version(cli):
    r = cli("--version")
    assert r.code == 0 and r.out.startswith("emocause ")
