#!/usr/bin/env python3
"""What the Python binding costs: frames per second through `Symbolicator.symbolicate_v5`
from Python against the same request through the same core call in Rust
(`bench-v5`, a binary of benches/), in one run, on the same symbols.

    benches/run.sh python [--seconds 3] [--rounds 3]
    benches/python/bench_binding.py [--seconds 3] [--rounds 3]   # with tecken_core importable

`benches/run.sh python` builds `bench-v5` and passes its path in BENCH_V5; run directly,
the script builds it with cargo.

Two workloads, both from the golden fixtures (warm: modules open, as in a server):
  crash    every golden request's frames in one job, all 13 modules (~2,000 frames: a
           crash report's size)
  small    the first 10 frames of one module (where per-call costs weigh most)

Rounds alternate Rust and Python; the best round of each counts (the machine is shared).
Prints a table and the ratio; the target is an overhead under 10% on `crash`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tecken_core

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = ROOT / "fixtures" / "tecken"


def sym_file_name(debug_file: str) -> str:
    return debug_file[:-4] + ".sym" if debug_file.endswith(".pdb") else debug_file + ".sym"


def workloads(symbols: Path) -> dict[str, bytes]:
    """Lays the golden fixtures out under `symbols`; returns the request bodies."""
    memory_map: list[list[str]] = []
    stack: list[list[int]] = []
    for path in sorted((FIXTURES / "golden").glob("*.v5.json")):
        case = json.loads(path.read_text())
        data = (FIXTURES / case["sym_fixture"]).read_bytes()
        for job in case["request"]["jobs"]:
            base = len(memory_map)
            for debug_file, debug_id in job["memoryMap"]:
                d = symbols / debug_file / debug_id
                d.mkdir(parents=True, exist_ok=True)
                (d / sym_file_name(debug_file)).write_bytes(data)
                memory_map.append([debug_file, debug_id])
            for s in job["stacks"]:
                stack.extend([i + base if i >= 0 else i, off] for i, off in s)
    crash = {"stacks": [stack], "memoryMap": memory_map}
    small = {"stacks": [[f for f in stack if f[0] == 0][:10]], "memoryMap": memory_map[:1]}
    return {"crash": json.dumps(crash).encode(), "small": json.dumps(small).encode()}


def frames_of(response: bytes) -> int:
    return sum(len(s) for job in json.loads(response)["results"] for s in job["stacks"])


def python_round(sym: tecken_core.Symbolicator, body: bytes, seconds: float) -> float:
    frames = frames_of(sym.symbolicate_v5(body))
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        sym.symbolicate_v5(body)
        calls += 1
    return calls * frames / (time.perf_counter() - start)


def rust_round(exe: Path, symbols: Path, request: Path, seconds: float) -> float:
    out = subprocess.run([str(exe), str(symbols), str(request), str(seconds)], capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["frames_per_sec"])


def build_rust() -> Path:
    if os.environ.get("BENCH_V5"):
        return Path(os.environ["BENCH_V5"])
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "-p", "tecken-benches", "--bin", "bench-v5"],
        cwd=ROOT,
        check=True,
    )
    meta = json.loads(
        subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, capture_output=True, check=True).stdout
    )
    return Path(meta["target_directory"]) / "release" / "bench-v5"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of one round (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per side and workload (default 3)")
    args = ap.parse_args()
    exe = build_rust()
    with tempfile.TemporaryDirectory() as tmp:
        symbols = Path(tmp) / "symbols"
        bodies = workloads(symbols)
        sym = tecken_core.Symbolicator(symbols)
        print(f"tecken_core {tecken_core.__version__}, Python {sys.version.split()[0]}, "
              f"{args.rounds} rounds of {args.seconds:g} s, best of each\n")
        print(f"{'workload':<8} {'frames/call':>11} {'rust frames/s':>14} {'python frames/s':>16} {'overhead':>9}")
        worst = 0.0
        for name, body in bodies.items():
            request = Path(tmp) / f"{name}.json"
            request.write_bytes(body)
            rust, python = 0.0, 0.0
            for _ in range(args.rounds):
                rust = max(rust, rust_round(exe, symbols, request, args.seconds))
                python = max(python, python_round(sym, body, args.seconds))
            overhead = rust / python - 1
            if name == "crash":
                worst = overhead
            print(f"{name:<8} {frames_of(sym.symbolicate_v5(body)):>11} {rust:>14,.0f} {python:>16,.0f} {overhead:>8.1%}")
        print(f"\nbinding overhead on a crash-sized request: {worst:.1%} (target < 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
