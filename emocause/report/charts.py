"""The report's charts, drawn with matplotlib's object API into PNG bytes.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot,
no global backend switch: the Agg canvas renders them), so drawing is safe from
any thread and never opens a window.  Text drawn from comments (cluster labels)
goes through with mathtext parsing off, so a ``$`` in a comment stays a dollar
sign.  PNG bytes are embedded in ``report.html`` as base64 and written beside
``report.md``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

#: One colour per author role (assigned in order of overall frequency), shared with the HTML.
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3",
           "#8C8C8C", "#CCB974", "#64B5CD")
ACCENT = "#C44E52"
INK = "#2b2d42"
GRID = "#e3e5ea"

_RC = {"text.parse_math": False, "font.size": 9, "axes.edgecolor": GRID, "axes.labelcolor": INK,
       "xtick.color": INK, "ytick.color": INK, "axes.titleweight": "bold", "axes.titlesize": 11,
       "axes.titlecolor": INK, "axes.spines.top": False, "axes.spines.right": False}


def role_colours(roles: Sequence[str]) -> dict[str, str]:
    """A stable colour for every role, in the given order (most frequent first)."""
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(roles)}


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=144, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _short(text: str, width: int = 42) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def months_chart(emotion_counts: Mapping[str, int], totals: Mapping[str, int] | None = None,
                 emotion: str = "Frustration") -> bytes:
    """Comments showing the emotion per month (bars); with ``totals``, its share of all comments (line)."""
    import matplotlib
    from matplotlib.figure import Figure

    months = sorted(set(emotion_counts) | set(totals or {}))
    values = [emotion_counts.get(m, 0) for m in months]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.5, 3.2))
        ax = fig.add_subplot()
        x = list(range(len(months)))
        ax.bar(x, values, color=PALETTE[0], width=0.8, label=f"{emotion} comments")
        ax.set_ylabel(f"{emotion} comments")
        step = max(1, len(months) // 14)
        ax.set_xticks(x[::step], months[::step], rotation=45, ha="right")
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(f"{emotion} comments per month", loc="left")
        if totals:
            share = [100.0 * v / totals[m] if totals.get(m) else 0.0 for m, v in zip(months, values)]
            ax2 = ax.twinx()
            ax2.plot(x, share, color=ACCENT, marker="o", markersize=3, linewidth=1.5,
                     label="share of all comments (%)")
            ax2.set_ylabel("% of all comments", color=ACCENT)
            ax2.tick_params(axis="y", colors=ACCENT)
            ax2.spines["right"].set_visible(True)
            ax2.set_ylim(bottom=0)
        if not months:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "the comments have no dates", transform=ax.transAxes, ha="center",
                    va="center", color=INK)
        return _png(fig)


def sizes_chart(labels: Sequence[str], sizes: Sequence[int], unclustered: int) -> bytes:
    """Causes per theme, largest on top; the causes in no theme are named in the title.

    They are not drawn as a bar: with DBSCAN most causes are usually noise, and
    one long bar would flatten every theme.
    """
    import matplotlib
    from matplotlib.figure import Figure

    names = [f"#{i + 1} {_short(label)}" for i, label in enumerate(labels)]
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(9.5, 1.0 + 0.32 * max(1, len(names))))
        ax = fig.add_subplot()
        y = list(range(len(names)))[::-1]
        bars = ax.barh(y, list(sizes), color=PALETTE[0], height=0.7)
        ax.set_yticks(y, names)
        ax.bar_label(bars, padding=3, fontsize=8, color=INK)
        ax.set_xlabel("causes")
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(f"Causes per theme  ({unclustered:,} causes are in no theme)", loc="left")
        ax.margins(x=0.08)
        if not names:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "no themes", transform=ax.transAxes, ha="center", va="center",
                    color=INK)
        return _png(fig)


def roles_chart(labels: Sequence[str], role_counts: Sequence[Mapping[str, int]],
                overall: Mapping[str, int], roles: Sequence[str]) -> bytes:
    """Share of each theme's causes by author role (100% bars), with all causes as the first bar."""
    import matplotlib
    from matplotlib.figure import Figure

    names = ["all causes"] + [f"#{i + 1} {_short(label)}" for i, label in enumerate(labels)]
    rows = [overall] + list(role_counts)
    colours = role_colours(roles)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8.4, 1.0 + 0.32 * len(names)))
        ax = fig.add_subplot()
        y = list(range(len(names)))[::-1]
        left = [0.0] * len(names)
        for role in roles:
            share = [100.0 * r.get(role, 0) / max(1, sum(r.values())) for r in rows]
            ax.barh(y, share, left=left, color=colours[role], height=0.7, label=role)
            left = [a + b for a, b in zip(left, share)]
        ax.set_yticks(y, names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of the theme's causes")
        ax.set_title("Themes by author role", loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8,
                  title="author role", title_fontsize=8)
        return _png(fig)
