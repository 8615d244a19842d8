"""The dashboard's charts as SVG drawn on the server by pygal: the same markup shows on the page and prints in
the monthly PDF (WeasyPrint renders inline SVG). No script rides along (pygal's tooltips are turned off):
the numbers a person needs are printed on the bars, and the tables next to the charts carry the rest.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import pygal
from markupsafe import Markup
from pygal.style import Style

from dispatch.core.headers import allow_inline_styles
from dispatch.core.i18n import _, label

from .kpis import Figures, bucket_labels

# pygal puts an import hook on sys.meta_path for its map plugins (pygal.maps.*, unused here); it has no
# find_spec, so every later import past it warns (ImportWarning) on Python 3.11+. Take it off again.
sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)
FONT = '"Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", sans-serif'
COLOURS = ("#1f6feb", "#8c959f", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83")
STYLE = Style(background="transparent", plot_background="transparent", foreground="#24292f",
              foreground_strong="#24292f", foreground_subtle="#57606a", opacity=".9", opacity_hover="1",
              colors=COLOURS, font_family=FONT, label_font_family=FONT, major_label_font_family=FONT,
              value_font_family=FONT, value_label_font_family=FONT, title_font_family=FONT,
              legend_font_family=FONT, title_font_size=15, label_font_size=11, major_label_font_size=11,
              legend_font_size=11, value_font_size=10, value_label_font_size=10)


def _config(**extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "style": STYLE, "js": [], "disable_xml_declaration": True, "width": 640, "height": 300,
        "explicit_size": False, "legend_at_bottom": True, "legend_at_bottom_columns": 3,
        "print_values": True, "print_zeroes": False, "show_y_guides": True, "truncate_legend": -1,
        "truncate_label": -1, "margin": 8, "margin_bottom": 22, "spacing": 12, "legend_box_size": 10, "no_data_text": _("No data for this period"),
    }
    config.update(extra)
    return config


def _svg(chart: Any, description: str) -> Markup:
    """The chart's SVG, labelled for screen readers (role="img" with its title)."""
    svg: str = _SCRIPT.sub("", chart.render(is_unicode=True))  # pygal always writes its config as a script
    allow_inline_styles()  # pygal's <style> and style="" on this page (core.headers: the one exception)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(description)}" ', 1)
    return Markup(svg)  # noqa: S704  (pygal's own markup; our strings are escaped by pygal)


def _pct(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def calls_per_day(figures: Figures) -> Markup:
    days = figures.period.each_day()
    title = _("Calls per day by channel")
    chart = pygal.StackedBar(**_config(title=title, width=1280, height=330, x_label_rotation=-45 if len(days) > 14 else 0,
                                       show_minor_x_labels=len(days) <= 31, print_values=len(days) <= 14,
                                       x_labels_major_every=max(1, len(days) // 10)))
    chart.x_labels = [day.strftime("%m-%d") for day in days]
    channels = sorted({c for counts in figures.by_day_channel.values() for c in counts if counts[c]})
    for channel in channels:
        chart.add(label(channel, "channel"), [figures.by_day_channel[day][channel] or None
                                              for day in days])
    return _svg(chart, title)


def targets(figures: Figures, previous: Figures) -> Markup:
    """The five shares against their previous period, in per cent."""
    title = _("Targets: this period and the previous one (%)")
    chart = pygal.HorizontalBar(**_config(title=title, range=(0, 100), height=360,
                                          value_formatter=lambda v: f"{v:.1f}%"))
    names = [_("Booked within deadline"), _("First response within target"), _("Closure rate"),
             _("Satisfied (CSAT)"), _("Unsatisfied")]
    chart.x_labels = names
    for name, figs in ((_("This period"), figures), (_("Previous period"), previous)):
        chart.add(name, [_pct(figs.booked_within_deadline_rate), _pct(figs.first_response_within_target_rate),
                         _pct(figs.closure_rate), _pct(figs.csat), _pct(figs.unsatisfied_rate)])
    return _svg(chart, title)


def booking_times(figures: Figures) -> Markup:
    days = figures.period.each_day()
    title = _("Median time to booking per day (minutes)")
    chart = pygal.Line(**_config(title=title, x_label_rotation=-45 if len(days) > 14 else 0,
                                 show_minor_x_labels=len(days) <= 31, x_labels_major_every=max(1, len(days) // 10),
                                 allow_interruptions=True, print_values=len(days) <= 14, show_legend=False,
                                 value_formatter=lambda v: f"{v:.0f}"))
    chart.x_labels = [day.strftime("%m-%d") for day in days]
    chart.add(_("Median minutes to booking"), [value for _day, value in figures.median_booking_minutes_per_day()])
    return _svg(chart, title)


def ratings(figures: Figures) -> Markup:
    title = _("Customer ratings (%(n)s given)", n=figures.rated)
    chart = pygal.Pie(**_config(title=title, inner_radius=.45, print_values=True, height=300))
    colours = {5: "#2da44e", 4: "#7ccf8b", 3: "#d4a72c", 2: "#f0883e", 1: "#cf222e"}
    chart.config.style = Style(**{**STYLE.to_dict(), "colors": tuple(colours[n] for n in (5, 4, 3, 2, 1))})
    for n in (5, 4, 3, 2, 1):
        chart.add(label(str(n), "rating"), figures.ratings[n] or None)
    return _svg(chart, title)


def work_by_category(figures: Figures) -> Markup:
    title = _("Work by category")
    chart = pygal.Bar(**_config(title=title, value_formatter=lambda v: f"{v:g}"))
    cats = list(figures.by_category)
    chart.x_labels = [label(c, "category") for c in cats] + [_("Internal admin work")]
    chart.add(_("Calls"), [figures.by_category[c] or None for c in cats] + [None])
    chart.add(_("Hours of work"), [round(figures.labor_minutes_by_category.get(c, 0) / 60, 1) or None
                                   for c in cats] + [round(figures.admin_minutes / 60, 1) or None])
    return _svg(chart, title)


def problem_types(figures: Figures) -> Markup:
    title = _("The ten most frequent problem types")
    top = figures.top_problem_types(10)
    chart = pygal.HorizontalBar(**_config(title=title, show_legend=False, height=max(220, 40 + 30 * len(top))))
    top = list(reversed(top))  # the most frequent at the top
    chart.x_labels = [name for name, _n in top]
    chart.add(_("Calls"), [n for _name, n in top])
    return _svg(chart, title)


def resolution(figures: Figures) -> Markup:
    title = _("Time to resolution (calls whose work is complete)")
    chart = pygal.Bar(**_config(title=title, show_legend=False))
    names = bucket_labels()
    distribution = figures.resolution_distribution
    chart.x_labels = [names[key] for key in distribution]
    chart.add(_("Calls"), [n or None for n in distribution.values()])
    return _svg(chart, title)


def all_charts(figures: Figures, previous: Figures) -> dict[str, Markup]:
    return {"calls_per_day": calls_per_day(figures), "targets": targets(figures, previous),
            "booking_times": booking_times(figures), "ratings": ratings(figures),
            "work_by_category": work_by_category(figures), "problem_types": problem_types(figures),
            "resolution": resolution(figures)}
