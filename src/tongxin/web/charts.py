"""Plotly chart specifications (plain dicts) for the dashboard and the public summary.

Rendered in the browser by the plotly.js that ships inside the `plotly` package, served from
this app (/stats/plotly.min.js): no network access, no CDN. Every chart sits beside its data
table and a CSV download of exactly that table.
"""

from __future__ import annotations

from typing import Any

from ..core import regions
from ..core import stats as st

RED = "#b3261e"
PROVINCE_COLOURS = {"BJ": "#c0504d", "TJ": "#4f81bd", "HE": "#9bbb59", "OTHER": "#7f7f7f"}
FONT = {"family": "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif", "size": 12}


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title, "font": {"size": 14}}, "font": FONT, "margin": {"l": 60, "r": 20, "t": 40, "b": 60},
            "height": 320, "paper_bgcolor": "#fff", "plot_bgcolor": "#fff"} | extra


def bar(buckets: list[st.Bucket], title: str, horizontal: bool = False, colour: str = RED) -> dict[str, Any]:
    labels = [b.label for b in buckets]
    values = [st.yuan_to_yi(b.amount_yuan) for b in buckets]
    hover = [f"{b.label}<br>{b.count:,} 项 · {st.fmt_yi(b.amount_yuan)} 亿元" for b in buckets]
    if horizontal:
        trace = {"type": "bar", "orientation": "h", "y": labels[::-1], "x": values[::-1], "hovertext": hover[::-1], "hoverinfo": "text",
                 "marker": {"color": colour}}
        return {"data": [trace], "layout": _layout(title, height=max(260, 28 * len(buckets) + 80),
                                                  margin={"l": 200, "r": 20, "t": 40, "b": 40}, xaxis={"title": {"text": "亿元"}})}
    trace = {"type": "bar", "x": labels, "y": values, "hovertext": hover, "hoverinfo": "text", "marker": {"color": colour}}
    return {"data": [trace], "layout": _layout(title, yaxis={"title": {"text": "亿元"}})}


def sankey(flows: list[st.Bucket], title: str) -> dict[str, Any]:
    """Seller province (left) → buyer province (right), link width = turnover."""
    provs = list(regions.PROVINCES)
    labels = [f"{st.province_label(p)}（卖方）" for p in provs] + [f"{st.province_label(p)}（买方）" for p in provs]
    colours = [PROVINCE_COLOURS[p] for p in provs] * 2
    src, dst, val, text, link_col = [], [], [], [], []
    for b in flows:
        a, z = b.key.split(">")
        src.append(provs.index(a))
        dst.append(len(provs) + provs.index(z))
        val.append(st.yuan_to_yi(b.amount_yuan))
        text.append(f"{b.label}：{b.count:,} 项，{st.fmt_yi(b.amount_yuan)} 亿元")
        c = PROVINCE_COLOURS[a].lstrip("#")
        link_col.append(f"rgba({int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},0.35)")
    trace = {"type": "sankey", "arrangement": "fixed", "valueformat": ".2f", "valuesuffix": " 亿元",
             "node": {"label": labels, "color": colours, "pad": 18, "thickness": 16},
             "link": {"source": src, "target": dst, "value": val, "customdata": text, "color": link_col,
                      "hovertemplate": "%{customdata}<extra></extra>"}}
    return {"data": [trace], "layout": _layout(title, height=380)}


def funnel(stages: list[st.FunnelStage], title: str) -> dict[str, Any]:
    known = [s for s in stages if s.count is not None]
    trace = {"type": "funnel", "y": [s.label for s in known], "x": [s.count for s in known], "textinfo": "value+percent previous",
             "marker": {"color": ["#8b1a1a", "#b3261e", "#c0504d", "#e08a3c", "#9bbb59"][: len(known)]}}
    return {"data": [trace], "layout": _layout(title, margin={"l": 160, "r": 20, "t": 40, "b": 30})}


def quarters(f: st.Figures, title: str) -> dict[str, Any]:
    return bar(f.by_quarter, title)


def dashboard_charts(f: st.Figures, public: bool = False) -> dict[str, dict[str, Any]]:
    """table name → chart spec. The names are those of services.stats.tables()."""
    charts = {
        "by_quarter": bar(f.by_quarter, "按季度成交额"),
        "flows": sankey(f.flows, "跨地区流向：卖方所在地 → 买方所在地"),
        "by_park": bar(f.by_park[:12], "成交额前列的园区/区县", horizontal=True, colour="#4f81bd"),
        "by_type": bar(f.by_type, "按合同类型", colour="#e08a3c"),
        "by_industry": bar(f.by_industry[:10], "按行业门类（前十）", horizontal=True, colour="#8064a2"),
        "by_buyer_province": bar(f.by_buyer_province, "技术吸纳地（买方）", colour="#4f81bd"),
        "by_seller_province": bar(f.by_seller_province, "技术输出地（卖方）"),
        "funnel": funnel(f.funnel, "对接转化漏斗"),
    }
    if len(f.by_year) > 1:
        charts["by_year"] = bar(f.by_year, "按年度成交额")
    if public:
        for k in ("funnel", "by_seller_province"):
            charts.pop(k, None)
    return charts
