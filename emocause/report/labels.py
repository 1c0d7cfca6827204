"""Naming themes: a phrase a maintainer would say, never a bag of stemmed keywords.

Offline (:func:`phrase_labels`), in the spirit of KeyBERT: the candidates are
the n-grams of a theme's causes *as written* (stop words kept inside a phrase,
so "able to reproduce the issue", not "able reproduce issue"), the most
distinctive ones by class-based TF-IDF; each is embedded with the model that
embedded the causes and scored by its cosine similarity to the theme's centre,
with a small bonus for phrases that many of the theme's causes share and for
two- and three-word phrases.  A one-word winner is replaced by a longer phrase
containing it when that phrase is nearly as close and common.  The label keeps
the spelling most causes use ("CI", "CUDA").

With a language model (:func:`model_labels`), the model names each theme from
its most central causes, through the same backend, runner and response cache
as ``classify`` (the prompt is the bundled ``theme-label`` template); an empty
or failed answer falls back to the offline label.

Labels are unique within a report: a theme whose best label is taken uses its
next candidate, then its central cause shortened.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from emocause.report.themes import EXTRA_STOP_WORDS, clean, ctfidf, label_from_keywords

Encoder = Callable[[list[str]], np.ndarray]

#: Longest label kept (characters); longer answers or phrases are cut at a word boundary.
MAX_LABEL = 60
#: Central causes shown to a language model per theme.
MODEL_CAUSES = 8
_CANDIDATES = 30
#: Key phrases shown beside a label are at least this similar to the theme's centre.
PHRASE_SIMILARITY = 0.4
#: A word in more than this share of all causes is too common to name a theme on its own.
GENERIC_SHARE = 0.04
#: Words a phrase may start with although they are stop words (they carry its meaning).
_LEADING_OK = frozenset({"not", "never", "cannot"})
_PHRASE_TOKEN = r"(?u)\b[a-zA-Z][a-zA-Z0-9_+#.-]*[a-zA-Z0-9+#]\b|\b[a-zA-Z]\b"


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS | EXTRA_STOP_WORDS)


def _readable(term: str, stop: frozenset[str]) -> bool:
    """A phrase that starts and ends with a content word and is not a number."""
    words = term.split()
    if any(w.replace(".", "").replace("-", "").isdigit() for w in words):
        return False
    first_ok = words[0] not in stop or words[0] in _LEADING_OK
    return first_ok and words[-1] not in stop and len(term) > 2


def shorten(text: str, words: int = 8) -> str:
    """The first clause of ``text``, at most ``words`` words (links and mentions removed)."""
    plain = " ".join(clean(text).split())
    clause = re.split(r"(?<=[.;:!?])\s|,\s", plain, maxsplit=1)[0].rstrip(".;:!?, ")
    parts = clause.split()
    out = " ".join(parts[:words]) + (" …" if len(parts) > words else "")
    return _fit(_capitalise(out))


def _capitalise(text: str) -> str:
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text


def _fit(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_LABEL:
        return text
    return text[:MAX_LABEL - 1].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _surface(phrase: str, texts: Sequence[str]) -> str | None:
    """The spelling of ``phrase`` most causes use (``ci build`` -> ``CI build``); ``None`` when
    no cause has it as written, or it mostly runs across a clause (``no, this PR``)."""
    words = phrase.split()
    pattern = re.compile(r"(?<![\w])" + r"[\s/'-]{1,3}".join(map(re.escape, words)) + r"(?![\w])",
                         re.I)
    found = Counter(m.group(0) for t in texts for m in pattern.finditer(t))
    if not found:  # the words only meet once a link or a number is taken out
        return None
    form = found.most_common(1)[0][0]
    if re.search(r"[,;:!?()\[\]\n]", form) or len(form) > len(phrase) + 4:
        return None
    return _fit(_capitalise(" ".join(form.split())))


def _ranked(terms: list[str], sims: np.ndarray, coverage: np.ndarray,
            generic: np.ndarray) -> list[tuple[str, float]]:
    """Candidates best first: similarity to the centre, plus small bonuses for length and reach.

    A word common to the whole corpus (``generic``: "issue", the project's name)
    never names a theme alone, and a one-word winner gives way to a phrase
    containing it that is nearly as close ("Closing" -> "Closing as duplicate").
    """
    n_words = np.array([len(t.split()) for t in terms])
    score = sims + 0.05 * np.minimum(n_words - 1, 2) + 0.25 * np.sqrt(coverage)
    order = [int(i) for i in np.argsort(-score, kind="stable")
             if not (n_words[i] == 1 and generic[i])]
    if order and n_words[order[0]] == 1:
        best = order[0]
        longer = [i for i in order if n_words[i] > 1 and terms[best] in terms[i].split()
                  and sims[i] >= sims[best] - 0.1 and coverage[i] >= 0.1]
        if longer:
            order.remove(longer[0])
            order.insert(0, longer[0])
    return [(terms[i], float(sims[i])) for i in order]


def candidates(texts: Sequence[str], classes: np.ndarray, X: np.ndarray, encode: Encoder,
               n: int = _CANDIDATES) -> dict[int, list[tuple[str, float]]]:
    """Readable label candidates for every class ``>= 0``, best first (surface spelling), with
    their cosine similarity to the class's centre."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = np.asarray(classes)
    wanted = sorted(int(c) for c in np.unique(classes) if c >= 0)
    vectorizer = CountVectorizer(token_pattern=_PHRASE_TOKEN, ngram_range=(1, 4), lowercase=True)
    table = ctfidf(texts, classes, vectorizer) if wanted else None
    if table is None:
        return {c: [] for c in wanted}
    terms, all_classes, scores, present, sizes = table
    everywhere = present.sum(axis=0) / max(int(sizes.sum()), 1)
    stop = _stop_words()
    readable = np.fromiter((_readable(t, stop) for t in terms), dtype=bool, count=len(terms))
    picked: dict[int, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for row, c in enumerate(all_classes):
        if c < 0:
            continue
        size = int(sizes[row])
        need = min(size, max(2, math.ceil(0.05 * size)))
        s = np.where(readable & (present[row] >= need), scores[row], 0.0)
        top = [j for j in np.argsort(-s, kind="stable")[:n] if s[j] > 0]
        picked[int(c)] = ([str(terms[j]) for j in top], present[row][top] / max(size, 1),
                          everywhere[top] > GENERIC_SHARE)
    phrases = sorted({t for ts, _, _ in picked.values() for t in ts})
    vectors = dict(zip(phrases, encode(phrases))) if phrases else {}
    out: dict[int, list[tuple[str, float]]] = {}
    for c in wanted:
        terms_c, coverage, generic = picked.get(c, ([], np.zeros(0), np.zeros(0, dtype=bool)))
        if not terms_c:
            out[c] = []
            continue
        members = np.flatnonzero(classes == c)
        centre = X[members].mean(axis=0)
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
        sims = np.array([float(vectors[t] @ centre) for t in terms_c])
        member_texts = [texts[i] for i in members]
        shown = ((_surface(t, member_texts), sim)
                 for t, sim in _ranked(terms_c, sims, coverage, generic))
        out[c] = [(t, sim) for t, sim in shown if t]
    return out


def _key(label: str) -> str:
    words = [w[:-1] if len(w) > 3 and w.endswith("s") else w
             for w in re.findall(r"\w+", label.lower())]
    return " ".join(words)


def unique_labels(order: Sequence[int], options: Mapping[int, Sequence[str]],
                  taken: Sequence[str] = ()) -> dict[int, str]:
    """One label per class, in ``order`` (largest first): each its first option not yet taken.

    Two labels that differ only by case, punctuation or a plural are the same
    label, and ``taken`` labels are never reused.  A class with every option
    taken is numbered (``Build failed (2)``).
    """
    used: set[str] = {_key(t) for t in taken}
    out: dict[int, str] = {}
    for c in order:
        opts = [o for o in options.get(c, ()) if o and o.strip()] or ["(unnamed)"]
        label = next((o for o in opts if _key(o) not in used), None)
        if label is None:
            k = 2
            while _key(f"{opts[0]} {k}") in used:
                k += 1
            label = f"{opts[0]} ({k})"
        used.add(_key(label))
        out[c] = label
    return out


def phrase_labels(texts: Sequence[str], classes: np.ndarray, X: np.ndarray, encode: Encoder,
                  central: Mapping[int, Sequence[int]],
                  keywords: Mapping[int, Sequence[str]] | None = None,
                  taken: Sequence[str] = (), n_phrases: int = 6,
                  ) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Offline labels for every class ``>= 1``, deduplicated (largest first), and each class's
    next best ``n_phrases`` key phrases (shown beside the label).

    ``central`` lists each class's causes closest to its centre (row numbers):
    the first one, shortened, is the fallback when no phrase is free.
    ``taken`` are labels already used elsewhere in the report (sub-themes avoid
    their theme's label).
    """
    classes = np.asarray(classes)
    found = candidates(texts, classes, X, encode)
    sizes = Counter(int(c) for c in classes if c >= 1)
    order = sorted(sizes, key=lambda c: (-sizes[c], c))
    options: dict[int, list[str]] = {}
    for c in order:
        fallback = [shorten(texts[i]) for i in central.get(c, ())[:1] if clean(texts[i]).strip()]
        if not fallback:
            fallback = [label_from_keywords(list((keywords or {}).get(c, ())))]
        options[c] = [t for t, _ in found.get(c, [])[:8]] + fallback
    labels = unique_labels(order, options, taken)
    phrases = {c: _distinct(labels[c], [p for p, sim in found.get(c, [])
                                        if sim >= PHRASE_SIMILARITY])[:n_phrases]
               for c in order}
    return labels, phrases


def _root(word: str) -> str:
    """A crude word root, only to tell "failing", "failed" and "failures" are one idea."""
    for suffix in ("ures", "ure", "ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[:-len(suffix)]
            break
    return word[:6]


def _distinct(label: str, phrases: Sequence[str]) -> list[str]:
    """``phrases`` without those that repeat the label or an earlier phrase (by word roots)."""
    kept: list[set[str]] = [{_root(w) for w in re.findall(r"\w+", label.lower())}]
    out = []
    for p in phrases:
        roots = {_root(w) for w in re.findall(r"\w+", p.lower())}
        if any(roots <= k or k <= roots for k in kept):
            continue
        kept.append(roots)
        out.append(p)
    return out


def clean_answer(raw: str | None) -> str:
    """A model's theme name: the quoted part (as for cause spans), one line, no trailing dot."""
    from emocause.emotions.answers import parse_span

    text = " ".join(parse_span(raw).split()).strip(" .:;\"'`*#")
    text = re.sub(r"^(theme|name|label)\s*:\s*", "", text, flags=re.I)
    return _fit(text) if re.search(r"\w", text) else ""


def model_labels(groups: Mapping[int, Sequence[str]], emotion: str, backend: Any,
                 cache: Any, platform: str = "github",
                 template: str = "theme-label") -> tuple[dict[int, str], Any, Any]:
    """A label written by ``backend`` for every group of central causes; ``""`` where none came.

    Returns (labels, the run's :class:`~emocause.annotate.runner.RunStats`, the template),
    so the manifest can record the prompt's name and hash and the request counts.
    """
    from emocause.annotate import prompts
    from emocause.annotate.runner import RunStats, run_requests
    from emocause.backends.base import Request

    prompt = prompts.load(template)
    keys = list(groups)
    requests = []
    for k in keys:
        listing = "\n".join(f"- {' '.join(c.split())[:300]}" for c in groups[k][:MODEL_CAUSES])
        requests.append(Request(prompt=prompt.render(listing, platform, emotion), text=listing,
                                task=prompt.task, emotion=emotion, max_tokens=prompt.max_tokens))
    stats = RunStats(rows=len(requests))
    answers = run_requests(backend, requests, cache, stats, description="name themes")
    labels = {k: clean_answer(a.text if a is not None and a.ok else None)
              for k, a in zip(keys, answers)}
    return labels, stats, prompt
