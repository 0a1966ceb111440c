"""Results out: the table (terminal and Markdown), the JSON file and the PNG plots."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import REPO, Row


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) // 1024
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    ).stdout.strip()
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mib": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": commit,
        "load_average": os.getloadavg(),
    }


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) >= 100:
            text = f"{value:,.0f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        else:
            text = f"{value:.2f}"
    else:
        text = str(value)
    return text


def triple(stats: dict[str, Any] | None) -> str:
    if not stats or not stats.get("n"):
        return "—"
    if stats["min"] == stats["max"]:
        return fmt(stats["median"])
    return f"{fmt(stats['min'])} / {fmt(stats['median'])} / {fmt(stats['max'])}"


def cells(row: Row) -> list[str]:
    if row.extra.get("percentiles"):
        value = " / ".join(
            fmt(row.value[k]) if row.value[k] is not None else "lost"
            for k in ("min", "median", "max")
        )
        value += " (p50/p95/p99)"
    else:
        value = triple(row.value)
    baseline = f"{triple(row.baseline)} ({row.baseline_name})" if row.baseline else ""
    return [
        row.group,
        row.name,
        f"{value} {row.unit}".strip(),
        baseline,
        triple(row.ratio),
        row.goal,
        row.verdict,
        row.note,
    ]


HEADERS = [
    "",
    "benchmark",
    "value (min / median / max)",
    "baseline (same run)",
    "ratio",
    "goal",
    "verdict",
    "notes",
]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(row)) + " |")
    return "\n".join(lines)


def terminal_table(rows: list[Row]) -> str:
    out = []
    for row in rows:
        c = cells(row)
        line = f"{c[0]:9} {c[1][:70]:70} {c[2]:>34}"
        if c[4]:
            line += f"  ratio {c[4]}"
        if c[5]:
            line += f"  goal {c[5]}: {c[6]}"
        out.append(line)
        if c[3] or c[7]:
            out.append(" " * 10 + "  ".join(x for x in (c[3], c[7]) if x))
    return "\n".join(out)


def write_json(path: Path, info: dict[str, Any], rows: list[Row], data: dict[str, Any]) -> None:
    path.write_text(
        json.dumps(
            {"machine": info, "rows": [asdict(r) for r in rows], "raw": data},
            indent=1,
            default=str,
        )
    )


def plots(folder: Path, data: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    latency = (data.get("services") or {}).get("latency")
    if isinstance(latency, list) and latency:
        fig, ax = plt.subplots(figsize=(6, 4))
        rates = [r["rate"] for r in latency]
        ceiling = max([v for r in latency for v in r["delivered_only_ms"].values() if v] + [1.0])
        for q, style in (("50", "o-"), ("95", "s-"), ("99", "^-")):
            values = [r["delivery_ms"][q] for r in latency]
            shown = [v if v is not None else ceiling * 2 for v in values]
            ax.plot(rates, shown, style, label=f"p{q}")
            for x, v, s in zip(rates, values, shown, strict=True):
                if v is None:
                    ax.annotate("lost", (x, s), textcoords="offset points", xytext=(4, 4))
        only = [r["delivered_only_ms"]["99"] for r in latency]
        ax.plot(
            rates,
            [v if v is not None else float("nan") for v in only],
            "^:",
            color="grey",
            label="p99 of the delivered ones only",
        )
        ax.plot([500, 1000], [20, 50], "k*", markersize=10, label="goal p99")
        ax.set_yscale("log")
        ax.set_xlabel("send rate, open loop (msg/s)")
        ax.set_ylabel("send -> websocket delivery (ms, from intended send)")
        ax.set_title("Delivery latency by rate")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = folder / "latency-by-rate.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    operator = data.get("operator") or {}
    scale = operator.get("scale")
    create = operator.get("create")
    if scale or create:
        fig, ax = plt.subplots(figsize=(6, 4))
        if scale and scale.get("ready_seconds_sorted"):
            times = scale["ready_seconds_sorted"]
            ax.step(
                times,
                range(1, len(times) + 1),
                where="post",
                label=f"batch of {scale['platforms']}: platforms Ready",
            )
        if create:
            ready = [t for t in create["ready_seconds"] if t == t]
            ax.plot(ready, [1] * len(ready), "o", label="one platform: Ready")
            first = create.get("first_pass_seconds") or []
            ax.plot(first, [1] * len(first), "v", label="one platform: children before Job gates")
            ax.plot(
                create["operator_seconds"],
                [1] * len(create["operator_seconds"]),
                "x",
                label="one platform: all children exist",
            )
            ax.plot(
                create["baseline_seconds"],
                [1] * len(create["baseline_seconds"]),
                "+",
                markersize=10,
                label="kubectl apply of the same children",
            )
        ax.set_xlabel("seconds since kubectl apply")
        ax.set_ylabel("platforms")
        ax.set_title("Operator: create time vs platform count")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / "operator-create.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)

    throughput = (data.get("services") or {}).get("throughput")
    # One worker each, the kinds run beside all baselines (the 2-worker runs have one baseline).
    throughput = {k: v for k, v in (throughput or {}).items() if "bare-fastapi" in v}
    if throughput:
        fig, ax = plt.subplots(figsize=(7, 4))
        width = 0.2
        apps = ["service", "same-work", "bare-fastapi", "raw-asgi"]
        for i, app in enumerate(apps):
            medians, lows, highs = [], [], []
            for runs in throughput.values():
                name = next(iter(runs)) if app == "service" else app  # the service runs first
                rps = sorted(r["rps"] for r in runs[name])
                mid = statistics.median(rps)
                medians.append(mid)
                lows.append(mid - rps[0])
                highs.append(rps[-1] - mid)
            xs = [k + (i - 1.5) * width for k in range(len(throughput))]
            ax.bar(
                xs,
                medians,
                width,
                yerr=[lows, highs],
                capsize=3,
                label={"service": "our service", "same-work": "minimal app, same work"}.get(
                    app, app
                ),
            )
        ax.set_xticks(range(len(throughput)))
        ax.set_xticklabels(
            ["GET /users/me" if k == "read" else "POST /messages" for k in throughput]
        )
        ax.set_yscale("log")
        ax.set_ylabel("requests/s (median, min-max)")
        ax.set_title("Throughput against baselines (same run)")
        ax.legend()
        fig.tight_layout()
        path = folder / "throughput.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(path)
    return made
