"""Token and cost estimates for ``--dry-run`` (nothing is sent).

Tokens are counted with ``tiktoken`` for the model's encoding.  tiktoken
downloads its encoding files on first use; offline, without a cached copy,
the estimate falls back to characters / 4 and says so.
Prices are USD per million tokens, as published by OpenAI (2026 list prices;
check before budgeting).  The Batch API (``--batch``) costs half the list price
for input and output (:data:`BATCH_DISCOUNT`).  Output tokens are bounded by each prompt's
``max_tokens``, so the cost is an upper bound for them.
"""

from __future__ import annotations

from collections.abc import Iterable

#: model prefix -> (input, output) USD per 1M tokens; the longest matching prefix wins.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4": (30.0, 60.0),
    "gpt-4-32k": (60.0, 120.0),
    "gpt-4-turbo": (10.0, 30.0),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-3.5-turbo": (0.5, 1.5),
    "gpt-5": (1.25, 10.0),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.4),
}


#: Share of the list price the OpenAI Batch API charges.
BATCH_DISCOUNT = 0.5


def price(model: str) -> tuple[float, float] | None:
    best = None
    for prefix in PRICES:
        if model == prefix or model.startswith(prefix + "-") or model.startswith(prefix + "."):
            if best is None or len(prefix) > len(best):
                best = prefix
    return PRICES[best] if best else None


def count_tokens(texts: Iterable[str], model: str) -> tuple[int, bool]:
    """(token count, exact?) for ``texts`` under ``model``'s encoding."""
    texts = list(texts)
    try:
        import tiktoken

        try:
            enc = tiktoken.encoding_for_model(model)
        except KeyError:
            enc = tiktoken.get_encoding("o200k_base")
        return sum(len(enc.encode(t, disallowed_special=())) for t in texts), True
    except Exception:  # encoding files not downloadable offline
        return sum((len(t) + 3) // 4 for t in texts), False


def cost(model: str, prompt_tokens: int, completion_tokens: int, batch: bool = False) -> float | None:
    """USD for the tokens at list price (``batch``: at the Batch API's price); None if unknown."""
    p = price(model)
    if p is None:
        return None
    usd = prompt_tokens / 1e6 * p[0] + completion_tokens / 1e6 * p[1]
    return usd * BATCH_DISCOUNT if batch else usd
