"""Parsing an answer reads a bounded prefix of it: a 20 MB answer costs what a 4 KiB one does.

A runaway answer can reach the parser from an old cache entry, a predictions file or a backend
without the openai body cap.  The work is measured by what the parser touches (the longest
string normalized or searched), not by a timer.
"""

from __future__ import annotations

import pytest

from emocause.annotate.prompts import load
from emocause.emotions import answers

HUGE = 20_000_000


@pytest.fixture
def touched(monkeypatch):
    """The length of every string the parser normalizes or searches for a quoted span."""
    seen: list[int] = []
    normalize, quoted = answers.normalize, answers._QUOTED

    class Spy:
        def search(self, text):
            seen.append(len(text))
            return quoted.search(text)

    monkeypatch.setattr(answers, "normalize", lambda text: seen.append(len(text)) or normalize(text))
    monkeypatch.setattr(answers, "_QUOTED", Spy())
    return seen


@pytest.mark.parametrize("answer,label", [
    ("Joy\n" + "x" * HUGE, "Joy"),
    ("joy " * (HUGE // 4), None),  # the same word over and over: the first line names one label
    ("x" * HUGE, "Unparsed"),
    ('"' + "a b " * (HUGE // 4), "Unparsed"),
    (" " * HUGE + "Anger", "Anger"),  # leading blanks do not count against the prefix
])
def test_label_parsing_reads_a_bounded_prefix(touched, answer, label):
    labels = load("all-levels").labels
    got = answers.parse_answer(answer, labels)
    assert max(touched) <= answers.MAX_LABEL_CHARS
    assert got == answers.parse_answer(answer.lstrip()[:answers.MAX_LABEL_CHARS], labels)
    if label:
        assert got.basic == label


def test_span_parsing_reads_a_bounded_prefix(touched):
    answer = 'The cause is "the build broke" ' + "and more " * (HUGE // 9)
    assert answers.parse_span(answer) == "the build broke"
    unbalanced = '"' + "word " * (HUGE // 5)
    assert len(answers.parse_span(unbalanced)) < answers.MAX_SPAN_CHARS
    assert max(touched) <= answers.MAX_SPAN_CHARS
