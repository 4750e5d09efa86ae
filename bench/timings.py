#!/usr/bin/env python3
"""Medians of `devenv up --timings --json` breakdowns, side by side.

Usage: timings.py LABEL=FILE [LABEL=FILE ...]
Each FILE holds the stdout of several `up --timings --json` runs (NDJSON); the `timings`
events are taken from it. Prints the median of each phase per label, then per label and
service the median duration and end (ms since start) of each step, and the critical path:
the service whose `ready` ends last.
"""
import json
import statistics
import sys


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event.get("event") == "timings":
                runs.append(event)
    return runs


def med(values):
    return int(statistics.median(values)) if values else 0


def main(args):
    groups = []
    for arg in args:
        label, _, path = arg.partition("=")
        groups.append((label, load(path)))
    phases = [p["phase"] for p in groups[0][1][0]["phases"]] if groups[0][1] else []
    width = max([len(p) for p in phases] + [len("total")])
    print(f"  {'phase (median ms)':<{width + 2}}" + "".join(f"{label:>16}" for label, _ in groups))
    for phase in phases + ["total"]:
        row = []
        for _, runs in groups:
            if phase == "total":
                row.append(med([r["total_ms"] for r in runs]))
            else:
                row.append(med([p["ms"] for r in runs for p in r["phases"] if p["phase"] == phase]))
        print(f"  {phase:<{width + 2}}" + "".join(f"{v:>16}" for v in row))
    for label, runs in groups:
        print(f"\n  {label}: per service, median duration (end, ms since start) of each step, in parallel")
        services = {}
        for r in runs:
            for s in r["services"]:
                steps = services.setdefault(s["service"], {})
                for span in s["spans"]:
                    steps.setdefault(span["step"], []).append((span["end_ms"] - span["start_ms"], span["end_ms"]))
        last = None
        for service, steps in services.items():
            parts = []
            for step, spans in steps.items():
                parts.append(f"{step} {med([d for d, _ in spans])} ({med([e for _, e in spans])})")
            ready_end = med([e for _, e in steps.get("ready", [])])
            if last is None or ready_end > last[1]:
                last = (service, ready_end)
            print(f"    {service:<12} " + "  ".join(parts))
        if last:
            print(f"    last ready: {last[0]} at {last[1]} ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
