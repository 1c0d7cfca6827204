"""The sources' library functions (emocause.sources.api) and their documented examples."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest

from emocause.errors import UsageError
from emocause.sources import api
from tests.docs import run_blocks, section_blocks


def test_the_documented_examples_run(tmp_path, monkeypatch, capsys):
    """The runnable `python` block of the sources' section in docs/python-api.md."""
    import emocause

    for name in ("scrape_github", "scrape_mbox", "scrape_pipermail", "scrape_hyperkitty"):
        if not hasattr(emocause, name):  # the lazy public API lives in emocause/__init__.py
            monkeypatch.setattr(emocause, name, getattr(api, name), raising=False)
    blocks = section_blocks("Scraping: scrape_github")
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    run_blocks(blocks)
    out = capsys.readouterr().out
    assert "mail:1@example.org" in out and "2 0 1 2" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dev-list.csv", "dev-list.csv.manifest.json", "dev-list.csv.state.sqlite", "dev-list.mbox"]


def test_dates_may_be_date_objects(perceval_dir):
    path = perceval_dir / "pipermail" / "pipermail_2016_april.mbox"
    as_text = api.scrape_mbox(path, since="2016-04-20", until="2016-04-30")
    as_dates = api.scrape_mbox(path, since=date(2016, 4, 20),
                               until=datetime(2016, 4, 30, 23, 59, 59, tzinfo=timezone.utc))
    assert as_text.frame["id"].tolist() == as_dates.frame["id"].tolist() and len(as_text.frame) == 2
    assert as_text.manifest["window"] == as_dates.manifest["window"]


@pytest.mark.parametrize("call, message", [
    (lambda: api.scrape_mbox([]), "at least one mbox"),
    (lambda: api.scrape_github("a/b", include=["issues", "wiki"]), "unknown wiki"),
    (lambda: api.scrape_github("a/b", per_page=500), "--per-page 500"),
    (lambda: api.scrape_github("a/b", timeout=0), "--timeout"),
    (lambda: api.scrape_pipermail("file:///etc/"), "expected an http(s) URL"),
    (lambda: api.scrape_hyperkitty("https://h/x/", since="2020"), "HyperKitty list URL"),
])
def test_bad_arguments_raise_one_usage_error(call, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        call()
