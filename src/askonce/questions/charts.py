"""The KCS dashboard's charts, drawn by pygal as inline SVG: no JavaScript, nothing fetched,
readable on a phone (the SVG scales to its container)."""

import pygal
from pygal.style import Style

from askonce.questions.kcs import KcsFigures, KcsWeek

# The console's palette (askonce.css): --brand, --ok, --warn, --bad, then violet.
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#5d6b7e",
    foreground_strong="#1c2430",
    foreground_subtle="#dfe4ea",
    opacity=".85",
    opacity_hover="1",
    colors=("#2656d9", "#1e7d4f", "#b26a00", "#c0362c", "#7c3aed"),
    font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
    value_font_size=11,
    tooltip_font_size=12,
)


def _labels(weeks: list[KcsWeek]) -> list[str]:
    return [week.start.strftime("%b %-d") for week in weeks]


def _base(
    chart_type: type[pygal.graph.graph.Graph], title: str, weeks: list[KcsWeek], **options: object
) -> pygal.graph.graph.Graph:
    chart = chart_type(
        title=title,
        style=STYLE,
        width=720,
        height=300,
        explicit_size=False,
        js=[],  # pygal's tooltips load a script from a CDN: not here
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        show_y_guides=True,
        x_label_rotation=0,
        x_labels_major_every=max(1, len(weeks) // 6),
        show_minor_x_labels=len(weeks) <= 13,
        margin=12,
        margin_bottom=28,  # room for the legend under the axis labels
        no_data_text="No data yet",
        **options,
    )
    chart.x_labels = _labels(weeks)
    return chart


def _count_axis(*series: list[int]) -> dict[str, object]:
    """Whole-number ticks for counts: pygal would label a 0 to 1 axis 0, 0.2, ... (shown as 0 0 1)."""
    top = max([0, *[value for values in series for value in values]])
    step = max(1, -(-top // 5))  # at most about six ticks
    ceiling = max(step * -(-top // step), 1)
    return {"range": (0, ceiling), "y_labels": list(range(0, ceiling + 1, step))}


def _percent(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def rates_chart(figures: KcsFigures) -> str:
    weeks = figures.weeks
    chart = _base(
        pygal.Line,
        "Link rate and repeat rate (%)",
        weeks,
        range=(0, 100),
        value_formatter=lambda value: f"{value:.0f} %",
        allow_interruptions=True,
    )
    chart.add("Solved with an article", [_percent(week.link_rate) for week in weeks])
    chart.add("Questions asked before", [_percent(week.repeat_rate) for week in weeks])
    chart.add("Ask-box visits deflected", [_percent(week.deflection_rate) for week in weeks])
    return str(chart.render(is_unicode=True))


def gaps_chart(figures: KcsFigures) -> str:
    weeks = figures.weeks
    opened = [week.gaps_opened for week in weeks]
    closed = [week.gaps_closed for week in weeks]
    chart = _base(
        pygal.Bar,
        "Documentation gaps",
        weeks,
        value_formatter=lambda v: f"{v:.0f}",
        **_count_axis(opened, closed),
    )
    chart.add("Opened", opened)
    chart.add("Closed", closed)
    return str(chart.render(is_unicode=True))


def self_service_chart(figures: KcsFigures) -> str:
    weeks = figures.weeks
    deflected = [week.deflected for week in weeks]
    filed = [week.filed for week in weeks]
    chart = _base(
        pygal.Bar,
        "Ask box: deflected and filed",
        weeks,
        value_formatter=lambda v: f"{v:.0f}",
        **_count_axis(deflected, filed),
    )
    chart.add("Deflected (read an article, filed nothing)", deflected)
    chart.add("Filed a ticket anyway", filed)
    return str(chart.render(is_unicode=True))
