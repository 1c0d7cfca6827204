"""The hostile sweep: realistic hostile inputs, options and servers against every command.

Run by hand (not in CI), from the repository root::

    python -m scripts.hostile_sweep                  # the code in this checkout
    python -m scripts.hostile_sweep --root ../other  # another checkout (e.g. main, for "before")
    python -m scripts.hostile_sweep -k classify -j 6 --json sweep.json

Each scenario runs the real ``emocause`` CLI (``python -m emocause``) in a subprocess with a
timeout, in its own folder, against misbehaving servers on 127.0.0.1 (tests/fakes/hostile.py,
tests/fakes/openai.py, tests/fakes/github.py), with secrets planted in the environment and in
URLs.  The outcome is classified, worst first:

    hang            the timeout expired
    secret          a planted secret is in stdout/stderr or in any file the run wrote
    traceback       a Python traceback, or the process died from a signal
    silent wrong    exit 0 where the scenario says it must not succeed, or a check of the result
                    failed (rows lost, ids changed, escape codes reached the terminal, ...)
    exit 2          refused with one line (click's usage error counts as one)
    recorded        another non-zero exit (per-row failures, exit 3)
    ok              exit 0 and the result checks out

Every scenario says which clean outcomes it accepts; a clean outcome it does not accept is
marked ``unexpected`` (for instance valid input refused).  The last four totals must be 0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOCAUSE_SHARED", ROOT.parent / "shared"))

SECRETS = {
    "OPENAI_API_KEY": "sk-planted-OPENAIKEY-7f3a9c",
    "GITHUB_TOKEN": "ghp_plantedGITHUBTOKEN9c1d",
    "url password": "PLANTEDPASS-4242",
    "url token": "PLANTEDQUERYTOKEN-7777",
}
USER, PASSWORD, QTOKEN = "planteduser", SECRETS["url password"], SECRETS["url token"]

EXIT2, RECORDED, OK = "exit 2", "recorded", "ok"
HANG, SECRET, TRACEBACK, SILENT = "hang", "secret", "traceback", "silent wrong"
ORDER = [EXIT2, RECORDED, OK, SILENT, SECRET, TRACEBACK, HANG]
BAD = frozenset({EXIT2})                        # bad input: one line, exit 2
FAILS = frozenset({EXIT2, RECORDED})            # nothing usable: refused, or rows recorded as failed
CLEAN = frozenset({EXIT2, RECORDED, OK})        # any clean outcome (checks still apply to exit 0)
GOOD = frozenset({OK})

ESC = "\x1b]0;pwned\x07\x1b[2J"


@dataclass
class Ctx:
    """One scenario's folder: ``inp`` (inputs, not searched for secrets), ``out``, ``home``."""

    dir: Path
    common: Path
    servers: dict[str, Any]

    @property
    def inp(self) -> Path:
        return self.dir / "in"

    @property
    def out(self) -> Path:
        return self.dir / "out"

    def url(self, name: str, path: str = "") -> str:
        """``http://127.0.0.1:PORT`` of a server (FakeGitHub calls it ``api``), plus ``path``."""
        server = self.servers[name]
        return (getattr(server, "api", None) or server.url).removesuffix("/v1") + path


Check = Callable[[Ctx, "Run"], "str | None"]


@dataclass
class Scenario:
    name: str
    command: str
    args: Callable[[Ctx], list[Any]]
    accept: frozenset[str]
    check: Check | None = None
    setup: Callable[[Ctx], None] | None = None
    stdin: bytes | None = None
    timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    memory_gb: float | None = None  # RLIMIT_AS for scenarios that may allocate without bound
    always: Check | None = None  # checked whatever the exit code (e.g. no request to another host)


@dataclass
class Run:
    code: int | None
    out: bytes
    err: bytes
    seconds: float

    @property
    def text(self) -> str:
        return (self.out + self.err).decode("utf-8", "replace")


@dataclass
class Outcome:
    scenario: Scenario
    kind: str
    expected: bool
    detail: str
    seconds: float


# ---------------------------------------------------------------- checks

def table(path: Path) -> Any:
    import pandas as pd

    name = path.name
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if ".jsonl" in name:
        return pd.read_json(path, lines=True, dtype=False, compression="infer")
    return pd.read_csv(path, dtype=str, keep_default_na=False, compression="infer")


def rows_are(name: str, ids: list[str], col: str = "id", also: Check | None = None) -> Check:
    """The output table ``out/name`` has exactly these ids, in order."""
    def check(ctx: Ctx, run: Run) -> str | None:
        p = ctx.out / name
        if not p.exists():
            return f"exit 0 but no {name}"
        try:
            df = table(p)
        except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
            return f"{name} unreadable: {type(exc).__name__}: {str(exc)[:80]}"
        got = [str(x) for x in df[col]] if col in df.columns else None
        if got != ids:
            return f"{name}: {col} {got!r:.80} != {ids!r:.80}"
        return also(ctx, run) if also else None
    return check


def contains(name: str, needle: str) -> Check:
    def check(ctx: Ctx, run: Run) -> str | None:
        p = ctx.out / name
        data = p.read_bytes() if p.exists() else b""
        if p.suffix == ".gz":
            data = gzip.decompress(data)
        return None if needle.encode() in data else f"{needle!r} not in {name}"
    return check


def all_of(*checks: Check) -> Check:
    def check(ctx: Ctx, run: Run) -> str | None:
        for c in checks:
            problem = c(ctx, run)
            if problem:
                return problem
        return None
    return check


def clean_terminal(ctx: Ctx, run: Run) -> str | None:
    """Checked on every run: no escape sequence or bell reaches the terminal."""
    text = (run.out + run.err).decode("utf-8", "replace")
    return "escape codes reached the terminal" if re.search("[\x1b\x07\x9b]", text) else None


def no_hits(server: str, prefix: str = "") -> Check:
    def check(ctx: Ctx, run: Run) -> str | None:
        n = ctx.servers[server].count(prefix)
        return f"{n} request(s) reached {server}{prefix}" if n else None
    return check


def no_big_cell(name: str, limit: int = 60_000_000) -> Check:
    """The 64 MiB bomb message was not kept whole (some cap applied)."""
    def check(ctx: Ctx, run: Run) -> str | None:
        p = ctx.out / name
        if not p.exists():
            return None
        big = max((len(str(v)) for col in table(p).columns for v in table(p)[col]), default=0)
        return f"a {big:,}-character cell was kept (no cap)" if big > limit else None
    return check


def no_formula_cells(name: str) -> Check:
    def check(ctx: Ctx, run: Run) -> str | None:
        p = ctx.out / name
        if not p.exists():
            return f"no {name}"
        import csv

        with p.open(newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    if cell[:1] in ("=", "+", "@") or re.match(r"^-[^\d]", cell):
                        return f"{name} keeps formula cell {cell[:40]!r}"
        return None
    return check


def gz_output(name: str) -> Check:
    def check(ctx: Ctx, run: Run) -> str | None:
        head = (ctx.out / name).read_bytes()[:2] if (ctx.out / name).exists() else b""
        return None if head == b"\x1f\x8b" else f"{name} is not gzip-compressed"
    return check


def output_exists(name: str) -> Check:
    return lambda ctx, run: None if (ctx.out / name).exists() else f"exit 0 but no {name}"


# ---------------------------------------------------------------- inputs

COMMENTS = [("c1", "Thanks a lot, this fixed it!"), ("c2", "The nightly build is broken again, who merged this?"),
            ("c3", "I am scared this migration will eat our data."), ("c4", "wow, that is 10x faster"),
            ("c5", "Bumped the version in setup.py."), ("c6", "This flaky test makes me so angry")]
IDS = [i for i, _ in COMMENTS]
EMOTIONS = ("Anger", "Love", "Fear", "Joy", "Sadness", "Surprise")


def csv_text(rows: list[tuple[str, ...]], header: tuple[str, ...] = ("id", "text"), sep: str = ",") -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def make_common(common: Path) -> None:
    """Inputs shared by all scenarios (read-only by convention)."""
    common.mkdir(parents=True, exist_ok=True)
    w = lambda name, data: (common / name).write_bytes(data if isinstance(data, bytes) else data.encode())  # noqa: E731
    w("comments.csv", csv_text(COMMENTS))
    w("ragged.csv", "id,text\n1,hello, with unquoted comma\n2,bye\n3,ok\n")
    w("short.csv", "id,text,extra\n1,a,x\n2,b\n3,c,z\n")
    w("semi.csv", csv_text(COMMENTS, sep=";"))
    w("tab.csv", csv_text(COMMENTS, sep="\t"))
    w("cp1252.csv", csv_text([("c1", "The café was closed, the naïve résumé didn’t help"),
                              ("c2", "Größe matters")]).encode("cp1252"))
    w("utf16.csv", b"\xff\xfe" + csv_text(COMMENTS).encode("utf-16-le"))
    w("unbalanced.csv", 'id,text\nc1,ok\nc2,"never closed\nc3,bye\nc4,fine\n')
    w("empty.csv", b"")
    w("header.csv", "id,text\n")
    w("notgzip.csv.gz", csv_text(COMMENTS))
    w("array.jsonl", '{"id": "c1", "text": "hi"}\n[1, 2]\n{"id": "c3", "text": "yo"}\n')
    w("mixed.jsonl", '{"id": "c1", "text": "hi there", "extra": 5}\n{"id": "c2", "text": "yo", "extra": "x"}\n'
                     '{"id": "c3", "text": "ok", "extra": {"k": [1]}}\n')
    w("escape_header.csv", f"id,{ESC}body\nc1,hi\n")
    w("escape_data.csv", csv_text([("c1", f"hello {ESC} there"), ("c2", "fine")]))
    labels = [(i, t, *("1" if (e == "Anger" and "angry" in t or e == "Joy" and "Thanks" in t) else "0"
                       for e in EMOTIONS)) for i, t in COMMENTS]
    labels += [(f"g{k}", f"{e.lower()} is what I feel about this build, take {k}",
                *("1" if x == e else "0" for x in EMOTIONS)) for k, e in enumerate(EMOTIONS * 2)]
    w("gold.csv", csv_text(labels, ("id", "text", *EMOTIONS)))
    w("gold_semi.csv", csv_text(labels, ("id", "text", *EMOTIONS), sep=";"))
    w("pred.csv", csv_text([(i, "Anger" if "angry" in t else "Neutral") for i, t in COMMENTS], ("id", "emotion")))
    w("spans.csv", csv_text([(i, t, t.split()[-1], t.split()[-1]) for i, t in COMMENTS],
                            ("id", "text", "Cause Span", "cause")))
    w("gold_ragged.csv", "id,text,Anger,Love,Fear,Joy,Sadness,Surprise\nc1,hi, there,1,0,0,0,0,0\n")
    causes = []
    for k in range(24):
        cell = ["=HYPERLINK(\"http://evil.example/\",\"click\")", "+cmd|' /C calc'!A0", "@SUM(1+1)",
                "-cmd|calc", "the flaky CI pipeline keeps failing"][k % 5]
        causes.append((f"x{k}", f"comment {k}", cell, f"2023-0{1 + k % 9}-10T00:00:00Z",
                       f"{ESC}proj", "CONTRIBUTOR"))
    w("formula_causes.csv", csv_text(causes, ("id", "text", "cause", "created_at", "project",
                                              "author_association")))
    urls = ["https://github.com/a/b/issues/1#c", "", "javascript:alert(1)", "ftp://x.example/y", "nan", "//evil"]
    mixed = [(f"u{k}", f"comment {k}", "tests are flaky on CI", urls[k % len(urls)], "2023-02-01T00:00:00Z")
             for k in range(24)]
    w("url_mixed.csv", csv_text(mixed, ("id", "text", "cause", "url", "created_at")))
    w("config_unknown.toml", 'backend = "openai"\nfrobnicate = 3\n')
    w("config_bad_type.toml", 'concurrency = "lots"\n')
    w("config_ok.toml", "")
    # mail: a tiny mbox, and a decompression bomb (one message with a 64 MiB body) as .mbox.gz
    msg = ("From alice@example.org Mon Jan  2 10:00:00 2023\nFrom: Alice <alice@example.org>\n"
           "Subject: build\nMessage-ID: <m1@example.org>\nDate: Mon, 2 Jan 2023 10:00:00 +0000\n\n"
           "The build is broken again.\n\n")
    w("small.mbox", msg)
    bomb_header = ("From bob@example.org Mon Jan  2 10:00:00 2023\nFrom: Bob <bob@example.org>\n"
                   "Subject: big\nMessage-ID: <bomb@example.org>\nDate: Mon, 2 Jan 2023 10:00:00 +0000\n\n")
    with gzip.open(common / "bomb.mbox.gz", "wb", compresslevel=9) as f:
        f.write(bomb_header.encode())
        line = b"A" * 1023 + b"\n"
        for _ in range(64 * 1024):
            f.write(line)
    (common / "bomb.txt.gz").write_bytes((common / "bomb.mbox.gz").read_bytes())


def train_model(common: Path, root: Path) -> Path | None:
    """A real tfidf-svm model folder, for the crafted-model scenarios (None if training fails)."""
    folder = common / "model"
    if (folder / "model.json").exists():
        return folder
    rows = []
    for k in range(60):
        e = EMOTIONS[k % 6]
        rows.append((f"t{k}", f"{e.lower()} words number {k} about the build", *("1" if x == e else "0" for x in EMOTIONS)))
    (common / "train.csv").write_text(csv_text(rows, ("id", "text", *EMOTIONS)))
    p = subprocess.run([sys.executable, "-m", "emocause", "train", str(common / "train.csv"),
                        "--model-out", str(folder)], capture_output=True, env=base_env(common / "trainhome", root),
                       timeout=300)
    return folder if p.returncode == 0 else None


def crafted_model(kind: str) -> Callable[[Ctx], None]:
    """Copy the trained model into ``in/model`` and break it in one way."""
    def setup(ctx: Ctx) -> None:
        import numpy as np

        src = ctx.common / "model"
        dst = ctx.inp / "model"
        if not src.exists():
            raise RuntimeError("no trained model to craft from")
        shutil.copytree(src, dst)
        if kind == "huge-shape":
            coef = dst / "coef.npy"
            data = coef.read_bytes()
            header_len = int.from_bytes(data[8:10], "little")
            header = data[10:10 + header_len].decode("latin1")
            header = re.sub(r"'shape': \([^)]*\)", "'shape': (1000000000, 1000000000)", header)
            header = header.ljust(header_len - 1) + "\n"
            coef.write_bytes(data[:10] + header.encode("latin1")[:header_len] + data[10 + header_len:])
        elif kind == "fifo-vocabulary":
            (dst / "vocabulary.json").unlink()
            os.mkfifo(dst / "vocabulary.json")
        elif kind == "dev-zero-vocabulary":
            (dst / "vocabulary.json").unlink()
            (dst / "vocabulary.json").symlink_to("/dev/zero")
        elif kind == "complex-weights":
            coef = np.load(dst / "coef.npy")
            np.save(dst / "coef.npy", coef.astype(np.complex128))
        elif kind == "string-weights":
            coef = np.load(dst / "coef.npy")
            np.save(dst / "coef.npy", coef.astype(str))
        elif kind == "wrong-shape":
            coef = np.load(dst / "coef.npy")
            np.save(dst / "coef.npy", coef[:, :3])
    return setup


def read_only_out(ctx: Ctx) -> None:
    """An output folder nobody can write to: root ignores modes, so it is made immutable too."""
    ctx.out.mkdir(parents=True, exist_ok=True)
    ctx.out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(ctx.out)]).returncode:
            raise RuntimeError("running as root without chattr: a read-only folder cannot be made")


def _writable_again(folder: Path) -> None:
    for p in [folder, *folder.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            if os.geteuid() == 0 and shutil.which("chattr"):
                subprocess.run(["chattr", "-i", str(p)], stderr=subprocess.DEVNULL)
            p.chmod(0o755)


def out_is_a_file(ctx: Ctx) -> None:
    ctx.out.parent.mkdir(parents=True, exist_ok=True)
    ctx.out.write_text("I am a file")


# ---------------------------------------------------------------- servers

def start_servers(common: Path, stack: Any) -> dict[str, Any]:
    from tests.fakes.github import FakeGitHub
    from tests.fakes.hostile import EndlessPages, HostileServer, Trickle, chat, fixed, flood, huge_chat
    from tests.fakes.openai import FakeOpenAI, keyword_responder

    servers: dict[str, Any] = {}

    def add(name: str, server: Any) -> None:
        servers[name] = stack.enter_context(server)

    add("openai", FakeOpenAI(keyword_responder({"thank": "Joy", "broken": "Anger", "angry": "Anger",
                                                 "scared": "Fear", "wow": "Surprise"})))
    completions = "/v1/chat/completions"
    for name, behaviour in {
        "o500": fixed(500, {"error": {"message": "boom"}}),
        "o401": fixed(401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error",
                                      "code": "invalid_api_key"}}),
        "omalformed": fixed(200, '{"id": "x", "choices": [{"message": {"content": "Ang'),
        "ohtml": fixed(200, "<html><body><h1>Welcome to nginx!</h1></body></html>", "text/html"),
        "oarray": fixed(200, [1, 2, 3]),
        "octype": chat(content="Anger", ctype="text/plain"),
        "oempty": chat(choices=[]),
        "onullmsg": chat(choices=[{"index": 0, "finish_reason": "stop", "message": None}]),
        "onumber": chat(content=42),
        "ohuge": huge_chat(20 * 1024 * 1024),
    }.items():
        add(name, HostileServer({completions: behaviour}))
    add("oslow", Trickle(interval=1.0))

    # GitHub-like
    perceval = SHARED / "data" / "perceval" / "github"
    gh = FakeGitHub(repo="octo/repo", token=SECRETS["GITHUB_TOKEN"])
    if perceval.is_dir():
        gh.load_perceval(perceval)
    add("github", gh)
    issue = {"id": 1, "number": 1, "title": "t", "body": "b", "user": {"login": "u", "type": "User"},
             "created_at": "2023-01-01T00:00:00Z", "updated_at": "2023-01-01T00:00:00Z",
             "html_url": "https://github.com/octo/repo/issues/1", "author_association": "MEMBER", "comments": 0}
    add("ghendless", EndlessPages([issue], mode="count"))
    add("ghrepeat", EndlessPages([issue], mode="self"))
    add("ghslow", Trickle(interval=1.0))
    gh_routes = {
        "ghitems_scalars": fixed(200, ["a", 3]),
        "ghitems_empty": fixed(200, [{}]),
        "ghitems_numtime": fixed(200, [{**issue, "created_at": 12345, "updated_at": 12345}]),
        "ghhtml": fixed(200, "<html><body>Sign in to GitHub</body></html>", "text/html"),
        "gh500": fixed(502, "<html>Bad gateway</html>", "text/html"),
        "ghescape": fixed(403, {"message": f"{ESC}You shall not pass", "documentation_url": "x"}),
    }
    for name, behaviour in gh_routes.items():
        add(name, HostileServer({"/repos/": behaviour}))

    # mail: a Pipermail archive, one whose index links to another port, a bomb month, HyperKitty
    canary = HostileServer({"/": fixed(200, "From x@y Mon Jan  2 10:00:00 2023\nFrom: x@y\nSubject: "
                                            "canary\nMessage-ID: <canary@y>\n\nCANARY-BODY\n", "text/plain")})
    add("canary", canary)
    pm = SHARED / "data" / "perceval" / "pipermail"
    index = (pm / "pipermail_index.html").read_bytes() if pm.is_dir() else b""
    month = (pm / "pipermail_2016_april.mbox").read_bytes() if pm.is_dir() else (common / "small.mbox").read_bytes()
    add("pipermail", HostileServer({
        "/pipermail/list/": fixed(200, b'<html><a href="2016-April.txt">[ Text ]</a></html>', "text/html"),
        "/pipermail/list/2016-April.txt": fixed(200, month, "text/plain"),
        "/pipermail/full/": fixed(200, index or b"<html></html>", "text/html"),
        "/pipermail/full/2016-April.txt": fixed(200, month, "text/plain"),
        "/pipermail/evil/": fixed(200, f'<html><a href="{canary.url}/2016-April.txt">[ Text ]</a>'
                                       f'<a href="{canary.url}/other/2016-March.txt.gz">x</a></html>', "text/html"),
        "/pipermail/bomb/": fixed(200, b'<html><a href="2016-April.txt.gz">[ Gzip ]</a></html>', "text/html"),
        "/pipermail/bomb/2016-April.txt.gz": fixed(200, (common / "bomb.txt.gz").read_bytes(),
                                                   "application/x-gzip"),
    }))
    add("hyperkitty", HostileServer({"/hyperkitty/list/": fixed(200, gzip.compress(b""), "application/gzip")}))
    add("mirror", HostileServer({"/": fixed(200, b"not the file you are looking for\n" * 100, "text/csv")}))
    add("mirrorhuge", HostileServer({"/": flood(2 * 1024**3)}))
    return servers


# ---------------------------------------------------------------- scenarios

def openai(ctx: Ctx, server: str = "openai", *extra: Any) -> list[Any]:
    return ["--backend", "openai", "--model", "gpt-4", "--base-url", ctx.url(server, "/v1"), *extra]


def scenarios() -> list[Scenario]:
    S = Scenario
    c = lambda ctx, name: ctx.common / name  # noqa: E731
    out = lambda ctx, name="o.csv": ctx.out / name  # noqa: E731
    comments_ok = rows_are("o.csv", IDS)
    sc: list[Scenario] = []

    # ---- classify: tables
    def classify(name: str, src: str, accept: frozenset[str], check: Check | None = None, *extra: Any,
                 **kw: Any) -> None:
        sc.append(S(f"classify {name}", "classify",
                    lambda ctx: ["classify", c(ctx, src), "--out", out(ctx), *openai(ctx), *extra],
                    accept, check, **kw))

    classify("a clean table", "comments.csv", GOOD, comments_ok)
    classify("ragged CSV (unquoted comma)", "ragged.csv", BAD)
    classify("ragged CSV, --bad-lines skip", "ragged.csv", GOOD, rows_are("o.csv", ["2", "3"]), "--bad-lines", "skip")
    classify("CSV row with fewer fields", "short.csv", BAD)
    classify("';'-separated CSV", "semi.csv", GOOD, comments_ok)
    classify("tab-separated CSV", "tab.csv", GOOD, comments_ok)
    classify("cp1252 CSV", "cp1252.csv", GOOD, rows_are("o.csv", ["c1", "c2"], also=contains("o.csv", "café")))
    classify("UTF-16 CSV with BOM", "utf16.csv", GOOD, comments_ok)
    classify("unbalanced quote", "unbalanced.csv", BAD)
    classify("empty file", "empty.csv", BAD)
    classify("header only", "header.csv", frozenset({OK, EXIT2}), rows_are("o.csv", []))
    classify("plain text named .csv.gz", "notgzip.csv.gz", BAD)
    classify("JSONL with an array line", "array.jsonl", BAD)
    classify("header with escape codes", "escape_header.csv", BAD)
    classify("escape codes in comments", "escape_data.csv", GOOD, rows_are("o.csv", ["c1", "c2"]))
    sc.append(S("classify a folder as input", "classify",
                lambda ctx: ["classify", ctx.common, "--out", out(ctx), *openai(ctx)], BAD))
    sc.append(S("classify a missing input", "classify",
                lambda ctx: ["classify", ctx.common / "nope.csv", "--out", out(ctx), *openai(ctx)], BAD))
    sc.append(S("classify stdin '-'", "classify",
                lambda ctx: ["classify", "-", "--out", out(ctx), *openai(ctx)], GOOD, comments_ok,
                stdin=csv_text(COMMENTS, sep=";").encode()))

    # ---- classify: outputs
    sc.append(S("classify --out x.csv.gz", "classify",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx, "o.csv.gz"), *openai(ctx)],
                GOOD, all_of(gz_output("o.csv.gz"), rows_are("o.csv.gz", IDS))))
    sc.append(S("classify mixed-type JSONL to Parquet", "classify",
                lambda ctx: ["classify", c(ctx, "mixed.jsonl"), "--out", out(ctx, "o.parquet"), *openai(ctx)],
                GOOD, rows_are("o.parquet", ["c1", "c2", "c3"])))
    sc.append(S("classify --out x.xlsx", "classify",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx, "o.xlsx"), *openai(ctx)], BAD))
    sc.append(S("classify --out in a read-only folder", "classify",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), *openai(ctx)], BAD,
                setup=read_only_out))
    sc.append(S("classify --out under a file", "classify",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", ctx.out / "o.csv", *openai(ctx)], BAD,
                setup=out_is_a_file))

    # ---- classify: base URLs and servers
    def classify_url(name: str, url: Callable[[Ctx], str], accept: frozenset[str], check: Check | None = None,
                     *extra: Any, timeout: float = 60.0) -> None:
        sc.append(S(f"classify {name}", "classify",
                    lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--backend", "openai",
                                 "--model", "gpt-4", "--base-url", url(ctx), "--retries", "1", *extra],
                    accept, check, timeout=timeout))

    classify_url("--base-url port 99999", lambda ctx: "http://127.0.0.1:99999/v1", FAILS)
    classify_url("--base-url ftp://", lambda ctx: "ftp://127.0.0.1/v1", FAILS)
    classify_url("--base-url without scheme", lambda ctx: "127.0.0.1:8000/v1", FAILS)
    classify_url("--base-url with user:password@", lambda ctx: ctx.url("openai", "/v1").replace(
        "http://", f"http://{USER}:{PASSWORD}@"), frozenset({OK, EXIT2}), comments_ok)
    classify_url("--base-url with ?token=", lambda ctx: ctx.url("openai", f"/v1?token={QTOKEN}"),
                 frozenset({OK, EXIT2}), None)
    for server, what in [("o500", "server answers 500"), ("o401", "server answers 401"),
                         ("omalformed", "malformed JSON"), ("ohtml", "an HTML page"),
                         ("oarray", "a JSON array"), ("oempty", "empty choices"), ("onullmsg", "message null"),
                         ("onumber", "content is a number")]:
        classify_url(what, lambda ctx, s=server: ctx.url(s, "/v1"), FAILS)
    classify_url("wrong content type", lambda ctx: ctx.url("octype", "/v1"), CLEAN,
                 rows_are("o.csv", IDS, also=lambda ctx, run: None if "Anger" in table(ctx.out / "o.csv")[
                     "emotion"].tolist() else "answers lost"))
    classify_url("slowloris server", lambda ctx: ctx.url("oslow", "/v1"), FAILS, None, "--retries", "0",
                 "--limit", "1", timeout=120)
    classify_url("20 MB answer", lambda ctx: ctx.url("ohuge", "/v1"), CLEAN, no_big_cell("o.csv", 1_000_000),
                 "--limit", "2", timeout=180)  # slow (about 60 s) before any cap: not a hang

    # ---- classify: options, devices, models
    for flag, value in [("--concurrency", "0"), ("--limit", "0"), ("--backend", "nope"), ("--prompt", "nope"),
                        ("--platform", "gitlab"), ("--max-chars", "-1"), ("--temperature", "9")]:
        sc.append(S(f"classify {flag} {value}", "classify",
                    lambda ctx, f=flag, v=value: ["classify", c(ctx, "comments.csv"), "--out", out(ctx),
                                                  *openai(ctx), f, v], BAD))
    sc.append(S("classify --device cuda", "classify",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--backend", "embedding",
                             "--device", "cuda"], BAD, timeout=120))
    for kind in ("huge-shape", "fifo-vocabulary", "dev-zero-vocabulary", "complex-weights", "string-weights",
                 "wrong-shape"):
        sc.append(S(f"classify crafted model: {kind}", "classify",
                    lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--backend", "trained",
                                 "--model", ctx.inp / "model"], BAD, setup=crafted_model(kind), memory_gb=4))

    # ---- causes
    sc.append(S("causes a clean table", "causes",
                lambda ctx: ["causes", c(ctx, "comments.csv"), "--out", out(ctx), "--emotion", "Anger", *openai(ctx)],
                GOOD, comments_ok))
    sc.append(S("causes ragged CSV", "causes",
                lambda ctx: ["causes", c(ctx, "ragged.csv"), "--out", out(ctx), "--emotion", "Anger", *openai(ctx)],
                BAD))
    sc.append(S("causes missing --emotion-col", "causes",
                lambda ctx: ["causes", c(ctx, "comments.csv"), "--out", out(ctx), "--emotion-col", "nope",
                             *openai(ctx)], BAD))
    sc.append(S("causes empty choices", "causes",
                lambda ctx: ["causes", c(ctx, "comments.csv"), "--out", out(ctx), "--emotion", "Anger",
                             *openai(ctx, "oempty"), "--retries", "1"], FAILS))

    # ---- preprocess
    def pre(name: str, src: str, accept: frozenset[str], check: Check | None = None, target: str = "o.csv",
            *extra: Any, **kw: Any) -> None:
        sc.append(S(f"preprocess {name}", "preprocess",
                    lambda ctx: ["preprocess", c(ctx, src) if src != "-" else "-", "--out",
                                 "-" if target == "-" else out(ctx, target), *extra], accept, check, **kw))

    pre("ragged CSV", "ragged.csv", BAD)
    pre("';'-separated CSV", "semi.csv", GOOD, comments_ok)
    pre("to .jsonl.gz", "comments.csv", GOOD, all_of(gz_output("o.jsonl.gz"), rows_are("o.jsonl.gz", IDS)),
        "o.jsonl.gz")
    pre("header-only to JSONL", "header.csv", GOOD,
        lambda ctx, run: None if (ctx.out / "o.jsonl").read_bytes().strip() == b"" else "not empty", "o.jsonl")
    pre("--out in a read-only folder", "comments.csv", BAD, setup=read_only_out)
    pre("stdin to stdout", "-", GOOD,
        lambda ctx, run: None if run.out.decode().count("\n") == 7 else "stdout is not the 6-row table", "-",
        stdin=csv_text(COMMENTS, sep="\t").encode())
    pre("--encoding klingon", "comments.csv", BAD, None, "o.csv", "--encoding", "klingon")

    # ---- report
    def report(name: str, src: str, accept: frozenset[str], check: Check | None = None, *extra: Any,
               **kw: Any) -> None:
        sc.append(S(f"report {name}", "report",
                    lambda ctx: ["report", c(ctx, src), "--out", ctx.out / "rep", "--from-causes",
                                 "--min-cluster-size", "2", "--roles", "all", *extra], accept, check,
                    timeout=kw.pop("timeout", 180), **kw))

    report("formula cells and escape codes", "formula_causes.csv", GOOD,
           all_of(lambda ctx, run: None if (ctx.out / "rep" / "report.html").exists() else "no report.html",
                  no_formula_cells("rep/clusters.csv")))
    report("url column mixing links and junk", "url_mixed.csv", frozenset({OK, EXIT2}),
           lambda ctx, run: None if (ctx.out / "rep" / "report.html").exists() else "no report.html")
    report("--device cuda", "formula_causes.csv", BAD, None, "--device", "cuda")
    report("ragged CSV", "ragged.csv", BAD)
    report("--repo ../x", "formula_causes.csv", BAD, None, "--repo", "../x")
    report("--until 9999-12-31", "formula_causes.csv", frozenset({OK, EXIT2}), None, "--until", "9999-12-31")
    sc.append(S("report --out in a read-only folder", "report",
                lambda ctx: ["report", c(ctx, "formula_causes.csv"), "--out", ctx.out / "rep", "--from-causes"],
                BAD, setup=read_only_out, timeout=180))

    # ---- train
    sc.append(S("train ragged CSV", "train", lambda ctx: ["train", c(ctx, "gold_ragged.csv"), "--model-out",
                                                          ctx.out / "m"], BAD))
    sc.append(S("train ';'-separated labels", "train",
                lambda ctx: ["train", c(ctx, "gold_semi.csv"), "--model-out", ctx.out / "m"], frozenset({OK, EXIT2}),
                None, timeout=120))
    sc.append(S("train --model-out read-only", "train",
                lambda ctx: ["train", c(ctx, "gold.csv"), "--model-out", ctx.out / "m"], BAD, setup=read_only_out))
    sc.append(S("train --device cuda", "train",
                lambda ctx: ["train", c(ctx, "gold.csv"), "--model-out", ctx.out / "m", "--kind", "embedding-logreg",
                             "--device", "cuda"], BAD, timeout=120))

    # ---- evaluate
    def ev(name: str, args: Callable[[Ctx], list[Any]], accept: frozenset[str], check: Check | None = None,
           **kw: Any) -> None:
        sc.append(S(f"evaluate {name}", "evaluate", args, accept, check, **kw))

    ev("emotions, clean", lambda ctx: ["evaluate", "emotions", "--gold", c(ctx, "gold.csv"), "--pred",
                                       c(ctx, "pred.csv"), "--bootstrap", "100", "--format", "json"], GOOD,
       lambda ctx, run: None if '"macro"' in run.out.decode() else "no macro scores on stdout")
    ev("--bootstrap 1000000000", lambda ctx: ["evaluate", "emotions", "--gold", c(ctx, "gold.csv"), "--pred",
                                              c(ctx, "pred.csv"), "--bootstrap", "1000000000"], BAD, memory_gb=4)
    ev("ragged gold", lambda ctx: ["evaluate", "emotions", "--gold", c(ctx, "gold_ragged.csv"), "--pred",
                                   c(ctx, "pred.csv")], BAD)
    ev("--format xml", lambda ctx: ["evaluate", "emotions", "--gold", c(ctx, "gold.csv"), "--pred",
                                    c(ctx, "pred.csv"), "--format", "xml"], BAD)
    ev("causes --bleu nope", lambda ctx: ["evaluate", "causes", "--gold", c(ctx, "spans.csv"), "--pred",
                                          c(ctx, "spans.csv"), "--bleu", "nope"], BAD)
    ev("causes, ragged predictions", lambda ctx: ["evaluate", "causes", "--gold", c(ctx, "spans.csv"), "--pred",
                                                  c(ctx, "ragged.csv")], BAD)

    # ---- scrape github
    def gh(name: str, args: Callable[[Ctx], list[Any]], accept: frozenset[str], check: Check | None = None,
           **kw: Any) -> None:
        sc.append(S(f"scrape github {name}", "scrape github", args, accept, check, **kw))

    def ghargs(ctx: Ctx, server: str = "github", repo: str = "octo/repo", *extra: Any) -> list[Any]:
        return ["scrape", "github", repo, "--out", out(ctx, "gh.csv"), "--api-url", ctx.url(server),
                "--retries", "1", "--timeout", "5", *extra]

    gh("clean", lambda ctx: ghargs(ctx), GOOD, output_exists("gh.csv"))
    gh("--until 9999-12-31", lambda ctx: ghargs(ctx, "github", "octo/repo", "--until", "9999-12-31"),
       frozenset({OK, EXIT2}))
    gh("--since not-a-date", lambda ctx: ghargs(ctx, "github", "octo/repo", "--since", "yesterday-ish"), BAD)
    gh("--include bogus", lambda ctx: ghargs(ctx, "github", "octo/repo", "--include", "bogus"), BAD)
    for repo in ("../x", "a/..", "./.", "octo/repo/../../x"):
        gh(f"repo {repo}", lambda ctx, r=repo: ghargs(ctx, "github", r), BAD)
    gh("--api-url with user:password@", lambda ctx: ["scrape", "github", "octo/repo", "--out", out(ctx, "gh.csv"),
                                                      "--api-url", ctx.url("github").replace(
                                                          "http://", f"http://{USER}:{PASSWORD}@")],
       frozenset({OK, EXIT2}))
    gh("--api-url with ?token=", lambda ctx: ["scrape", "github", "octo/repo", "--out", out(ctx, "gh.csv"),
                                              "--api-url", ctx.url("github", f"?access_token={QTOKEN}")],
       frozenset({OK, EXIT2}))
    gh("endless next links", lambda ctx: ghargs(ctx, "ghendless"), FAILS, timeout=90)
    gh("next link to the same page", lambda ctx: ghargs(ctx, "ghrepeat"), FAILS, timeout=90)
    gh("items [\"a\", 3]", lambda ctx: ghargs(ctx, "ghitems_scalars"), CLEAN)
    gh("items [{}]", lambda ctx: ghargs(ctx, "ghitems_empty"), CLEAN)
    gh("a number for a timestamp", lambda ctx: ghargs(ctx, "ghitems_numtime"), CLEAN)
    gh("an HTML page", lambda ctx: ghargs(ctx, "ghhtml"), FAILS)
    gh("slowloris, --timeout 5 --retries 0", lambda ctx: ghargs(ctx, "ghslow")[:-4] + ["--retries", "0", "--timeout", "5"],
       FAILS, timeout=150)  # time enough for a 120 s default deadline
    gh("502 with HTML", lambda ctx: ghargs(ctx, "gh500"), FAILS, timeout=90)
    gh("error message with escape codes", lambda ctx: ghargs(ctx, "ghescape"), FAILS)
    gh("--out in a read-only folder", lambda ctx: ghargs(ctx), BAD, setup=read_only_out)

    # ---- scrape mail
    def mail(name: str, args: Callable[[Ctx], list[Any]], accept: frozenset[str], check: Check | None = None,
             **kw: Any) -> None:
        sc.append(S(f"scrape {name}", "scrape " + name.split()[0], args, accept, check, **kw))

    mail("pipermail clean", lambda ctx: ["scrape", "pipermail", ctx.url("pipermail", "/pipermail/list/"),
                                         "--out", out(ctx, "pm.csv"), "--since", "2000-01-01"], GOOD,
         output_exists("pm.csv"))
    mail("pipermail index linking to another port",
         lambda ctx: ["scrape", "pipermail", ctx.url("pipermail", "/pipermail/evil/"), "--out", out(ctx, "pm.csv"),
                      "--since", "2000-01-01"], CLEAN, always=no_hits("canary"))
    mail("pipermail URL with ?token=",
         lambda ctx: ["scrape", "pipermail", ctx.url("pipermail", f"/pipermail/list/?token={QTOKEN}"),
                      "--out", out(ctx, "pm.csv"), "--since", "2000-01-01"], frozenset({OK, EXIT2}))
    mail("pipermail URL with user:password@",
         lambda ctx: ["scrape", "pipermail", ctx.url("pipermail", "/pipermail/list/").replace(
             "http://", f"http://{USER}:{PASSWORD}@"), "--out", out(ctx, "pm.csv"), "--since", "2000-01-01"],
         frozenset({OK, EXIT2}))
    mail("pipermail decompression bomb (64 MiB month)",
         lambda ctx: ["scrape", "pipermail", ctx.url("pipermail", "/pipermail/bomb/"), "--out", out(ctx, "pm.csv"),
                      "--since", "2000-01-01"], CLEAN, no_big_cell("pm.csv"), memory_gb=6, timeout=120)
    mail("pipermail ftp:// URL", lambda ctx: ["scrape", "pipermail", "ftp://127.0.0.1/pipermail/list/",
                                              "--out", out(ctx, "pm.csv")], BAD)
    mail("hyperkitty --since 1000-01-01",
         lambda ctx: ["scrape", "hyperkitty", ctx.url("hyperkitty", "/hyperkitty/list/dev@example.org/"),
                      "--out", out(ctx, "hk.csv"), "--since", "1000-01-01"], CLEAN, timeout=90)
    mail("hyperkitty --until 9999-12-31",
         lambda ctx: ["scrape", "hyperkitty", ctx.url("hyperkitty", "/hyperkitty/list/dev@example.org/"),
                      "--out", out(ctx, "hk.csv"), "--since", "2024-01-01", "--until", "9999-12-31"], CLEAN,
         timeout=90)
    mail("mbox decompression bomb (64 MiB message)",
         lambda ctx: ["scrape", "mbox", c(ctx, "bomb.mbox.gz"), "--out", out(ctx, "mb.csv")], CLEAN,
         no_big_cell("mb.csv"), memory_gb=6, timeout=120)
    mail("mbox missing path", lambda ctx: ["scrape", "mbox", ctx.common / "nope.mbox", "--out", out(ctx, "mb.csv")],
         BAD)
    mail("mbox --out in a read-only folder", lambda ctx: ["scrape", "mbox", c(ctx, "small.mbox"), "--out",
                                                          out(ctx, "mb.csv")], BAD, setup=read_only_out)

    # ---- datasets
    def ds(name: str, args: Callable[[Ctx], list[Any]], accept: frozenset[str], **kw: Any) -> None:
        sc.append(S(f"datasets {name}", "datasets", args, accept, **kw))

    ds("mirror serving the wrong bytes", lambda ctx: ["datasets", "fetch", "emotion-causes", "--dir", ctx.out / "d",
                                                      "--base-url", ctx.url("mirror")], FAILS)
    ds("mirror URL with user:password@", lambda ctx: ["datasets", "fetch", "emotion-causes", "--dir", ctx.out / "d",
                                                      "--base-url", ctx.url("mirror").replace(
                                                          "http://", f"http://{USER}:{PASSWORD}@")], FAILS)
    ds("mirror streaming past the known size", lambda ctx: ["datasets", "fetch", "emotion-causes", "--dir",
                                                            ctx.out / "d", "--base-url", ctx.url("mirrorhuge"),
                                                            "--timeout", "5"], FAILS, timeout=90)
    ds("--dir naming a file", lambda ctx: ["datasets", "fetch", "emotion-causes", "--dir", ctx.out,
                                           "--base-url", ctx.url("mirror")], BAD, setup=out_is_a_file)
    ds("unknown data set", lambda ctx: ["datasets", "fetch", "nope", "--dir", ctx.out / "d"], BAD)
    ds("--base-url ftp://", lambda ctx: ["datasets", "fetch", "emotion-causes", "--dir", ctx.out / "d",
                                         "--base-url", "ftp://127.0.0.1/x"], BAD)

    # ---- cache and config
    sc.append(S("cache clear without a terminal or --yes", "cache", lambda ctx: ["cache", "clear"], BAD,
                stdin=b""))
    sc.append(S("EMOCAUSE_CONFIG names a missing file", "config",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--dry-run"], BAD,
                env={"EMOCAUSE_CONFIG": "/nonexistent/emocause.toml"}))
    sc.append(S("config with an unknown key", "config",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--dry-run"], BAD,
                env={"EMOCAUSE_CONFIG": "@common/config_unknown.toml"}))
    sc.append(S("config with a wrongly typed value", "config",
                lambda ctx: ["classify", c(ctx, "comments.csv"), "--out", out(ctx), "--dry-run"], BAD,
                env={"EMOCAUSE_CONFIG": "@common/config_bad_type.toml"}))
    return sc


# ---------------------------------------------------------------- running

def base_env(home: Path, root: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")}
    (home / "config.toml").touch()
    return {**keep, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"), "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"), "EMOCAUSE_CACHE": str(home / "cache.sqlite"),
            "EMOCAUSE_CONFIG": str(home / "config.toml"), "EMOCAUSE_PROGRESS": "0", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1",
            "OPENAI_API_KEY": SECRETS["OPENAI_API_KEY"], "GITHUB_TOKEN": SECRETS["GITHUB_TOKEN"],
            "NO_COLOR": "1", "COLUMNS": "120"}


def _limit(gb: float | None) -> Callable[[], None] | None:
    if not gb:
        return None

    def apply() -> None:
        import resource

        n = int(gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (n, n))
    return apply


def artifacts(folder: Path) -> list[tuple[str, bytes]]:
    """Every file under ``folder`` (inputs excluded), decompressed or decoded where needed."""
    found = []
    for p in sorted(folder.rglob("*")):
        if "in" in p.relative_to(folder).parts[:1] or not p.is_file() or p.is_symlink():
            continue
        try:
            data = p.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            elif p.suffix == ".parquet":
                data = table(p).to_csv().encode()
        except Exception:  # noqa: BLE001 - search the raw bytes then
            data = p.read_bytes()
        found.append((str(p.relative_to(folder)), data))
    return found


def classify_outcome(s: Scenario, ctx: Ctx, run: Run) -> tuple[str, str]:
    if run.code is None:
        return HANG, f"still running after {s.timeout:.0f} s"
    leaks = []
    for where, data in [("stdout", run.out), ("stderr", run.err), *artifacts(ctx.dir)]:
        leaks += [f"{k} in {where}" for k, v in SECRETS.items() if v.encode() in data]
    if leaks:
        return SECRET, "; ".join(leaks[:3])
    err = run.err.decode("utf-8", "replace")
    if "Traceback (most recent call last)" in err:
        last = [x for x in err.splitlines() if x.strip()][-1:]
        return TRACEBACK, (last[0] if last else "")
    if run.code < 0:
        return TRACEBACK, f"killed by signal {-run.code}"
    problem = clean_terminal(ctx, run) or (s.always(ctx, run) if s.always else None)
    if problem:
        return SILENT, problem
    first = next((x for x in err.splitlines() if x.startswith(("error:", "Error:"))), "")
    if run.code == 0:
        if OK not in s.accept:
            return SILENT, "exit 0 " + ("(" + first + ")" if first else "where the run must not succeed")
        problem = s.check(ctx, run) if s.check else None
        return (SILENT, problem) if problem else (OK, "")
    lines = [x for x in err.splitlines() if x.strip()]
    if run.code == 2:
        one = len(lines) == 1 or (lines and lines[0].startswith("Usage:"))
        return EXIT2, (first or (lines[-1] if lines else "")) + ("" if one else f" [{len(lines)} lines]")
    return RECORDED, f"exit {run.code}: " + (first or (lines[-1] if lines else ""))


def run_one(s: Scenario, work: Path, common: Path, servers: dict[str, Any], root: Path) -> Outcome:
    folder = Path(tempfile.mkdtemp(prefix="s-", dir=work))
    ctx = Ctx(folder, common, servers)
    ctx.inp.mkdir()
    t0 = time.perf_counter()
    try:
        if s.setup:
            s.setup(ctx)
        args = [str(a) for a in s.args(ctx)]
    except Exception as exc:  # noqa: BLE001 - a broken setup is reported, not fatal
        return Outcome(s, "setup failed", False, f"{type(exc).__name__}: {exc}", 0.0)
    env = base_env(folder / "home", root)
    for k, v in s.env.items():
        env[k] = v.replace("@common", str(common))
    try:
        p = subprocess.run([sys.executable, "-m", "emocause", *args], input=s.stdin if s.stdin is not None else b"",
                           capture_output=True, cwd=folder, env=env, timeout=s.timeout, preexec_fn=_limit(s.memory_gb))
        run = Run(p.returncode, p.stdout, p.stderr, time.perf_counter() - t0)
    except subprocess.TimeoutExpired as exc:
        run = Run(None, exc.stdout or b"", exc.stderr or b"", time.perf_counter() - t0)
    kind, detail = classify_outcome(s, ctx, run)
    if s.setup is read_only_out:  # read-only folders must not stop the clean-up
        _writable_again(ctx.out)
    return Outcome(s, kind, kind in s.accept, detail, run.seconds)


def printable(text: str) -> str:
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "?", text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose emocause is tried (default: this one)")
    ap.add_argument("-j", "--jobs", type=int, default=4, help="scenarios run at once")
    ap.add_argument("-k", dest="keyword", default="", help="only scenarios whose name contains this")
    ap.add_argument("--json", type=Path, help="also write the outcomes as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the scenario folders")
    args = ap.parse_args(argv)

    from contextlib import ExitStack

    chosen = [s for s in scenarios() if args.keyword.lower() in s.name.lower()]
    work = Path(tempfile.mkdtemp(prefix="emocause-sweep-"))
    common = work / "common"
    t0 = time.perf_counter()
    make_common(common)
    if any(s.name.startswith("classify crafted model") for s in chosen):
        train_model(common, args.root.resolve())
    for p in common.rglob("*"):
        if p.is_file():
            p.chmod(0o444)
    print(f"hostile sweep: {len(chosen)} scenarios against {args.root.resolve()} ({args.jobs} at once)",
          flush=True)
    with ExitStack() as stack:
        servers = start_servers(common, stack)
        # the slowest first, so the sweep is not left waiting on them at the end
        order = sorted(chosen, key=lambda s: -s.timeout)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_one, s, work, common, servers, args.root.resolve()) for s in order]
            outcomes = []
            for f in futures:
                o = f.result()
                outcomes.append(o)
                print(f"  {o.kind:13} {'  ' if o.expected else '! '}{o.seconds:6.1f}s  {o.scenario.name}"
                      f"{'  -- ' + printable(o.detail)[:110] if o.detail else ''}", flush=True)
    outcomes.sort(key=lambda o: chosen.index(o.scenario))
    totals = Counter(o.kind for o in outcomes)
    print()
    print(f"{'command':16} {'scenario':52} {'outcome':13} detail")
    for o in outcomes:
        print(f"{o.scenario.command:16} {o.scenario.name[:52]:52} {o.kind + ('' if o.expected else ' !'):13} "
              f"{printable(o.detail)[:100]}")
    print()
    print(f"tried {len(outcomes)}: " + ", ".join(f"{k} {totals.get(k, 0)}" for k in ORDER)
          + (f", setup failed {totals['setup failed']}" if totals.get("setup failed") else "")
          + f"; unexpected {sum(not o.expected for o in outcomes)}; {time.perf_counter() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([{"command": o.scenario.command, "scenario": o.scenario.name,
                                          "outcome": o.kind, "expected": o.expected, "detail": o.detail,
                                          "seconds": round(o.seconds, 1)} for o in outcomes], indent=1))
    if not args.keep:
        for p in work.rglob("*"):
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)
    bad = sum(totals.get(k, 0) for k in (SILENT, SECRET, TRACEBACK, HANG))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
