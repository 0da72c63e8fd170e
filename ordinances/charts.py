"""
Bar charts as numbers: where each bar, gridline and label goes, in the units of an SVG
`viewBox`. No markup and no words are made here: `templates/partials/bar_chart.svg.html`
draws a `Chart` and the caller passes the labels (already in the reader's language).

Two layouts:

- `bar_list`: one horizontal bar per item, its label above it (so a long label, in any
  language, has the chart's whole width), its value at its end; bar lengths are proportional
  to the values.
- `stacked_columns`: one column per category (the months of a year), each made of one
  segment per series stacked from the baseline, the column's total above it.

Both scale to a "nice" top value (1, 2 or 5 times a power of ten, in whole numbers) with
gridlines at each step. Colours are given by the caller per series and must keep a 3:1
contrast against the white background (WCAG 1.4.11); every chart has a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# The type sizes the template draws with, in viewBox units.
FONT_SIZE = 15
SMALL_FONT_SIZE = 13


@dataclass(frozen=True)
class Series:
    """One kind of thing counted: a code, its label in words, its fill colour."""

    key: str
    label: str
    fill: str


@dataclass(frozen=True)
class Bar:
    """One rectangle: a bar of `bar_list` or a segment of a column of `stacked_columns`."""

    series: Series
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Label:
    """A text at (x, y); `anchor` is the SVG text-anchor (start, middle or end)."""

    text: str
    x: float
    y: float
    anchor: str = "start"


@dataclass(frozen=True)
class Gridline:
    """A value step of the scale: its line from (x1, y1) to (x2, y2) and its label."""

    value: int
    x1: float
    y1: float
    x2: float
    y2: float
    label: Label


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[Label, ...]  # what each bar or column is
    values: tuple[Label, ...]  # the number at the end of each bar, or above each column
    gridlines: tuple[Gridline, ...]
    baseline: tuple[float, float, float, float]  # the axis bars grow from: x1, y1, x2, y2
    series: tuple[Series, ...]
    top: int  # the scale's top value
    total: int  # the sum of every value drawn

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def title_id(self) -> str:
        return f"{self.id}-title"

    @property
    def desc_id(self) -> str:
        return f"{self.id}-desc"

    @property
    def font_size(self) -> int:
        return FONT_SIZE

    @property
    def small_font_size(self) -> int:
        return SMALL_FONT_SIZE


def nice_steps(maximum: int, most: int = 5) -> list[int]:
    """
    Gridline values from 0 up to the first value at or above `maximum`, at most `most`
    steps apart, each step a whole 1, 2 or 5 times a power of ten: 7 gives 0, 2, 4, 6, 8.
    """
    if maximum <= 0:
        return [0, 1]
    rough = maximum / most
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(1, int(step))
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))


def _r(value: float) -> float:
    return round(value, 2)


def bar_list(
    id: str,
    *,
    title: str,
    desc: str,
    items: Sequence[tuple[Series, int]],
    width: int = 400,
    row_height: int = 50,
    bar_height: int = 20,
) -> Chart:
    """One horizontal bar per item, in the order given, its length proportional to its value."""
    left, right_margin, top_margin, axis_space = 4, 48, 8, 26
    plot_width = width - left - right_margin
    steps = nice_steps(max((value for _series, value in items), default=0))
    top = steps[-1]
    plot_bottom = top_margin + row_height * len(items)
    height = plot_bottom + axis_space
    bars, labels, values = [], [], []
    for i, (series, value) in enumerate(items):
        row_top = top_margin + i * row_height
        bar_y = row_top + row_height - bar_height - 8
        length = plot_width * value / top
        labels.append(Label(series.label, left, _r(bar_y - 7)))
        bars.append(Bar(series, value, left, _r(bar_y), _r(length), bar_height))
        values.append(Label(str(value), _r(left + length + 6), _r(bar_y + bar_height / 2 + FONT_SIZE / 3)))
    gridlines = tuple(
        Gridline(
            step,
            _r(left + plot_width * step / top),
            top_margin,
            _r(left + plot_width * step / top),
            plot_bottom,
            Label(str(step), _r(left + plot_width * step / top), plot_bottom + 18, "middle"),
        )
        for step in steps
    )
    return Chart(
        id=id,
        title=title,
        desc=desc,
        width=width,
        height=height,
        bars=tuple(bars),
        labels=tuple(labels),
        values=tuple(values),
        gridlines=gridlines,
        baseline=(left, top_margin, left, plot_bottom),
        series=tuple(series for series, _value in items),
        top=top,
        total=sum(value for _series, value in items),
    )


def stacked_columns(
    id: str,
    *,
    title: str,
    desc: str,
    categories: Sequence[str],
    series: Sequence[Series],
    values: Mapping[str, Sequence[int]],
    width: int = 560,
    height: int = 280,
) -> Chart:
    """
    One column per category, stacked from the baseline in the order of `series`;
    `values[series.key][i]` is that series' count in category i.
    """
    left, right_margin, top_margin, bottom_margin = 36, 8, 24, 28
    plot_width = width - left - right_margin
    plot_bottom = height - bottom_margin
    plot_height = plot_bottom - top_margin
    totals = [
        sum(values.get(s.key, [0] * len(categories))[i] for s in series) for i in range(len(categories))
    ]
    steps = nice_steps(max(totals, default=0))
    top = steps[-1]
    slot = plot_width / max(len(categories), 1)
    column_width = slot * 0.6
    bars, labels, value_labels = [], [], []
    for i, category in enumerate(categories):
        x = left + i * slot + (slot - column_width) / 2
        centre = _r(x + column_width / 2)
        stacked = 0
        for s in series:
            value = values.get(s.key, [0] * len(categories))[i]
            if value:
                segment = plot_height * value / top
                stacked_height = plot_height * stacked / top
                y = plot_bottom - stacked_height - segment
                bars.append(Bar(s, value, _r(x), _r(y), _r(column_width), _r(segment)))
                stacked += value
        labels.append(Label(category, centre, plot_bottom + 18, "middle"))
        if totals[i]:
            value_labels.append(
                Label(str(totals[i]), centre, _r(plot_bottom - plot_height * totals[i] / top - 6), "middle")
            )
    gridlines = tuple(
        Gridline(
            step,
            left,
            _r(plot_bottom - plot_height * step / top),
            width - right_margin,
            _r(plot_bottom - plot_height * step / top),
            Label(
                str(step), left - 6, _r(plot_bottom - plot_height * step / top + SMALL_FONT_SIZE / 3), "end"
            ),
        )
        for step in steps
    )
    return Chart(
        id=id,
        title=title,
        desc=desc,
        width=width,
        height=height,
        bars=tuple(bars),
        labels=tuple(labels),
        values=tuple(value_labels),
        gridlines=gridlines,
        baseline=(left, plot_bottom, width - right_margin, plot_bottom),
        series=tuple(series),
        top=top,
        total=sum(totals),
    )
