"""The report's charts as SVG text: inline in ``report.html``, files beside ``report.md``.

Written by hand rather than through a plotting library, so a chart is a few
kilobytes of vector markup with no script, no font file and nothing to fetch,
and it reads the same on a 420 px phone, a 1280 px screen and paper.  The trick
that keeps text legible at every width: horizontal positions and widths are
percentages of the chart's width while text has a fixed size, so bars stretch
and labels do not shrink (there is no ``viewBox`` scaling).  Labels sit above
their bars rather than beside them, so a long theme name never squeezes a bar.

Every piece of text from the data (theme labels, roles, months) is XML-escaped
here; the charts are then inserted into the page as markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

#: One colour per author role (assigned in order of overall frequency), shared with the HTML.
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3",
           "#8C8C8C", "#CCB974", "#64B5CD")
ACCENT = "#C44E52"
INK = "#2b2d42"
MUTED = "#5f6473"
GRID = "#e3e5ea"
EMPTY = "#f1f2f5"
OTHER = "#b7bac3"
FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
#: Most theme-name characters drawn on a chart line (the full name is in the tooltip).
LABEL_CHARS = 46


def role_colours(roles: Sequence[str]) -> dict[str, str]:
    """A stable colour for every role, in the given order (most frequent first)."""
    return {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(roles)}


def _t(value: object) -> str:
    return escape(str(value), quote=True)


def _pct(x: float) -> str:
    return f"{max(0.0, x):.3f}%"


def _short(text: str, width: int = LABEL_CHARS) -> str:
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def _svg(body: list[str], height: float, title: str, width: str = "100%") -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_t(width)}" height="{height:.0f}" '
            f'role="img" font-family="{_t(FONT)}" font-size="12" fill="{INK}">'
            f"<title>{_t(title)}</title>" + "".join(body) + "</svg>")


def _ticks(top: float, n: int = 4) -> list[float]:
    """Round gridline values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [step * i for i in range(int(math.ceil(top / step)) + 1)]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"


def month_labels(months: Sequence[str], most: int = 6) -> list[tuple[int, str]]:
    """(index, text) of the months to label on an axis: at most ``most``, evenly spaced."""
    n = len(months)
    if n == 0:
        return []
    stride = max(1, math.ceil(n / most))
    return [(i, months[i]) for i in range(0, n, stride)]


def _month_axis(months: Sequence[str], y: float, most: int = 6) -> list[str]:
    n = len(months)
    out = []
    for i, text in month_labels(months, most):
        centre = (i + 0.5) / n * 100
        if centre < 8:
            x, anchor = _pct(i / n * 100), "start"
        elif centre > 92:
            x, anchor = _pct((i + 1) / n * 100), "end"
        else:
            x, anchor = _pct(centre), "middle"
        out.append(f'<text x="{x}" y="{y:.0f}" text-anchor="{anchor}" font-size="11" '
                   f'fill="{MUTED}">{_t(text)}</text>')
    return out


def months_chart(emotion_counts: Mapping[str, int], totals: Mapping[str, int] | None = None,
                 emotion: str = "Frustration", width: str = "100%") -> str:
    """Comments showing the emotion per month (bars); with ``totals``, their share of all
    comments (a line, scaled to the same gridlines and labelled on the right)."""
    months = sorted(set(emotion_counts) | set(totals or {}))
    title = f"{emotion} comments per month"
    if not months:
        return _svg([f'<text x="50%" y="40" text-anchor="middle" fill="{MUTED}">'
                     f"the comments have no dates</text>"], 70, title, width)
    values = [int(emotion_counts.get(m, 0)) for m in months]
    share = ([100.0 * v / totals[m] if totals and totals.get(m) else 0.0
              for m, v in zip(months, values)] if totals else None)
    top, bottom = 34.0, 194.0
    ticks = _ticks(max(values) or 1)
    scale = (bottom - top) / ticks[-1]
    share_top = max(share or [0.0]) or 1.0
    body = [f'<rect x="0" y="6" width="10" height="10" fill="{PALETTE[0]}"/>'
            f'<text x="14" y="15" font-size="11">{_t(emotion)} comments</text>']
    if share is not None:
        body.append(f'<line x1="55%" y1="11" x2="60%" y2="11" stroke="{ACCENT}" stroke-width="2"/>'
                    f'<text x="61%" y="15" font-size="11" fill="{ACCENT}">% of all comments</text>')
    for v in ticks:
        y = bottom - v * scale
        body.append(f'<line x1="0" y1="{y:.1f}" x2="100%" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="0" y="{y - 3:.1f}" font-size="11" fill="{MUTED}">{_fmt(v)}</text>')
        if share is not None and v > 0:
            pct = v / (max(values) or 1) * share_top
            body.append(f'<text x="100%" y="{y - 3:.1f}" text-anchor="end" font-size="11" '
                        f'fill="{ACCENT}">{pct:.1f}%</text>')
    n = len(months)
    for i, (m, v) in enumerate(zip(months, values)):
        h = v * scale
        tip = f"{m}: {v:,} {emotion.lower()} comments"
        if share is not None:
            tip += f" ({share[i]:.1f}% of {int((totals or {}).get(m, 0)):,} comments)"
        body.append(f'<rect x="{_pct((i + 0.12) / n * 100)}" y="{bottom - h:.1f}" '
                    f'width="{_pct(0.76 / n * 100)}" height="{h:.1f}" fill="{PALETTE[0]}">'
                    f"<title>{_t(tip)}</title></rect>")
    if share is not None:
        peak = max(values) or 1
        ys = [bottom - s / share_top * peak * scale for s in share]
        for i in range(n - 1):
            body.append(f'<line x1="{_pct((i + 0.5) / n * 100)}" y1="{ys[i]:.1f}" '
                        f'x2="{_pct((i + 1.5) / n * 100)}" y2="{ys[i + 1]:.1f}" '
                        f'stroke="{ACCENT}" stroke-width="2"/>')
        for i in range(n):
            body.append(f'<circle cx="{_pct((i + 0.5) / n * 100)}" cy="{ys[i]:.1f}" r="2.5" '
                        f'fill="{ACCENT}"/>')
    body += _month_axis(months, bottom + 16)
    return _svg(body, bottom + 24, title, width)


def sizes_chart(rows: Sequence[tuple[int, str, int, int]], other: int | None, width: str = "100%",
                link: bool = True, peak: int | None = None) -> str:
    """Causes per theme: (id, label, causes, authors) per row, largest first, then "other"
    (``None``: not drawn here).  ``peak`` is the count of a full bar (to share a scale
    between charts), by default the largest drawn."""
    body: list[str] = []
    peak = peak or max([r[2] for r in rows] + [other or 0, 1])
    y = 0.0
    entries = [(i, label, n, a, PALETTE[0]) for i, label, n, a in rows]
    if other is not None:
        entries.append((0, "Other: in no theme", other, -1, OTHER))
    for tid, label, n, authors, colour in entries:
        name = f"{tid}. {_short(label)}" if tid else label
        text = f'<text x="0" y="{y + 14:.0f}" font-size="13" font-weight="600">{_t(name)}' \
               f"<title>{_t(label)}</title></text>"
        if link and tid:
            text = f'<a href="#theme-{tid}">{text}</a>'
        body.append(text)
        w = 60.0 * n / peak
        body.append(f'<rect x="0" y="{y + 20:.0f}" width="{_pct(max(w, 0.4))}" height="14" '
                    f'rx="2" fill="{colour}"/>')
        stat = f"{n:,} causes" + (f" · {authors:,} authors" if authors >= 0 else "")
        body.append(f'<text x="{_pct(w + 1.5)}" y="{y + 32:.0f}" font-size="11" '
                    f'fill="{MUTED}">{_t(stat)}</text>')
        y += 46
    return _svg(body, y, "Causes per theme", width)


def _legend(items: Sequence[tuple[str, str]], y: float, columns: int = 3) -> tuple[list[str], float]:
    body = []
    for k, (name, colour) in enumerate(items):
        col, row = k % columns, k // columns
        x = col * 100.0 / columns
        yy = y + row * 18
        body.append(f'<rect x="{_pct(x)}" y="{yy:.0f}" width="10" height="10" fill="{colour}"/>'
                    f'<text x="{_pct(x)}" dx="14" y="{yy + 9:.0f}" font-size="11">{_t(name)}</text>')
    rows = math.ceil(len(items) / columns) if items else 0
    return body, y + rows * 18


def stacked_bar(counts: Mapping[str, int], colours: Mapping[str, str], y: float, height: float,
                what: str = "") -> list[str]:
    """One 100% bar split by role (shares of ``counts``), as SVG elements."""
    total = sum(counts.values()) or 1
    left = 0.0
    out = []
    for role, n in counts.items():
        share = 100.0 * n / total
        tip = f"{what}{role}: {n:,} ({share:.0f}%)"
        out.append(f'<rect x="{_pct(left)}" y="{y:.0f}" width="{_pct(share)}" height="{height:.0f}" '
                   f'fill="{colours.get(role, OTHER)}"><title>{_t(tip)}</title></rect>')
        left += share
    return out


def roles_chart(labels: Sequence[str], role_counts: Sequence[Mapping[str, int]],
                overall: Mapping[str, int], roles: Sequence[str], width: str = "100%") -> str:
    """Share of each theme's causes by author role (100% bars), with all causes as the first bar."""
    colours = role_colours(roles)
    body, y = _legend([(r, colours[r]) for r in roles], 4)
    y += 8
    rows = [("All causes", overall)] + [(f"{i + 1}. {_short(label)}", counts)
                                        for i, (label, counts) in enumerate(zip(labels, role_counts))]
    for k, (name, counts) in enumerate(rows):
        weight = ' font-weight="600"' if k == 0 else ""
        body.append(f'<text x="0" y="{y + 13:.0f}" font-size="12"{weight}>{_t(name)}</text>')
        ordered = {r: counts[r] for r in roles if counts.get(r)}
        body += stacked_bar(ordered, colours, y + 18, 12, f"{name}: ")
        y += 40
    return _svg(body, y, "Themes by author role", width)


def _share_scale(rows: Sequence[tuple[int, str, Mapping[str, int]]], months: Sequence[str],
                 denominators: Mapping[str, int], min_comments: int = 10) -> float:
    """The share that gets the darkest shade: the 90th percentile of the theme-month shares in
    months with at least ``min_comments`` comments, so a month of two comments (one share of
    50%) does not wash every other cell out."""
    full = [m for m in months if denominators.get(m, 0) >= min_comments] or \
        [m for m in months if denominators.get(m)]
    shares = sorted(counts.get(m, 0) / denominators[m] for _, _, counts in rows for m in full
                    if counts.get(m, 0))
    return shares[int(0.9 * (len(shares) - 1))] if shares else 1.0


def timeline_chart(months: Sequence[str], rows: Sequence[tuple[int, str, Mapping[str, int]]],
                   denominators: Mapping[str, int] | None, emotion: str,
                   width: str = "100%", max_rows: int = 20) -> str:
    """Themes over time: one strip of monthly cells per theme (the count in the cell).

    With ``denominators`` (the month's comments showing the emotion), the shade is the
    theme's share of them, so a busy month does not look like a trend; without, the
    shade follows the count.  The ``max_rows`` largest themes are drawn.
    """
    n = len(months)
    title = "Themes over time"
    if n == 0:
        return _svg([f'<text x="50%" y="30" text-anchor="middle" fill="{MUTED}">'
                     f"the causes have no dates</text>"], 50, title, width)
    shown = list(rows)[:max_rows]
    lines: list[tuple[str, Mapping[str, int], bool]] = []
    if denominators:
        lines.append((f"All {emotion.lower()} comments", denominators, True))
    lines += [(f"{tid}. {_short(label)}", counts, False) for tid, label, counts in shown]
    peak = sorted(c for _, counts, top in lines if not top for c in counts.values() if c) or [1]
    peak_count = peak[int(0.9 * (len(peak) - 1))]
    peak_share = _share_scale(shown, months, denominators) if denominators else 1.0
    notes = [f"darker: larger share of the month's {emotion.lower()} comments"
             if denominators else "darker: more causes in the month"]
    if len(rows) > len(shown):
        notes.append(f"the {len(shown)} largest of {len(rows)} themes")
    body = [f'<text x="0" y="{12 + 15 * k}" font-size="11" fill="{MUTED}">{_t(t)}</text>'
            for k, t in enumerate(notes)]
    y = 7.0 + 15 * len(notes)
    for name, counts, is_total in lines:
        weight = ' font-weight="600"' if is_total else ""
        body.append(f'<text x="0" y="{y + 12:.0f}" font-size="12"{weight}>{_t(name)}</text>')
        top_total = max(max(counts.values(), default=0), 1)
        for i, m in enumerate(months):
            c = int(counts.get(m, 0))
            if is_total:
                level, colour = c / top_total, "#6b6f7b"
            elif denominators:
                level = (c / denominators[m] / peak_share) if denominators.get(m) else 0.0
                colour = PALETTE[0]
            else:
                level, colour = c / peak_count, PALETTE[0]
            tip = f"{name} · {m}: {c:,}"
            if denominators and not is_total and denominators.get(m):
                tip += f" ({100.0 * c / denominators[m]:.0f}% of {denominators[m]:,})"
            fill = (f'fill="{colour}" fill-opacity="{0.15 + 0.85 * min(level, 1.0):.2f}"' if c
                    else f'fill="{EMPTY}"')
            body.append(f'<rect x="{_pct(i / n * 100)}" y="{y + 17:.0f}" '
                        f'width="{_pct(100.0 / n - 0.35)}" height="18" {fill}>'
                        f"<title>{_t(tip)}</title></rect>")
            if c and n <= 24:
                ink = "#ffffff" if min(level, 1.0) > 0.5 else INK
                body.append(f'<text x="{_pct((i + 0.5) / n * 100)}" y="{y + 30:.0f}" '
                            f'text-anchor="middle" font-size="10" fill="{ink}">{c}</text>')
        y += 42
    body += _month_axis(months, y + 6)
    return _svg(body, y + 14, title, width)


def sparkline(months: Sequence[str], counts: Mapping[str, int], width: str = "100%") -> str:
    """A theme's causes per month, small: bars, the first and last month, the busiest count."""
    n = len(months)
    if n == 0:
        return ""
    values = [int(counts.get(m, 0)) for m in months]
    peak = max(values) or 1
    body = []
    for i, v in enumerate(values):
        h = 30.0 * v / peak
        body.append(f'<rect x="{_pct((i + 0.1) / n * 100)}" y="{34 - h:.1f}" '
                    f'width="{_pct(0.8 / n * 100)}" height="{max(h, 0.8):.1f}" '
                    f'fill="{PALETTE[0] if v else GRID}"><title>{_t(months[i])}: {v}</title></rect>')
    body.append(f'<text x="0" y="48" font-size="10" fill="{MUTED}">{_t(months[0])}</text>')
    if n > 1:
        body.append(f'<text x="100%" y="48" text-anchor="end" font-size="10" '
                    f'fill="{MUTED}">{_t(months[-1])}</text>')
    body.append(f'<text x="50%" y="48" text-anchor="middle" font-size="10" fill="{MUTED}">'
                f"busiest month: {peak}</text>")
    return _svg(body, 52, "Causes per month", width)


def role_strip(counts: Mapping[str, int], colours: Mapping[str, str], width: str = "100%") -> str:
    """A theme's causes by author role: one thin 100% bar."""
    return _svg(stacked_bar(counts, colours, 0, 10), 10, "By author role", width)
