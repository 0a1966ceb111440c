"""`make bench` / `make bench-quick`: run the benchmarks, print the table, write JSON and plots.

    uv run python tests/bench/run.py [--quick] [--only services|consumers|operator] [--out DIR]
    uv run python tests/bench/run.py --publish DIR   # copy a run to published/ and the README

Every figure with a baseline is a ratio against that baseline measured in the same run,
interleaved, repeated; values are min / median / max over the repetitions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import REPO, Row, say, summary
from report import machine, markdown_table, plots, terminal_table, write_json

# Committed copy of the latest published run (the top level of the repo is fixed: no docs/).
DOCS = REPO / "tests" / "bench" / "published"
README = REPO / "README.md"


def run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) / (stamp + ("-quick" if args.quick else ""))
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    info["mode"] = "quick" if args.quick else "full"
    rows: list[Row] = []
    data: dict[str, Any] = {}
    failed = []
    started = time.monotonic()

    def part(name: str, bench: Any, run: Callable[[], None]) -> None:
        """One part of the bench: its failure is recorded, and the other parts still run."""
        try:
            run()
        except Exception as error:
            failed.append(f"{name}: {error!r}")
            traceback.print_exc()
        rows.extend(bench.rows)
        data[name] = bench.data

    if args.only in (None, "services"):
        from services_bench import ServicesBench

        (out / "services").mkdir(exist_ok=True)
        bench = ServicesBench(out / "services", args.quick)
        part("services", bench, bench.run)
    if args.only in (None, "consumers"):
        from consumer_cost import ConsumerBench

        (out / "consumers").mkdir(exist_ok=True)
        bench_consumers = ConsumerBench(out / "consumers", args.quick)
        part("consumers", bench_consumers, bench_consumers.run)
    if args.only in (None, "operator"):
        from operator_bench import OperatorBench

        (out / "operator").mkdir(exist_ok=True)
        bench_op = OperatorBench(out / "operator", args.quick)
        count, timeout = (3, 90) if args.quick else (100, 600)
        part("operator", bench_op, lambda: bench_op.run(scale_count=count, scale_timeout=timeout))
        if bench_op.data.get("other_operator_pids"):
            info["other_operators"] = bench_op.data["other_operator_pids"]
    info["seconds"] = round(time.monotonic() - started)
    info["load_average_end"] = __import__("os").getloadavg()
    info["failures"] = failed
    write_json(out / "results.json", info, rows, data)
    (out / "table.md").write_text(markdown_table(rows) + "\n")
    made = plots(out, data)
    latest = Path(args.out) / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out.name)
    print()
    print(
        f"Benchmarks ({info['mode']}), {info['date_utc']}, {info['cpu']}, {info['cores']} cores, "
        f"load {info['load_average'][0]:.1f} -> {info['load_average_end'][0]:.1f}"
    )
    print(terminal_table(rows))
    print(f"\nresults: {out}/results.json, table.md, " + ", ".join(p.name for p in made))
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failed else 0


def publish(folder: Path) -> int:
    """Copy one run's table, JSON and plots to tests/bench/published/ and put them in the README."""
    folder = folder.resolve()
    results = json.loads((folder / "results.json").read_text())
    DOCS.mkdir(parents=True, exist_ok=True)
    for path in DOCS.glob("*.png"):
        path.unlink()
    for path in folder.glob("*.png"):
        shutil.copy(path, DOCS / path.name)
    shutil.copy(folder / "results.json", DOCS / "results.json")
    shutil.copy(folder / "table.md", DOCS / "table.md")
    info = results["machine"]
    images = "\n".join(
        f"![{p.stem}](tests/bench/published/{p.name})" for p in sorted(DOCS.glob("*.png"))
    )
    others = info.get("other_operators")
    # Hand-written before/after measurements of the latest changes, kept beside the results.
    changes_file = DOCS / "changes.md"
    changes = changes_file.read_text().strip() if changes_file.exists() else ""
    section = SECTION.format(
        mode=info["mode"],
        date=info["date_utc"],
        cpu=info["cpu"],
        cores=info["cores"],
        memory=info["memory_mib"] / 1024,
        kernel=info["kernel"],
        commit=info["commit"],
        load=info["load_average"][0],
        load_end=info.get("load_average_end", [0])[0],
        seconds=info.get("seconds", 0),
        table=(folder / "table.md").read_text().strip(),
        images=images,
        changes=f"\n\n{changes}" if changes else "",
        others=(
            f"\n\nOther operator processes (pid {', '.join(map(str, others))}) ran during the "
            "run; the bench's platforms carry its own operator-instance label, which they ignore "
            "(see the steady row's count of their writes)."
            if others
            else ""
        ),
    )
    text = README.read_text()
    start = text.index("## Performance")
    after = text.find("\n## ", start + 3)
    tail = "\n" + text[after + 1 :] if after != -1 else ""
    README.write_text(text[:start] + section.rstrip() + "\n" + tail)
    say(f"published {folder.name} to tests/bench/published/ and the README's Performance section")
    return 0


SECTION = """## Performance

`make bench` ({mode} run shown) measured on {date}: {cpu}, {cores} cores, {memory:.0f} GiB,
Linux {kernel}, commit {commit}; load average {load:.1f} at the start and {load_end:.1f} at the
end (other engineers' test suites shared the machine), {seconds} s in all. Every part
(PostgreSQL, Redis, RabbitMQ, the control plane, the services and the load generators) ran on
those same cores, so absolute numbers are low and noisy: read the ratios, each against a
baseline measured in the same run, interleaved and repeated.{others}

{table}

{images}{changes}

How it was measured: operator benches against the local control plane (`make cluster-up`):
"create" is `kubectl apply` of `manifests/samples/minimal.yaml` until every child the
builders render exists, against `kubectl apply --server-side` of exactly those rendered
children in another namespace; "steady" counts the operator's writes in the audit log (by its
user agent) and `apiserver_request_total` write verbs before/after, with the operator running
(resync every 5 s) and stopped; "scale" applies the platforms at once and samples the
operator's RSS and CPU (`/proc`) after they are all Ready. Service benches run auth, users and
messages (and websocket) as real uvicorn processes on loopback against `make infra-up`;
throughput comes from `wrk` (C, one thread: it leaves more of the two cores to the servers than
a Python generator would, and the same client measures all three apps) against the bare
FastAPI app and the raw ASGI app of `tests/bench/baseline_apps.py`, which return the services'
own JSON from memory. Every app runs as one uvicorn worker with the same settings the services
use (`messaging_kit.cli`: uvloop and httptools), so a ratio compares our code, not the server.
Latency comes from `tests/bench/latency_gen.py`, a separate asyncio (uvloop) process sending
at a fixed open-loop rate and timing each delivery on the recipients' WebSockets from the
send's intended time (coordinated omission: a stall shows as latency, and a message never
delivered counts as slower than any, shown as "lost").
Consumer benches (`tests/bench/consumer_cost.py`) run every consumer of `message.created` but
websocket's (notifications' email and push, media's member lists, relay) in their real
processes, publish at 44/s with recipients online, then offline, and read each consumer
thread's CPU time, idle rate taken off; py-spy flame graphs of those processes during the
bursts are in `bench-results/<time>/consumers/`.

Reproduce: `make infra-up cluster-up`, then `make bench` (about 15 minutes) or
`make bench-quick` (a few minutes, fewer and shorter repetitions). Results go to
`bench-results/<time>/` (not committed): `results.json`, `table.md` and the plots;
`hack/bench.sh publish` copies the latest run here (tests/bench/published/) and into this section.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["services", "consumers", "operator"])
    parser.add_argument("--out", default=str(REPO / "bench-results"))
    parser.add_argument("--publish", metavar="DIR")
    args = parser.parse_args()
    if args.publish:
        return publish(Path(args.publish))
    return run(args)


if __name__ == "__main__":
    _ = summary
    sys.exit(main())
