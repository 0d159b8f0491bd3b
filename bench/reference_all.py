"""Every run of the side-by-side benchmark, one after the other (never in parallel: the
machine's two cores would be shared by the runs), then the tables for docs/benchmarks.md.

    .venv/bin/python bench/reference_all.py [--results FILE] [--sets 20,100,1000]
        [--families clb,nlb] [--table-only]

Runs: k8s-aws, cloud-provider-aws with --concurrent-service-syncs equal to our worker count
(4) and at its default (1), each at 20 nodes / 20 Services and 100 nodes / 100 Services;
then 1000 nodes: ours with 500 Services created (memory at scale), the reference's node
initialization alone (bounded by --init-timeout; how far it got is recorded). Every run
covers the load balancer families of --families (Classic, then Network with 2 ports; the
1000-node memory run stops after the first family's steady phase).
Results append to FILE (JSON lines, default .bench/reference.jsonl), so an interrupted
matrix keeps what it measured and `--table-only` renders it again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PHASES = ("node_init", "idle", "clb_create", "clb_steady", "node_excluded", "node_included",
          "clb_delete", "clb_create_throttled", "nlb_create", "nlb_steady", "nlb_node_excluded",
          "nlb_node_included", "nlb_delete", "nlb_create_throttled")
ALL_FAMILIES = ["clb", "nlb"]
CONTROLLERS = (("ours", 4), ("ref", 4), ("ref", 1))


def matrix(sets: list[str], families: str = ",".join(ALL_FAMILIES)) -> list[list[str]]:
    # Idle at 20 nodes lasts past the reference's node status update period (5 min).
    sizes = {"20": ("20", "20", "330"), "100": ("100", "100", "60")}
    runs = [["--controller", kind, "--syncs", str(syncs), "--nodes", nodes,
             "--services", services, "--idle", idle, "--timeout", "600",
             "--families", families]
            for key in sets if key in sizes
            for nodes, services, idle in [sizes[key]] for kind, syncs in CONTROLLERS
            # The reference deletes one Service at a time at --concurrent-service-syncs=1,
            # each waiting out the interfaces' linger: 100 Services would take 100+ minutes.
            if not (key == "100" and kind == "ref" and syncs == 1)]
    if "1000" in sets:
        # Ours: node init, then memory with 500 Services (the sandbox's Service CIDR, a /22,
        # holds them); the reference: node init, bounded.
        runs += [["--controller", "ours", "--nodes", "1000", "--services", "500", "--idle", "30",
                  "--steady", "30", "--stop-after-steady", "--families", families],
                 ["--controller", "ref", "--nodes", "1000", "--only-init",
                  "--init-timeout", "900"]]
    return runs


def run_all(results: Path, sets: list[str], families: str) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    for args in matrix(sets, families):
        print(f"[bench] reference.py {' '.join(args)}", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, str(HERE / "reference.py"), *args],
                              capture_output=True, text=True, check=False)
        sys.stderr.write(done.stderr[-3000:])
        if done.returncode == 0 and done.stdout.strip():
            with results.open("a") as out:
                out.write(done.stdout.strip().splitlines()[-1] + "\n")


def cell(phase: dict[str, Any] | None) -> str:
    if phase is None:
        return "-"
    text = f"{phase['calls']} / {phase['seconds']:g} s"
    if phase.get("retryable_errors"):
        text += f" ({phase['retryable_errors']} retried)"
    if phase.get("incomplete"):
        text += f" ({phase['incomplete']})"
    return text


def column(row: dict[str, Any]) -> str:
    """The controller, and the families its run covered when not all (older rows: Classic)."""
    families: list[str] = row.get("families", ["clb"])
    label: str = row["controller"]
    return label + ("" if families == ALL_FAMILIES else f" ({'+'.join(families)})")


def table(rows: list[dict[str, Any]]) -> str:
    """One table per size: a row per phase (calls / seconds), a column per controller."""
    sizes = sorted({(r["nodes"], r["services"]) for r in rows})
    out = []
    for nodes, services in sizes:
        group = [r for r in rows if (r["nodes"], r["services"]) == (nodes, services)]
        head = ["phase", *(column(r) for r in group)]
        lines = [f"{nodes} nodes, {services} Services (calls / seconds)", "",
                 "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for name in PHASES:
            if any(name in r["phases"] for r in group):
                cells = [cell(r["phases"].get(name)) for r in group]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("| RSS peak | " + " | ".join(f"{r['rss_peak_mb']:.0f} MB" for r in group)
                     + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def by_operation(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        for name, phase in row["phases"].items():
            ops = ", ".join(f"{op} {n}" for op, n in sorted(phase["by_operation"].items(),
                                                             key=lambda kv: -kv[1]))
            errors = ", ".join(f"{e} {n}" for e, n in sorted(phase["errors"].items()))
            # The phase's RSS peak: rows from 2026-12-08 on.
            peak = (f" (RSS peak {phase['rss_peak_mb']:.1f} MB)" if "rss_peak_mb" in phase
                    else "")
            lines.append(f"- {column(row)}, {row['nodes']} nodes, {name}: {ops or 'none'}{peak}"
                         + (f"; errors: {errors}" if errors else ""))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", type=Path, default=Path(".bench/reference.jsonl"))
    parser.add_argument("--sets", default="20,100,1000",
                        help="which runs: 20 (nodes/Services), 100, 1000 (nodes; 500 Services)")
    parser.add_argument("--families", default=",".join(ALL_FAMILIES),
                        help="load balancer families every run covers: clb, nlb (2 ports)")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    if not args.table_only:
        run_all(args.results, args.sets.split(","), args.families)
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    print(table(rows))
    print()
    print(by_operation(rows))


if __name__ == "__main__":
    main()
