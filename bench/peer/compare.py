"""Runs the engine's step benchmark and the PyTorch peer back to back, model by model, on the
same device (and, on the CPU, the same thread count), and prints ours/PyTorch ratios (below
1.0: the engine is faster). On a GPU the peer also runs with --compile (torch.compile when the
installed torch has it; the ratio column then uses the faster of eager and compiled).
--variants runs the engine in several runtime modes (eager, grouped, graphs, grouped+graphs;
bench/step.cpp), one row each against the same peer time.

    /usr/bin/python3 bench/peer/compare.py [--device cpu|cuda] --threads 2 [--iters 5]
        [--warmup 2] [--models capsnet,mlcn-2l-w4d1] [--engine build/bench/step] [--variants eager,graphs]

Each model is timed by both in turn (engine, then peer) so machine load affects both alike;
the 1-minute load average is printed beside each row, with the engine's GFLOP/s (the step's
FLOPs as bench/step counts them), the machine's float32 GEMM rate measured at the start
(the peer's BLAS, 4096^3 on --threads), the peak resident memory of each side's steps and the
PyTorch form that was fastest (step_bench.py --form best: per-lane, grouped, grouped-cl).

--contention repeats every model with a niced busy loop of --threads spinning processes
sharing the cores (what a build job or another user does) and prints each side's time under
contention over its idle time (the slowdown), beside the idle ratio. Every model runs in its own processes
with its own time limit (--limit seconds); a model that fails or times out is reported and the
others still run. --tf32 on|off sets TF32 for both sides alike (the peer's cuDNN and matmuls,
the engine's runtime.allow_tf32): PyTorch's own default (TF32 convolutions) is not compared
against the engine's float32. torch.compile compiles during the warm-up steps, before timing.

On the CPU the peer runs with an optimised BLAS (--blas openblas, the default): Debian's torch
calls whatever libblas.so.3 resolves to, which on a machine with only libblas3 is the reference
BLAS (~30x slower). The peer's process alone gets OpenBLAS's directory first on its
LD_LIBRARY_PATH (Debian libopenblas0-pthread; nothing system-wide changes) with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so OpenBLAS picks its best kernel for the
processor, and OPENBLAS_NUM_THREADS = --threads. Where the processor hides its model (a VM's
"Intel Xeon Processor"), OpenBLAS 0.3.21 falls back to its Prescott (SSE3) kernel, about 5x
slower than its AVX-512 one here; so by default (--openblas-core best) the kernel is chosen from
the CPU's flags (SkylakeX with AVX-512 F/BW/VL/DQ/CD, else Haswell with AVX2+FMA, else OpenBLAS's
own choice), and the peer checks that kernel's float32 GEMM against float64 before timing
(step_bench.py exits on a wrong result). The BLAS and kernel it ran are printed and kept in
every row. --blas system times the peer with the system's libblas.so.3 as it is.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = ["capsnet", "mlcn-2l-w4d1", "mlcn-8l-w4d1", "mlcn-4l-w2d4"]


OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def best_openblas_core():
    """The fastest OpenBLAS kernel the CPU's flags allow, or None (OpenBLAS decides)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return None
    if all(k in flags for k in ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd")):
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


def peer_env(blas, threads, core):
    """The peer's environment: OpenBLAS first on the loader path (--blas openblas), or as is."""
    env = dict(os.environ)
    if blas == "openblas":
        if not os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3")):
            sys.exit(f"compare: no OpenBLAS at {OPENBLAS_DIR}/libblas.so.3: apt-get install libopenblas0-pthread "
                     "(or --blas system to time the peer with the system's libblas.so.3)")
        env["LD_LIBRARY_PATH"] = OPENBLAS_DIR + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        chosen = best_openblas_core() if core == "best" else None if core == "auto" else core
        if chosen:
            env["OPENBLAS_CORETYPE"] = chosen
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_json_all(cmd, limit, env=None):
    """The JSON lines of `cmd`, or None when it fails or runs past `limit` seconds."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, env=env)
    except subprocess.TimeoutExpired:
        print(f"compare: timed out after {limit} s: {' '.join(cmd)}", file=sys.stderr)
        return None
    if p.returncode != 0:
        print(f"compare: exit {p.returncode}: {' '.join(cmd)}\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    sys.stderr.write(p.stderr[-500:])
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")] or None


def run_json(cmd, limit, env=None):
    rows = run_json_all(cmd, limit, env)
    return rows[0] if rows else None


def start_spin(n):
    """n niced (19) busy-loop processes: the contention of --contention."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.nice(19))
            for _ in range(n)]


def stop_spin(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--engine", default=os.path.join(ROOT, "build", "bench", "step"))
    ap.add_argument("--variants", default="eager")
    ap.add_argument("--tf32", choices=("on", "off"), default="off")
    ap.add_argument("--limit", type=int, default=300, help="seconds allowed to each model's run on each side")
    ap.add_argument("--blas", choices=("openblas", "system"), default="openblas",
                    help="the peer's BLAS on the CPU (see above); ignored on a GPU")
    ap.add_argument("--openblas-core", default="best",
                    help="OpenBLAS kernel: best (from the CPU flags), auto (OpenBLAS's detection) or a name")
    ap.add_argument("--peer-form", choices=("auto", "best", "per-lane", "grouped", "grouped-cl"), default="auto",
                    help="the peer's form (step_bench.py --form); auto: best on the CPU, per-lane on a GPU, where "
                         "the device check's time is short and torch.compile would compile every form")
    ap.add_argument("--contention", action="store_true",
                    help="also time every model with --threads niced busy loops on the cores (see above)")
    a = ap.parse_args()
    env = peer_env(a.blas if a.device == "cpu" else "system", a.threads, a.openblas_core)
    if a.warmup < 1:
        ap.error("--warmup must be >= 1 (torch.compile compiles during the warm-up)")
    common = ["--device", a.device, "--threads", str(a.threads), "--iters", str(a.iters), "--warmup", str(a.warmup)]
    peer_py = [sys.executable, os.path.join(HERE, "step_bench.py")]
    sgemm = run_json(peer_py + ["--sgemm", "--threads", str(a.threads)], a.limit, env) if a.device == "cpu" else None
    sgemm_rate = sgemm["sgemm_gflop_per_s"] if sgemm else float("nan")
    print(f"machine float32 GEMM (peer BLAS, 4096^3, {a.threads} threads): {sgemm_rate:.1f} GFLOP/s")
    print(f"{'model':<14} {'variant':<15} {'ours ms':>9} {'torch ms':>9} {'ratio':>7} {'ours GF/s':>9} "
          f"{'% GEMM':>7} {'ours MB':>8} {'torch MB':>8} {'load1':>6}  torch form" +
          ("   contention: ours ms, torch ms, ours slowdown, torch slowdown, ratio" if a.contention else ""))

    def measure(m):
        engine_tf32 = ["--tf32", a.tf32] if a.device == "cuda" else []
        variants = run_json_all([a.engine, "--json", "--models", m, "--variants", a.variants] + common + engine_tf32,
                                a.limit)
        form = a.peer_form if a.peer_form != "auto" else ("best" if a.device == "cpu" else "per-lane")
        peer_cmd = peer_py + ["--json", "--models", m, "--tf32", a.tf32, "--form", form]
        peer = run_json(peer_cmd + common, a.limit, env)
        if a.device == "cuda":
            compiled = run_json(peer_cmd + ["--compile"] + common, a.limit, env)
            if compiled and compiled.get("compile") not in (None, "unavailable") and (
                    peer is None or compiled["ms_per_step"] < peer["ms_per_step"]):
                peer = compiled
        return variants, peer

    rows = []
    for m in a.models.split(","):
        variants, peer = measure(m)
        busy = (None, None)
        if a.contention and variants and peer:
            spin = start_spin(a.threads)
            try:
                busy = measure(m)
            finally:
                stop_spin(spin)
        if not variants or not peer:
            print(f"{m:<14} FAILED ({'engine' if not variants else 'peer'}; see stderr)", flush=True)
            rows.append({"model": m, "device": a.device, "failed": "engine" if not variants else "peer"})
            continue
        load = os.getloadavg()[0]
        for ours in variants:
            ratio = ours["ms_per_step"] / peer["ms_per_step"]
            gf = ours.get("gflop_per_s", float("nan"))
            row = {"model": m, "variant": ours["variant"], "device": a.device,
                   "peer_compile": peer.get("compile", "off"), "ours_ms": ours["ms_per_step"],
                   "torch_ms": peer["ms_per_step"], "ratio": ratio, "load1": load, "threads": a.threads,
                   "tf32": a.tf32, "peer_blas": peer.get("blas", "unknown"), "peer_form": peer.get("form"),
                   "peer_forms": peer.get("forms"), "ours_gflop_per_s": gf, "sgemm_gflop_per_s": sgemm_rate,
                   "ours_workers": ours.get("workers"), "ours_peak_rss_mb": ours.get("peak_rss_mb"),
                   "torch_peak_rss_mb": peer.get("peak_rss_mb")}
            line = (f"{m:<14} {ours['variant']:<15} {ours['ms_per_step']:>9.2f} {peer['ms_per_step']:>9.2f} {ratio:>7.2f} "
                    f"{gf:>9.1f} {100 * gf / sgemm_rate:>6.0f}% {ours.get('peak_rss_mb', float('nan')):>8.0f} "
                    f"{peer.get('peak_rss_mb', float('nan')):>8.0f} {load:>6.2f}  {peer.get('form', '')}")
            busy_ours = next((v for v in (busy[0] or []) if v["variant"] == ours["variant"]), None)
            if busy_ours and busy[1]:
                so, st = busy_ours["ms_per_step"] / ours["ms_per_step"], busy[1]["ms_per_step"] / peer["ms_per_step"]
                row.update({"contention_ours_ms": busy_ours["ms_per_step"], "contention_torch_ms": busy[1]["ms_per_step"],
                            "ours_slowdown": so, "torch_slowdown": st})
                line += (f"   {busy_ours['ms_per_step']:.1f}, {busy[1]['ms_per_step']:.1f}, {so:.2f}x, {st:.2f}x, "
                         f"{busy_ours['ms_per_step'] / busy[1]['ms_per_step']:.2f}")
            elif a.contention:
                line += "   contention run FAILED (see stderr)"
            rows.append(row)
            print(line, flush=True)
    blas = sorted({r["peer_blas"] for r in rows if "peer_blas" in r})
    print(f"peer BLAS: {'; '.join(blas) or 'none ran'}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
