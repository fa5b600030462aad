"""Geometry for the server-drawn SVG bar chart: numbers in, coordinates out (no markup here)."""

import math

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30
STEPS = (1, 2, 5)


def nice_step(top, ticks=4):
    """The smallest 1-2-5 step that covers top in at most `ticks` steps."""
    if top <= ticks:
        return 1
    magnitude = 10 ** max(0, int(math.log10(top / ticks)) - 1)
    while True:
        for step in STEPS:
            if step * magnitude * ticks >= top:
                return step * magnitude
        magnitude *= 10


def bar_chart(points, max_labels=8):
    """Bars, y grid lines and x labels for [(label_key, value)] in a WIDTH x HEIGHT box."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max((value for _, value in points), default=0)
    step = nice_step(top)
    scale_top = max(step, math.ceil(top / step) * step)
    slot = plot_w / max(1, len(points))
    bar_w = min(36.0, max(1.0, slot * 0.72))
    bars = []
    for i, (key, value) in enumerate(points):
        h = plot_h * value / scale_top
        bars.append(
            {
                "key": key,
                "value": value,
                "x": round(LEFT + i * slot + (slot - bar_w) / 2, 2),
                "y": round(TOP + plot_h - h, 2),
                "width": round(bar_w, 2),
                "height": round(h, 2),
            }
        )
    grid = [
        {"value": v, "y": round(TOP + plot_h - plot_h * v / scale_top, 2)}
        for v in range(0, scale_top + 1, step)
    ]
    every = max(1, math.ceil(len(points) / max_labels))
    last = len(points) - 1
    labels = [
        {"key": points[i][0], "x": round(LEFT + i * slot + slot / 2, 2)}
        for i in range(len(points))
        # Label every n-th bar counting back from the last, so today always has its label.
        if (last - i) % every == 0
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "label_y": HEIGHT - 10,
        "bars": bars,
        "grid": grid,
        "labels": labels,
        "peak": top,
    }
