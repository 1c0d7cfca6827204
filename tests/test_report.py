"""``emocause report``: the case study end to end, and its parts.

The TensorFlow run uses the paper's own causes (``filtered_contributors.csv``)
and the bundled MiniLM; the scraped-records run goes through a real HTTP
server speaking the OpenAI protocol (``tests/fake_openai.py``).  Clustering is
checked against scikit-learn's DBSCAN on a full precomputed cosine matrix, the
paper's method.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emocause.report import clustering

from emocause.report import themes
from emocause.cli.app import main
from emocause.report.render import github_link, parse_when, safe_url, strip_quotes
from tests.fakes.openai import FakeOpenAI, utterance

OUTPUTS = ("report.html", "report.md", "clusters.csv", "summary.json", "manifest.json",
           "charts/months.png", "charts/sizes.png", "charts/roles.png")


# ----------------------------------------------------------------------------- the paper's causes

@pytest.fixture(scope="module")
def tf_report(tmp_path_factory) -> Path:
    """The report built once from the paper's TensorFlow causes (``--from-causes``)."""
    src = Path(__file__).resolve().parents[2] / "shared" / "data" / "paper" / "filtered_contributors.csv"
    if not src.is_file():
        pytest.skip("../shared/data/paper is not present")
    out = tmp_path_factory.mktemp("tf") / "report"
    code = main(["report", str(src), "--from-causes", "--out", str(out),
                 "--repo", "tensorflow/tensorflow"])
    assert code == 0
    return out


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def test_tf_report_writes_every_file(tf_report: Path) -> None:
    for name in OUTPUTS:
        p = tf_report / name
        assert p.is_file() and p.stat().st_size > 0, name
    for name in ("months", "sizes", "roles"):
        assert (tf_report / "charts" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((tf_report / "manifest.json").read_text())
    assert manifest["command"] == "report"
    assert manifest["parameters"]["eps"] == 0.3
    assert manifest["parameters"]["min_samples"] == 4
    assert manifest["parameters"]["min_cluster_size"] == 8
    assert manifest["clustering"]["algorithm"] == "dbscan"
    assert manifest["embedding"]["model"] == "all-MiniLM-L6-v2"
    assert manifest["input"]["rows"] == 1275 and len(manifest["input"]["sha256"]) == 64


def test_tf_report_sizes_are_consistent(tf_report: Path, paper_dir: Path) -> None:
    src = pd.read_csv(paper_dir / "filtered_contributors.csv", dtype=str, keep_default_na=False)
    with_cause = int((src["Emotion Causes"].map(strip_quotes) != "").sum())
    s = _summary(tf_report)
    rows = pd.read_csv(tf_report / "clusters.csv", keep_default_na=False)
    assert s["n_causes"] == with_cause == len(rows)
    sizes = [c["size"] for c in s["clusters"]]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) > 7
    assert sum(sizes) + s["n_unclustered"] == s["n_causes"]
    assert s["n_unclustered"] == s["n_noise"] + s["n_in_small_clusters"]
    assert [c["id"] for c in s["clusters"]] == list(range(1, len(sizes) + 1))
    counts = rows["cluster"].value_counts()
    for c in s["clusters"]:
        assert counts[c["id"]] == c["size"]
        assert 1 <= len(c["examples"]) <= 3 and c["keywords"] and c["label"]
        members = set(rows.loc[rows["cluster"] == c["id"], "cause"])
        assert all(e["cause"] in members for e in c["examples"])
        assert sum(c["roles"].values()) == c["size"]
    assert (rows["cluster"] == -1).sum() == s["n_unclustered"]
    # Traceable: every row points back at its input row and cause.
    assert rows["row"].between(0, len(src) - 1).all()
    sample = rows.iloc[0]
    assert strip_quotes(src.loc[int(sample["row"]), "Emotion Causes"]) == sample["cause"]


def test_tf_report_finds_the_papers_themes(tf_report: Path, paper_dir: Path) -> None:
    """Version trouble, failing CI/tests and merge conflicts come out as themes, as in the paper."""
    s = _summary(tf_report)
    words = [" ".join(c["keywords"]).lower() for c in s["clusters"]]
    assert any(re.search(r"version|compat", w) for w in words), words
    assert any(re.search(r"\bci\b|test", w) for w in words), words
    assert any(re.search(r"merge|conflict", w) for w in words), words

    rows = pd.read_csv(tf_report / "clusters.csv", keep_default_na=False)
    paper = pd.read_csv(paper_dir / "clusters.csv", dtype=str, keep_default_na=False)
    paper["cause"] = paper["Cause"].map(strip_quotes)
    joined = paper.merge(rows.drop_duplicates("cause")[["cause", "cluster", "algorithm_label"]],
                         on="cause", how="left")
    assert joined["cluster"].notna().all()  # every paper cause is among ours

    def theme_of(pattern: str) -> int:
        return next(c["id"] for c, w in zip(s["clusters"], words) if re.search(pattern, w))

    # The paper's merge-conflict cluster (4) and CI cluster (3) mostly land in our matching theme.
    merge, ci = theme_of(r"merge|conflict"), theme_of(r"\bci\b|tests? fail")
    assert (joined.loc[joined["Cluster"] == "4", "cluster"] == merge).sum() >= 6
    assert (joined.loc[joined["Cluster"] == "3", "cluster"] == ci).sum() >= 5
    # "Too many commits" (paper cluster 6) exists as a smaller DBSCAN cluster: squash requests group.
    squash = joined[(joined["Cluster"] == "6") & joined["cause"].str.contains("squash", case=False)]
    assert len(squash) >= 3 and squash["algorithm_label"].nunique() == 1
    assert (squash["algorithm_label"] >= 0).all()


def test_tf_report_links_and_pages(tf_report: Path) -> None:
    s = _summary(tf_report)
    urls = [e["url"] for c in s["clusters"] for e in c["examples"]]
    assert urls and all(re.fullmatch(r"https://github\.com/tensorflow/tensorflow/issues/\d+"
                                     r"#issuecomment-\d+", u) for u in urls)
    page = (tf_report / "report.html").read_text(encoding="utf-8")
    assert "tensorflow/tensorflow" in page and "data:image/png;base64," in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["'](https?:)?//(?!github\.com)""", page)  # no external loads
    for c in s["clusters"]:
        assert f'id="theme-{c["id"]}"' in page
    md = (tf_report / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# What causes frustration in tensorflow/tensorflow")
    assert "charts/months.png" in md and md.count("\n### ") == len(s["clusters"])


# ----------------------------------------------------------------------------- untrusted text

def _write_causes(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _causes_rows(evil: str, evil_url: str = "javascript:alert(1)") -> list[dict]:
    """Two themes of causes (merge conflicts, flaky CI) and a few loners; the merge theme's
    comments carry ``evil`` (so its examples show it), and one of its causes and links too."""
    rows = []
    merge = ["Please resolve the merge conflicts.", "Can you fix the merge conflicts?",
             "There are merge conflicts again.", "Resolve merge conflicts please.",
             "The merge conflicts need to be resolved.", "Merge conflicts block this PR.",
             "Fix the merge conflicts first.", "Still merge conflicts here.",
             "Please fix merge conflicts before review.", "This has merge conflicts."]
    ci = ["The CI build is failing again.", "CI failed on this change.",
          "The CI is broken for this PR.", "CI keeps failing on unrelated tests.",
          "The failing CI blocks the merge.", "CI build failure again.",
          "Our CI fails on every run.", "The CI pipeline failed."]
    for i, cause in enumerate(merge):
        rows.append({"Issue_ID": 100 + i, "User": f"<b>dev{i}</b>", "Comment_ID": 5000 + i,
                     "Date": f"2023-0{1 + i % 3}-1{i % 9} 10:00:00", "Comment": f"Hi. {cause} {evil}",
                     "Emotion Causes": f'"{cause}"', "UserType": "CONTRIBUTOR" if i % 3 else "MEMBER"})
    for i, cause in enumerate(ci):
        rows.append({"Issue_ID": 200 + i, "User": f"ci{i}", "Comment_ID": 6000 + i,
                     "Date": f"2023-02-0{1 + i} 09:00:00", "Comment": cause, "Emotion Causes": cause,
                     "UserType": "COLLABORATOR"})
    # One more hostile row inside the merge theme: in the cause, the author and the link.
    rows.append({"Issue_ID": 999, "User": "<b>mallory</b>", "Comment_ID": 7000,
                 "Date": "2023-03-01 08:00:00", "Comment": f"{evil} Please resolve the merge conflicts.",
                 "Emotion Causes": f"{evil} merge conflicts", "UserType": "CONTRIBUTOR",
                 "url": evil_url})
    for i, cause in enumerate(["The docs are outdated.", "My laptop ran out of memory.",
                               "Nobody answered for a month."]):
        rows.append({"Issue_ID": 300 + i, "User": f"x{i}", "Comment_ID": 8000 + i,
                     "Date": "2023-03-05 12:00:00", "Comment": cause, "Emotion Causes": cause,
                     "UserType": "NONE"})
    for r in rows:
        r.setdefault("url", "")
    return rows


def test_html_escapes_comment_text(tmp_path: Path, cli) -> None:
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    src = _write_causes(tmp_path / "causes.csv", _causes_rows(evil))
    out = tmp_path / "out"
    r = cli("report", src, "--from-causes", "--out", out, "--roles", "all", "--title",
            "<i>proj</i>")
    assert r.code == 0, r.err
    page = (out / "report.html").read_text(encoding="utf-8")
    s = _summary(out)
    assert any(evil in e["comment"] for c in s["clusters"] for e in c["examples"])  # it is shown
    assert "<script" not in page.lower() and "onerror=\"alert" not in page
    assert "<img src=x" not in page and "<b>dev" not in page and "<i>proj</i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r"&lt;b&gt;dev\d&lt;/b&gt;", page) and "&lt;i&gt;proj&lt;/i&gt;" in page
    assert "javascript:" not in page  # the hostile link is dropped, not escaped into an href
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<b>dev" not in md and "&lt;b&gt;dev" in md and "<i>proj" not in md
    # The data files keep the text exactly as written.
    rows = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert (rows["cause"] == f"{evil} merge conflicts").sum() == 1


def test_links_only_with_a_repo(tmp_path: Path, cli) -> None:
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    out = tmp_path / "out"
    assert cli("report", src, "--from-causes", "--out", out, "--roles", "all").code == 0
    rows = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert (rows["url"] == "").all()  # no url column values, no --repo: no invented links
    out2 = tmp_path / "out2"
    assert cli("report", src, "--from-causes", "--out", out2, "--roles", "all",
               "--repo", "acme/widgets").code == 0
    rows = pd.read_csv(out2 / "clusters.csv", keep_default_na=False)
    assert rows["url"].str.match(r"https://github\.com/acme/widgets/issues/\d+#issuecomment-\d+").all()


def test_role_and_window_filters(tmp_path: Path, cli) -> None:
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    out = tmp_path / "out"
    # The paper's default roles drop the NONE authors; the window keeps February and March.
    r = cli("report", src, "--from-causes", "--out", out, "--since", "2023-02-01",
            "--until", "2023-03-31", "--min-cluster-size", "4")
    assert r.code == 0, r.err
    rows = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    assert "NONE" not in set(rows["role"])
    dates = pd.to_datetime(rows["date"], utc=True)
    assert dates.min() >= pd.Timestamp("2023-02-01", tz="UTC")
    assert dates.max() <= pd.Timestamp("2023-03-31 23:59:59", tz="UTC")
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["other_roles"] == 3 and m["counts"]["outside_window"] > 0
    assert m["parameters"]["roles"] == ["CONTRIBUTOR", "COLLABORATOR", "MEMBER"]


def test_hdbscan_option(tmp_path: Path, cli) -> None:
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    out = tmp_path / "out"
    r = cli("report", src, "--from-causes", "--out", out, "--roles", "all",
            "--algorithm", "hdbscan", "--min-cluster-size", "5")
    assert r.code == 0, r.err
    s = _summary(out)
    assert s["parameters"]["algorithm"] == "hdbscan" and "eps" not in s["parameters"]
    words = " ".join(" ".join(c["keywords"]) for c in s["clusters"])
    assert "merge" in words and "ci" in words.split()


# ----------------------------------------------------------------------------- scraped records

def _records() -> list[dict]:
    """Records in the scrape shape: two frustration themes, neutral chatter, a bot, an outsider."""
    base = {"source": "github", "project": "acme/widgets", "is_pull_request": True,
            "kind": "issue_comment", "updated_at": None}
    recs = []
    frustrating = [f"Ugh, the merge conflicts again in module {m}, please rebase." for m in "abcdefghij"] + \
                  [f"Annoying: the CI build failed again on runner {k}." for k in range(9)]
    neutral = [f"Looks good to me, merging patch {i}." for i in range(8)]
    for i, text in enumerate(frustrating + neutral):
        recs.append({**base, "id": f"c{i}", "thread": f"acme/widgets#{i % 7}",
                     "author": f"user{i % 5}", "author_association": ["CONTRIBUTOR", "MEMBER",
                                                                      "COLLABORATOR"][i % 3],
                     "is_bot": False, "created_at": f"2023-0{1 + i % 4}-15T10:00:00Z",
                     "url": f"https://github.com/acme/widgets/issues/{i % 7}#issuecomment-{900 + i}",
                     "body": text, "text": text})
    recs.append({**base, "id": "bot", "thread": "acme/widgets#1", "author": "ci-bot[bot]",
                 "author_association": "NONE", "is_bot": True, "created_at": "2023-02-01T00:00:00Z",
                 "url": "https://github.com/acme/widgets/issues/1#issuecomment-1",
                 "body": "Ugh, the CI build failed again.", "text": "Ugh, the CI build failed again."})
    recs.append({**base, "id": "outsider", "thread": "acme/widgets#2", "author": "drive-by",
                 "author_association": "NONE", "is_bot": False,
                 "created_at": "2023-02-02T00:00:00Z",
                 "url": "https://github.com/acme/widgets/issues/2#issuecomment-2",
                 "body": "Ugh, the merge conflicts again.", "text": "Ugh, the merge conflicts again."})
    return recs


def _frustration_responder(prompt: str, body: dict) -> str:
    """frustration-detect: Yes for "Ugh"/"Annoying" comments; frustration-cause: the quoted clause."""
    text = utterance(prompt)
    if "Answer with Yes or No" in prompt:
        return "Yes" if re.search(r"\b(ugh|annoying)\b", text, re.I) else "No"
    clause = re.split(r"[:,] ", text, maxsplit=1)[-1]
    return f'"{clause.split(", please")[0].rstrip(".")}"'


def test_records_path_through_an_openai_server(tmp_path: Path, cli) -> None:
    src = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(src, orient="records", lines=True)
    out = tmp_path / "out"
    with FakeOpenAI(responder=_frustration_responder) as fake:
        args = ("report", src, "--out", out, "--backend", "openai", "--model", "test-model",
                "--base-url", fake.url, "--min-cluster-size", "5")
        r = cli(*args)
        assert r.code == 0, r.err
        sent = fake.count
        # 27 people's comments in the roles are asked (bot and NONE author filtered out first),
        # then the 19 frustrated ones are asked for their cause.
        assert sent == 27 + 19
        for req in fake.requests:
            assert req["body"]["model"] == "test-model"
        # A second run is answered from the shared cache: nothing is sent.
        r2 = cli(*args[:3], tmp_path / "out2", *args[4:])
        assert r2.code == 0, r2.err
        assert fake.count == sent
    for name in OUTPUTS + ("annotations.csv",):
        assert (out / name).is_file(), name
    s = _summary(out)
    assert s["n_causes"] == 19 and s["title"] == "acme/widgets"
    assert s["counts"]["comments"] == 27 and s["counts"]["emotion_comments"] == 19
    assert s["counts"]["bots"] == 1 and s["counts"]["other_roles"] == 1
    words = [" ".join(c["keywords"]) for c in s["clusters"]]
    assert any("merge conflicts" in w for w in words) and any("ci build" in w for w in words)
    assert sum(c["size"] for c in s["clusters"]) + s["n_unclustered"] == 19
    ann = pd.read_csv(out / "annotations.csv", keep_default_na=False)
    assert len(ann) == 27 and ann["shows_emotion"].sum() == 19
    assert set(ann.loc[ann["shows_emotion"], "emotion_label"]) == {"Frustration"}
    assert ann.loc[~ann["shows_emotion"], "cause"].eq("").all()
    urls = [e["url"] for c in s["clusters"] for e in c["examples"]]
    assert all(u.startswith("https://github.com/acme/widgets/issues/") for u in urls)
    assert sum(s["comments_per_month"].values()) == 27 and sum(s["months"].values()) == 19
    m = json.loads((out / "manifest.json").read_text())
    assert m["backend"]["backend"] == "openai" and m["prompts"]["detect"]["name"] == "frustration-detect"
    assert m["runs"]["detect"]["sent"] == 27 and m["runs"]["causes"]["sent"] == 19
    assert "annotations.csv" in m["outputs"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "comments analysed" in page and "frustration-detect" in page


# ----------------------------------------------------------------------------- bad and tiny input

def test_empty_and_tiny_inputs_fail_with_one_line(tmp_path: Path, cli) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("Comment,Emotion Causes,Date,UserType\n")
    r = cli("report", empty, "--from-causes", "--out", tmp_path / "o1")
    assert r.code == 2 and "no rows" in r.err and len(r.err.strip().splitlines()) == 1

    zero = tmp_path / "zero.csv"
    zero.write_text("")
    r = cli("report", zero, "--from-causes", "--out", tmp_path / "o1")
    assert r.code == 2 and "empty" in r.err

    tiny = _write_causes(tmp_path / "tiny.csv", _causes_rows("x")[:3])
    r = cli("report", tiny, "--from-causes", "--out", tmp_path / "o2")
    assert r.code == 2 and "only 3 causes" in r.err and len(r.err.strip().splitlines()) == 1

    blank = _write_causes(tmp_path / "blank.csv", [{"Comment": "hi", "Emotion Causes": "",
                                                    "UserType": "MEMBER"}] * 5)
    r = cli("report", blank, "--from-causes", "--out", tmp_path / "o3")
    assert r.code == 2 and "no causes" in r.err and "5 without a cause" in r.err

    src = _write_causes(tmp_path / "causes.csv", _causes_rows("x"))
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o4", "--roles", "OWNER")
    assert r.code == 2 and "no rows left" in r.err and "roles other than OWNER" in r.err
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o5", "--cause-col", "Why")
    assert r.code == 2 and "'Why'" in r.err and "Emotion Causes" in r.err
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o6", "--since", "last tuesday")
    assert r.code == 2 and "not a date" in r.err
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o7", "--algorithm", "kmeans")
    assert r.code == 2 and "dbscan" in r.err
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o8", "--eps", "3")
    assert r.code == 2 and "--eps" in r.err
    r = cli("report", tmp_path / "missing.csv", "--from-causes", "--out", tmp_path / "o9")
    assert r.code == 2 and "not found" in r.err
    nocause = _write_causes(tmp_path / "nocause.csv", [{"text": "a", "role": "MEMBER"}])
    r = cli("report", nocause, "--from-causes", "--out", tmp_path / "o10")
    assert r.code == 2 and "cause" in r.err and "columns are: text, role" in r.err
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 11))


def test_records_path_for_another_emotion(tmp_path: Path, cli) -> None:
    """--emotion Anger: the all-levels label prompt picks the comments, the generic cause prompt
    extracts; a secondary label (Annoyance) counts for its basic emotion."""
    def responder(prompt: str, body: dict) -> str:
        if "Emotions: Anger, Irritation" in prompt:          # the all-levels label prompt
            return "Annoyance" if re.search(r"\b(ugh|annoying)\b", utterance(prompt), re.I) else "Neutral"
        assert "causes the emotion Anger" in prompt
        return _frustration_responder(prompt, body)

    src = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(src, orient="records", lines=True)
    out = tmp_path / "out"
    with FakeOpenAI(responder=responder) as fake:
        r = cli("report", src, "--out", out, "--emotion", "Anger", "--backend", "openai",
                "--model", "m", "--base-url", fake.url, "--min-cluster-size", "5")
    assert r.code == 0, r.err
    s = _summary(out)
    assert s["emotion"] == "Anger" and s["n_causes"] == 19 and len(s["clusters"]) == 2
    m = json.loads((out / "manifest.json").read_text())
    assert m["prompts"]["detect"]["name"] == "all-levels" and m["prompts"]["cause"]["name"] == "cause"
    assert (out / "report.md").read_text().startswith("# What causes anger in acme/widgets")


def test_no_theme_is_a_report_not_an_error(tmp_path: Path, cli) -> None:
    causes = ["The docs are outdated.", "My laptop ran out of memory.", "Nobody answered for a month.",
              "The API changed without notice.", "Builds take two hours.", "The release slipped.",
              "Bazel cache is stale.", "Windows support is missing.", "GPU driver crashed."]
    src = _write_causes(tmp_path / "c.csv", [{"Comment": c, "Emotion Causes": c, "UserType": ""}
                                             for c in causes])
    r = cli("report", src, "--from-causes", "--out", tmp_path / "out")
    assert r.code == 0, r.err
    s = _summary(tmp_path / "out")
    assert s["clusters"] == [] and s["n_unclustered"] == s["n_causes"] == 9
    assert s["parameters"]["roles"] is None  # no role values: the default role filter is not applied
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "No theme has 8 or more causes" in page and "The comments have no dates" in page


def test_records_with_no_frustration_say_so(tmp_path: Path, cli) -> None:
    src = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(src, orient="records", lines=True)
    with FakeOpenAI(responder=lambda prompt, body: "No") as fake:
        r = cli("report", src, "--out", tmp_path / "out", "--backend", "openai", "--model", "m",
                "--base-url", fake.url)
    assert r.code == 2 and "no causes to cluster" in r.err and len(r.err.strip().splitlines()) == 1
    assert "0 showing frustration" in r.err
    # A server that fails every request: the message says so and that a rerun retries.
    with FakeOpenAI(responder=lambda prompt, body: "Yes") as fake:
        fake.inject(500, times=1000)
        r = cli("report", src, "--out", tmp_path / "out", "--backend", "openai", "--model", "m",
                "--base-url", fake.url, "--retries", "0", "--no-cache")
    assert r.code == 2 and "requests failed (rerun to retry them)" in r.err


# ----------------------------------------------------------------------------- the parts

def _blobs(n_per: int, centres: int, noise: int, seed: int = 0, spread: float = 0.12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, 64)).astype(np.float32)
    pts = [c[i] + spread * rng.standard_normal((n_per * (i + 1), 64)).astype(np.float32) * 3
           for i in range(centres)]
    pts.append(rng.standard_normal((noise, 64)).astype(np.float32))
    X = np.concatenate(pts)
    X = X[rng.permutation(len(X))]
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _paper_dbscan(X: np.ndarray, eps: float, min_samples: int, weight=None):
    from sklearn.cluster import DBSCAN
    from sklearn.metrics.pairwise import cosine_distances

    model = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed")
    model.fit(cosine_distances(X), sample_weight=weight)
    core = np.zeros(len(X), dtype=bool)
    core[model.core_sample_indices_] = True
    return model.labels_, core


@pytest.mark.parametrize("memory_mb,max_pairs", [(256, 4_000_000), (0.001, 7)])
def test_blocked_dbscan_equals_the_papers_dbscan(memory_mb, max_pairs, monkeypatch) -> None:
    """Same core points, same noise, same partition of the core points; borders go to a neighbour."""
    from sklearn.metrics import adjusted_rand_score

    monkeypatch.setattr(clustering, "_MAX_PAIRS", max_pairs)
    X = _blobs(n_per=15, centres=5, noise=150)
    X = np.concatenate([X, np.repeat(X[:3], 4, axis=0)])  # exact duplicates
    for eps, ms in ((0.3, 4), (0.15, 3), (0.5, 10)):
        labels, core = clustering.dbscan_cosine(X, eps, ms, memory_mb=memory_mb)
        ref, ref_core = _paper_dbscan(X, eps, ms)
        assert (core == ref_core).all()
        assert ((labels == -1) == (ref == -1)).all()
        assert adjusted_rand_score(ref[core], labels[core]) == 1.0
        sim = X @ X.T
        for i in np.flatnonzero((labels >= 0) & ~core):  # a border joins a core neighbour's cluster
            near = np.flatnonzero(core & (sim[i] >= 1 - eps - 1e-6))
            assert labels[i] in set(labels[near])
        sizes = np.bincount(labels[labels >= 0])
        assert (np.diff(sizes) <= 0).all()  # numbered largest first


def test_blocked_dbscan_weights_and_edge_cases() -> None:
    X = _blobs(n_per=6, centres=3, noise=40, seed=3)
    w = np.random.default_rng(1).integers(1, 4, len(X)).astype(float)
    labels, core = clustering.dbscan_cosine(X, 0.3, 5, sample_weight=w)
    ref, ref_core = _paper_dbscan(X, 0.3, 5, weight=w)
    assert (core == ref_core).all() and ((labels == -1) == (ref == -1)).all()
    empty, ecore = clustering.dbscan_cosine(np.zeros((0, 8), np.float32))
    assert empty.shape == (0,) and ecore.shape == (0,)
    same = np.tile(X[:1], (5, 1))
    lab, c = clustering.dbscan_cosine(same, 0.3, 4)
    assert (lab == 0).all() and c.all()
    with pytest.raises(Exception, match="eps"):
        clustering.dbscan_cosine(X, 2.5, 4)
    assert clustering.reported(np.array([0, 0, 0, 1, 1, -1, 2]), 2).tolist() == [1, 1, 1, 2, 2, -1, -1]


def test_hdbscan_finds_the_blobs() -> None:
    X = _blobs(n_per=10, centres=3, noise=30, seed=5, spread=0.05)
    result = clustering.cluster(X, "hdbscan", min_cluster_size=8, min_samples=4, description=None)
    assert result.n_clusters >= 3 and result.core is None
    assert (np.diff(result.sizes()) <= 0).all()


def test_ctfidf_keywords_and_labels() -> None:
    texts = ["please fix the merge conflicts", "merge conflicts again", "resolve merge conflicts",
             "CI failed on the build", "the CI build failed", "CI build is red",
             "see https://example.com/merge for @bob", "deadbeefcafe1234 random words"]
    classes = np.array([0, 0, 0, 1, 1, 1, -1, -1])
    kw = themes.ctfidf_keywords(texts, classes, top_n=4)
    assert kw[0][0][0] == "merge conflicts"
    assert "ci build" in [t for t, _ in kw[1]] or "ci" in kw[1][0][0]
    assert not any("example" in t or "bob" in t for ts in kw.values() for t, _ in ts)
    assert themes.label_from_keywords(["merge conflicts", "merge", "rebase"]) == "Merge conflicts · rebase"
    X = np.eye(3, dtype=np.float32)[[0, 0, 0, 1]]
    ex, sims, _ = themes.centre_examples(X, np.arange(4), ["a", "A", "b", "c"], k=3)
    assert ex == [0, 2, 3] and sims[0] == sims[1] > sims[2]  # "A" repeats "a": skipped


def test_small_helpers() -> None:
    assert strip_quotes('"Your problem is not related."') == "Your problem is not related."
    assert strip_quotes("\u201cCurly\u201d") == "Curly"
    assert strip_quotes('He said "no" twice') == 'He said "no" twice'
    assert safe_url("javascript:alert(1)") is None and safe_url("https://x.org/a?b=1") == "https://x.org/a?b=1"
    assert safe_url('https://x.org/"onmouseover=1') is None
    assert github_link("o/r", "12", "34.0") == "https://github.com/o/r/issues/12#issuecomment-34"
    assert github_link(None, "12", "34") is None and github_link("o/r", "x", "1") is None
    assert parse_when("2023-03", "--until", end=True) == pd.Timestamp("2023-03-31 23:59:59.999999", tz="UTC")
    assert parse_when("2023-03-05", "--until", end=True).day == 5
    assert parse_when("2023-03-05T10:00:00+02:00", "--since") == pd.Timestamp("2023-03-05 08:00", tz="UTC")
