"""The digest's picture: daily cost of the last 30 days against the daily target, as a PNG."""
from __future__ import annotations

import io
from datetime import date

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

matplotlib.use("Agg")  # no display: render to a buffer (pyplot picks its backend lazily)

OVER, UNDER = "#d62728", "#1f77b4"


def daily_cost_chart(days: list[date], costs: list[float | None], daily_target: float | None) -> bytes:
    """Bars per day (red above the target, blue at or below; a day without data stays empty),
    the target as a dashed line, a dollar axis."""
    figure, axes = plt.subplots(figsize=(10, 4.2), dpi=110)
    try:
        positions = mdates.date2num(days)
        heights = [c if c is not None else 0.0 for c in costs]
        colours = [OVER if daily_target is not None and c is not None and c > daily_target else UNDER
                   for c in costs]
        axes.bar(positions, heights, width=0.8, color=colours, zorder=2)
        if daily_target is not None:
            axes.axhline(daily_target, color="#333333", linestyle="--", linewidth=1.2, zorder=3,
                         label=f"daily target ${daily_target:,.0f}")
            axes.legend(loc="upper left", frameon=False)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v / 1000:,.1f}k" if v >= 1000 else f"${v:,.0f}"))
        axes.set_xticks(positions[::-3][::-1])  # every third day, ending on the latest
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
        if days:
            axes.set_xlim(positions[0] - 0.7, positions[-1] + 0.7)
        axes.grid(axis="y", color="#e5e5e5", zorder=0)
        axes.spines[["top", "right"]].set_visible(False)
        top = max([*heights, daily_target or 0.0])
        axes.set_ylim(0, top * 1.15 if top > 0 else 1)
        span = f"{days[0]:%d %b} – {days[-1]:%d %b %Y}" if days else ""
        axes.set_title(f"AWS cost per day, {span} (UTC days)", loc="left", fontsize=12)
        figure.autofmt_xdate(rotation=0, ha="center")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
