"""Render a Grafana dashboard JSON as a PNG from a real Prometheus, without Grafana.

Grafana is not packaged by Debian and cannot be built here, so this draws the dashboard's own
panels (its gridPos layout, stat and timeseries panels, their PromQL, units and threshold
lines) with matplotlib from the answers of Prometheus's HTTP API. Variables: `$service` is
`.*`, `$__range` the window drawn. Prometheus must be on a loopback address.

    uv run python hack/stack/render_dashboard.py \
        --prometheus http://127.0.0.1:19090 --minutes 15 \
        --out charts/dashboards/messaging-platform.png
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DASHBOARD = Path(__file__).resolve().parents[2] / "charts/dashboards/messaging-platform.json"
GRID_COLUMNS = 24
# One grid unit of height in inches: Grafana's rows are 30 px.
ROW_INCHES = 0.42
UNIT_SCALE = {"s": (1000.0, "ms"), "percentunit": (100.0, "%"), "reqps": (1.0, "req/s")}


def loopback_only(url: str) -> str:
    host = urlparse(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"render_dashboard: {url} is not on a loopback address")
    return url.rstrip("/")


def expand(expr: str, minutes: int) -> str:
    return expr.replace("$service", ".*").replace("$__range", f"{minutes}m")


def legend(metric: dict[str, str], template: str | None) -> str:
    if not template:
        return ",".join(f"{k}={v}" for k, v in sorted(metric.items())) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), template)


def unit_of(panel: dict[str, Any]) -> tuple[float, str]:
    unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit", "")
    return UNIT_SCALE.get(unit, (1.0, ""))


def thresholds(panel: dict[str, Any]) -> list[float]:
    steps = (((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds") or {}).get(
        "steps"
    ) or []
    return [float(s["value"]) for s in steps if s.get("value") is not None]


class Prometheus:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=loopback_only(url), timeout=10)

    def _get(self, path: str, **params: Any) -> list[dict[str, Any]]:
        answer = self.http.get(path, params=params)
        body = answer.json()
        if answer.status_code != 200 or body.get("status") != "success":
            raise RuntimeError(f"{params.get('query')}: {body.get('error', answer.text)}")
        return list(body["data"]["result"])

    def instant(self, expr: str) -> list[dict[str, Any]]:
        return self._get("/api/v1/query", query=expr)

    def series(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        return self._get("/api/v1/query_range", query=expr, start=start, end=end, step=step)


def draw_stat(ax: Any, panel: dict[str, Any], prom: Prometheus, minutes: int) -> bool:
    scale, suffix = unit_of(panel)
    values = [
        float(r["value"][1])
        for t in panel.get("targets") or []
        for r in prom.instant(expand(t["expr"], minutes))
    ]
    finite = [v for v in values if v == v and abs(v) != float("inf")]
    text = f"{finite[0] * scale:.3g} {suffix}".strip() if finite else "no data"
    limits = thresholds(panel)
    bad = bool(finite and limits and finite[0] >= limits[0])
    ax.set_facecolor("#f2c6c6" if bad else "#cdebd0" if finite else "#eeeeee")
    ax.text(0.5, 0.45, text, ha="center", va="center", fontsize=18, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    return bool(finite)


def draw_timeseries(
    ax: Any, panel: dict[str, Any], prom: Prometheus, minutes: int, now: float
) -> bool:
    scale, suffix = unit_of(panel)
    start, step = now - minutes * 60, max(minutes * 60 / 120, 5)
    drawn = 0
    for target in panel.get("targets") or []:
        for result in prom.series(expand(target["expr"], minutes), start, now, step):
            xs = [(float(t) - now) / 60 for t, _ in result["values"]]
            ys = [float(v) * scale for _, v in result["values"]]
            ax.plot(xs, ys, label=legend(result["metric"], target.get("legendFormat")))
            drawn += 1
    for limit in thresholds(panel):
        ax.axhline(limit * scale, color="red", linestyle="--", linewidth=0.8)
    ax.set_xlabel("minutes ago" if minutes else "")
    if suffix:
        ax.set_ylabel(suffix)
    if drawn:
        ax.legend(fontsize=6, loc="upper left", ncol=2)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.tick_params(labelsize=7)
    return drawn > 0


def render(dashboard: dict[str, Any], prom: Prometheus, minutes: int, out: Path) -> int:
    """Draws every stat and timeseries panel; returns how many panels had data."""
    panels = [
        p for p in dashboard["panels"] if p.get("type") in {"row", "stat", "timeseries", "text"}
    ]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    fig = plt.figure(figsize=(16, height * ROW_INCHES))
    grid = fig.add_gridspec(height, GRID_COLUMNS, hspace=3.5, wspace=1.5)
    now, with_data = time.time(), 0
    for panel in panels:
        pos = panel["gridPos"]
        # A timeseries leaves its last grid row to its axis labels (Grafana draws them inside).
        rows = pos["h"] - 1 if panel["type"] == "timeseries" and pos["h"] > 2 else pos["h"]
        ax = fig.add_subplot(grid[pos["y"] : pos["y"] + rows, pos["x"] : pos["x"] + pos["w"]])
        if panel["type"] == "row":  # a section heading
            ax.axis("off")
            ax.text(0, 0, panel.get("title", ""), fontsize=11, weight="bold", va="bottom")
            continue
        ax.set_title(panel.get("title", ""), fontsize=9, loc="left")
        if panel["type"] == "stat":
            with_data += draw_stat(ax, panel, prom, minutes)
        elif panel["type"] == "timeseries":
            with_data += draw_timeseries(ax, panel, prom, minutes, now)
        else:
            ax.axis("off")
            content = (panel.get("options") or {}).get("content", "")
            ax.text(0, 0.5, content, fontsize=8, wrap=True, va="center")
    fig.suptitle(f"{dashboard.get('title', '')} (last {minutes} min)", fontsize=13, y=0.93)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return with_data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", default="http://127.0.0.1:19090")
    parser.add_argument("--dashboard", type=Path, default=DASHBOARD)
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--out", type=Path, default=DASHBOARD.with_suffix(".png"))
    args = parser.parse_args(argv)
    dashboard = json.loads(args.dashboard.read_text())
    try:
        with_data = render(dashboard, Prometheus(args.prometheus), args.minutes, args.out)
    except (httpx.HTTPError, RuntimeError) as error:
        print(f"render_dashboard: Prometheus at {args.prometheus}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({with_data} panels with data)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
