"""Runs the engine's step benchmark and the PyTorch peer back to back, model by model, on the
same device (and, on the CPU, the same thread count), and prints ours/PyTorch ratios (below
1.0: the engine is faster). On a GPU the peer also runs with --compile (torch.compile when the
installed torch has it; the ratio column then uses the faster of eager and compiled).
--variants runs the engine in several runtime modes (eager, grouped, graphs, grouped+graphs;
bench/step.cpp), one row each against the same peer time.

    /usr/bin/python3 bench/peer/compare.py [--device cpu|cuda] --threads 2 [--iters 5]
        [--warmup 2] [--models capsnet,mlcn-2l-w4d1] [--engine build/bench/step] [--variants eager,graphs]

Each model is timed by both in turn (engine, then peer) so machine load affects both alike;
the 1-minute load average is printed beside each row.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = ["capsnet", "mlcn-2l-w4d1", "mlcn-8l-w4d1", "mlcn-4l-w2d4"]


def run_json_all(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def run_json(cmd):
    return run_json_all(cmd)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--engine", default=os.path.join(ROOT, "build", "bench", "step"))
    ap.add_argument("--variants", default="eager")
    a = ap.parse_args()
    common = ["--device", a.device, "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)]
    print(f"{'model':<14} {'variant':<15} {'ours ms':>9} {'torch ms':>9} {'ratio':>7} {'ours img/s':>11} "
          f"{'torch img/s':>12} {'load1':>6}")
    rows = []
    for m in a.models.split(","):
        variants = run_json_all([a.engine, "--json", "--models", m, "--variants", a.variants] + common)
        peer = run_json([sys.executable, os.path.join(HERE, "step_bench.py"), "--json", "--models", m] + common)
        if a.device == "cuda":
            compiled = run_json([sys.executable, os.path.join(HERE, "step_bench.py"), "--json", "--compile",
                                 "--models", m] + common)
            if compiled.get("compile") not in (None, "unavailable") and compiled["ms_per_step"] < peer["ms_per_step"]:
                peer = compiled
        load = os.getloadavg()[0]
        for ours in variants:
            ratio = ours["ms_per_step"] / peer["ms_per_step"]
            rows.append({"model": m, "variant": ours["variant"], "device": a.device,
                         "peer_compile": peer.get("compile", "off"), "ours_ms": ours["ms_per_step"],
                         "torch_ms": peer["ms_per_step"], "ratio": ratio, "load1": load, "threads": a.threads})
            print(f"{m:<14} {ours['variant']:<15} {ours['ms_per_step']:>9.2f} {peer['ms_per_step']:>9.2f} {ratio:>7.2f} "
                  f"{ours['images_per_s']:>11.1f} {peer['images_per_s']:>12.1f} {load:>6.2f}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
