"""Backends that answer from a request's fields, without reading the prompt.

The offline backends (``embedding``, ``trained``, ``finetuned``) cannot read a
prompt.  They read the structured fields of a :class:`Request` (``text``,
``task``, ``labels``, ``emotion``) and answer in the same textual form an LLM
would (a label word, ``Yes``/``No``, a quoted span), so parsing downstream is
the same for every backend.

* :class:`StructuredBackend` runs requests task by task in chunks and reports
  each chunk's answers as it finishes.
* :class:`ScoringBackend` is the part shared by the backends that score each
  basic emotion on its own (one classifier or one sigmoid per emotion): an
  emotion *fires* when its score clears its threshold; the label answer is the
  most confident firing emotion the prompt's list allows, else ``Neutral``;
  every firing emotion and every score are added as the ``emotions`` and
  ``emotion_scores`` output columns; yes/no asks whether the asked emotion's
  basic emotion fires; a cause is the candidate clause that scores highest for
  the emotion.
* :func:`target_emotion` finds which emotion a yes/no or span request asks about.
"""

from __future__ import annotations

import json
import time
from abc import abstractmethod
from collections.abc import Sequence
import numpy as np

from emocause.backends.base import Backend, OnResult, Request, Response
from emocause.emotions.candidates import fallback_span, span_candidates
from emocause.emotions.taxonomy import NEUTRAL, TO_BASIC, VARIANTS, normalize, to_basic
from emocause.errors import UsageError

#: Requests answered (and reported) per chunk, so progress moves on long inputs.
CHUNK = 256

#: One-word emotion names and adjective forms that can name a yes/no prompt's target emotion.
_AMBIGUOUS = {"content", "no", "yes", "none", "nothing", "concern", "concerned", "thanks",
              "tense", "hurt", "caring", "n/a", "neutral", "desire", "passion", "insult"}
_EMOTION_WORDS: dict[str, str] = {
    **{normalize(k): k for k in TO_BASIC if " " not in k},
    **{k: v for k, v in VARIANTS.items() if " " not in k and v in TO_BASIC},
}
for _word in _AMBIGUOUS:
    _EMOTION_WORDS.pop(_word, None)


def target_emotion(req: Request) -> str | None:
    """The emotion a yes/no request asks about: ``Request.emotion``, else the first one its prompt names.

    The comment is removed from the prompt first, so an emotion word in the
    comment is never mistaken for the question's.
    """
    if req.emotion:
        return req.emotion
    question = req.prompt.replace(req.text, " ") if req.text else req.prompt
    for word in normalize(question).split():
        if word in _EMOTION_WORDS:
            return _EMOTION_WORDS[word]
    return None


class StructuredBackend(Backend):
    """A backend that answers from ``Request``'s fields, task by task, without a prompt.

    Subclasses implement ``answer_labels``, ``answer_yesno`` and
    ``answer_spans`` (each: requests -> answer texts); :meth:`generate` runs
    them over chunks of :data:`CHUNK` requests and reports every answer as its
    chunk finishes, so progress moves and an interruption loses one chunk.
    """

    cacheable = False
    uses_prompt = False

    @abstractmethod
    def answer_labels(self, reqs: Sequence[Request]) -> list[str]:
        """One label name per request (from the request's label list)."""

    @abstractmethod
    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        """``Yes`` or ``No`` per request: does the comment express the asked emotion?"""

    @abstractmethod
    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        """One quoted cause span per request, taken from the request's text."""

    def label_responses(self, reqs: Sequence[Request]) -> list[Response]:
        """Label answers as responses; a backend with more to say (extra columns) overrides this."""
        return [Response(text) for text in self.answer_labels(reqs)]

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        handlers = {"label": self.label_responses,
                    "yesno": lambda rs: [Response(t) for t in self.answer_yesno(rs)],
                    "span": lambda rs: [Response(t) for t in self.answer_spans(rs)]}
        for start in range(0, len(requests), CHUNK):
            t0 = time.perf_counter()
            chunk = list(requests[start:start + CHUNK])
            by_task: dict[str, list[int]] = {}
            for i, r in enumerate(chunk):
                by_task.setdefault(r.task, []).append(i)
            answers: dict[int, Response] = {}
            for task, rows in by_task.items():
                if task not in handlers:
                    raise UsageError(f"the {self.name} backend cannot answer {task!r} prompts")
                answers.update(zip(rows, handlers[task]([chunk[i] for i in rows])))
            per_item = (time.perf_counter() - t0) / max(1, len(chunk))
            for i in range(len(chunk)):
                answers[i].seconds = per_item
                on_result(start + i, answers[i])


class ScoringBackend(StructuredBackend):
    """One score per basic emotion and comment; an emotion fires when its score clears its threshold.

    Subclasses provide :attr:`emotions` (the scored emotions, in column
    order), :attr:`thresholds` (one per emotion, in score units) and
    :meth:`scores`; :meth:`probabilities` turns scores into the numbers
    written to ``emotion_scores`` (a sigmoid by default).
    """

    @property
    @abstractmethod
    def emotions(self) -> tuple[str, ...]:
        """The basic emotions scored, in the order of :meth:`scores`' columns."""

    @property
    @abstractmethod
    def thresholds(self) -> np.ndarray:
        """Per emotion, the score above which it fires."""

    @abstractmethod
    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(n x k) scores, columns in :attr:`emotions` order."""

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """What ``emotion_scores`` reports for ``scores``."""
        return 1.0 / (1.0 + np.exp(-scores))

    def column(self, emotion: str | None) -> int:
        """The score column of ``emotion``'s basic emotion; one clear error when there is none."""
        basic = to_basic(emotion) if emotion else None
        if basic is None or basic not in self.emotions:
            raise UsageError(f"model {self.model} has no classifier for {emotion!r}; it knows "
                             f"{', '.join(self.emotions)}")
        return self.emotions.index(basic)

    def label_responses(self, reqs: Sequence[Request]) -> list[Response]:
        """The most confident firing emotion the label list allows (largest margin over its
        threshold), else Neutral; every firing allowed emotion and all scores as extra columns."""
        emotions = self.emotions
        s = self.scores([r.text for r in reqs]) if reqs else np.zeros((0, len(emotions)))
        margins = s - self.thresholds
        probs = self.probabilities(s)
        out: list[Response] = []
        for r, row, prob in zip(reqs, margins, probs):
            listed = [str(x) for x in r.labels]
            by_basic: dict[str, str] = {}
            for label in listed:
                b = to_basic(label)
                if b in emotions and (b not in by_basic or label == b):
                    by_basic[b] = label
            if not listed:
                by_basic = {e: e for e in emotions}
            best, best_margin = NEUTRAL, 0.0
            firing: list[str] = []
            for j, e in enumerate(emotions):
                if e in by_basic and row[j] > 0:
                    firing.append(e)
                    if row[j] > best_margin:
                        best, best_margin = by_basic[e], float(row[j])
            extra = {"emotions": ";".join(firing) or NEUTRAL,
                     "emotion_scores": json.dumps({e: round(float(p), 4)
                                                   for e, p in zip(emotions, prob)})}
            out.append(Response(best, extra=extra))
        return out

    def answer_labels(self, reqs: Sequence[Request]) -> list[str]:
        return [str(r.text) for r in self.label_responses(reqs)]

    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        cols = [self.column(target_emotion(r)) for r in reqs]
        if not reqs:
            return []
        margins = self.scores([r.text for r in reqs]) - self.thresholds
        return ["Yes" if margins[i, c] > 0 else "No" for i, c in enumerate(cols)]

    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        """The candidate clause whose score for the asked emotion is highest, in double quotes."""
        cols = [self.column(target_emotion(r)) for r in reqs]
        ranges = [span_candidates(r.text) for r in reqs]
        pieces = [r.text[a:b] for r, rs in zip(reqs, ranges) for a, b in rs]
        s = self.scores(pieces) if pieces else np.zeros((0, len(self.emotions)))
        out: list[str] = []
        at = 0
        for r, rs, c in zip(reqs, ranges, cols):
            if not rs:
                out.append(fallback_span(r.text))
                continue
            k = int(np.argmax(s[at:at + len(rs), c]))
            a, b = rs[k]
            out.append(f'"{r.text[a:b]}"')
            at += len(rs)
        return out


__all__ = ["CHUNK", "ScoringBackend", "StructuredBackend", "target_emotion"]
