"""Line charts over nights, as numbers for the report template to draw in
SVG: the x axis is the night's date (so a missed night leaves a gap, and a
series is not joined across a night that lacks it), the y axis starts at 0,
and both axes carry labelled ticks."""
import datetime

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
W, H = 560, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 130, 20, 50


def _nice_top(v):
    if v <= 0:
        return 1
    mag = 10 ** (len(str(int(v))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def _label(v):
    return f"{v:,.0f}" if v >= 10 else f"{v:g}"


def chart(title, unit, nights, series):
    """nights: the datetimes of the nights in the trend, oldest first.
    series: {name: [value or None per night]}. Returns a dict for the
    template, or None when there is nothing to draw."""
    values = [v for vs in series.values() for v in vs if v is not None]
    if not nights or not values:
        return None
    top = _nice_top(max(values))
    t0, t1 = nights[0], nights[-1]
    span = (t1 - t0).total_seconds()
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t):
        return LEFT + (pw / 2 if span == 0 else pw * (t - t0).total_seconds() / span)

    def y(v):
        return TOP + ph - ph * v / top

    short = span < 2 * 86400
    fmt = "%m-%d %H:%M" if short else "%Y-%m-%d"
    n_ticks = min(len(nights), 5)
    if span == 0:
        xticks = [(x(t0), t0.strftime(fmt))]
    else:
        xticks = [(x(t0 + datetime.timedelta(seconds=span * i / (n_ticks - 1))),
                   (t0 + datetime.timedelta(seconds=span * i / (n_ticks - 1))).strftime(fmt))
                  for i in range(n_ticks)] if n_ticks > 1 else [(x(t0), t0.strftime(fmt))]
    yticks = [(y(top * i / 4), _label(top * i / 4)) for i in range(5)]
    # A night missing from the record (a gap much longer than the usual
    # spacing) breaks the lines too: nothing is drawn where nothing was measured.
    gaps = sorted((b - a).total_seconds() for a, b in zip(nights, nights[1:]))
    usual = gaps[len(gaps) // 2] if gaps else 0
    lines = []
    for k, (name, vs) in enumerate(series.items()):
        segments, points, cur = [], [], []
        prev = None
        for t, v in zip(nights, vs):
            if prev is not None and usual and (t - prev).total_seconds() > 1.5 * usual and cur:
                segments.append(cur)
                cur = []
            prev = t
            if v is None:
                if cur:
                    segments.append(cur)
                cur = []
                continue
            cur.append((round(x(t), 1), round(y(v), 1)))
            points.append((round(x(t), 1), round(y(v), 1), v, t.strftime("%Y-%m-%d %H:%M")))
        if cur:
            segments.append(cur)
        lines.append({"name": name, "color": COLORS[k % len(COLORS)],
                      "segments": [" ".join(f"{a},{b}" for a, b in seg) for seg in segments if len(seg) > 1],
                      "points": points, "legend_y": TOP + 14 * k + 8})
    return {"title": title, "unit": unit, "w": W, "h": H, "left": LEFT, "right": W - RIGHT, "top": TOP,
            "bottom": H - BOTTOM, "xticks": [(round(a, 1), b) for a, b in xticks],
            "yticks": [(round(a, 1), b) for a, b in yticks], "lines": lines,
            "xlabel": "night (UTC)", "legend_x": W - RIGHT + 10}
