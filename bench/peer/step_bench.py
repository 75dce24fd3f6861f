"""Times one full training step of the PyTorch peer: forward + backward + Adam (lr 1e-3).

Batch 100 of random 28x28x1 images and labels (fixed seed), float32. Models:
  capsnet        CapsNet (spec section 2)
  mlcn-2l-w4d1   MLCN, 2 lanes mlcn1 w4 d1
  mlcn-8l-w4d1   MLCN, 8 lanes mlcn1 w4 d1
  mlcn-4l-w2d4   MLCN, 4 lanes mlcn1 w2 d4 (the NAS "1x" reference model)
and, only when named in --models, the mlcn2 lane type of the paper's Table 1:
  mlcn2-2l-w4    MLCN, 2 lanes mlcn2 w4
  mlcn2-8l-w4    MLCN, 8 lanes mlcn2 w4

Reports the median, p10 and p90 of the timed steps, images/s from the median, and the
1-minute load average after the timed steps (load1: on a shared machine a value well above
the thread count means the timing was disturbed).

    /usr/bin/python3 bench/peer/step_bench.py --threads 2 --warmup 2 --iters 5 [--json]
        [--device cpu|cuda] [--compile] [--models capsnet,mlcn-8l-w4d1]

With --json, stdout holds one JSON object per model and the table goes to stderr.
--compile uses torch.compile when the installed torch has it; torch 1.13 does not, so the
run is eager and every result says "compile": "unavailable".

--form chooses how an MLCN whose lanes are all mlcn1 of one width and depth is written:
per-lane (models.MLCN, one module per lane), grouped (grouped.GroupedMLCN: one conv per stage
for all lanes, the same function), grouped-cl (grouped with channels-last tensors, oneDNN's
preferred layout) or best (default: time each and report the fastest, so the engine is compared
with the strongest PyTorch form; the row's "form" says which, "forms" lists every time).
Each result also carries the peak resident memory of its model's steps (peak_rss_mb: VmHWM,
reset through /proc/self/clear_refs before the model is built).
"""
import argparse
import ctypes
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MLCN, CapsNet  # noqa: E402
from grouped import GroupedMLCN, groupable  # noqa: E402

BATCH = 100
IN_SHAPE = (1, 28, 28)
LANES = {
    "capsnet": None,
    "mlcn-2l-w4d1": [("mlcn1", 4, 1)] * 2,
    "mlcn-8l-w4d1": [("mlcn1", 4, 1)] * 8,
    "mlcn-4l-w2d4": [("mlcn1", 2, 4)] * 4,
    "mlcn2-2l-w4": [("mlcn2", 4, 1)] * 2,
    "mlcn2-8l-w4": [("mlcn2", 4, 1)] * 8,
}
MODELS = list(LANES)
FORMS = ("per-lane", "grouped", "grouped-cl")


def build_model(name, form):
    """The model `name` in `form` (per-lane for CapsNet and lanes that cannot be grouped)."""
    lanes = LANES[name]
    if lanes is None:
        return CapsNet(IN_SHAPE)
    if form != "per-lane" and groupable(lanes):
        return GroupedMLCN(lanes, IN_SHAPE)
    return MLCN(lanes, IN_SHAPE)


def forms_of(name, wanted):
    """The forms to time for model `name` under --form `wanted`."""
    lanes = LANES[name]
    if lanes is None or not groupable(lanes):
        return ["per-lane"]
    return list(FORMS) if wanted == "best" else [wanted]


def reset_peak_rss():
    """Resets this process's VmHWM so the next model's peak is its own (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb():
    """VmHWM of this process in MB, or NaN where /proc does not say."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")
DEFAULT_MODELS = ["capsnet", "mlcn-2l-w4d1", "mlcn-8l-w4d1", "mlcn-4l-w2d4"]


def sync(device):
    """Waits for queued device work so wall-clock timing covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_model(name, device, args, compile_state, form="per-lane"):
    """Builds one model in `form` and returns its result dict (times in ms)."""
    torch.manual_seed(0)
    reset_peak_rss()
    model = build_model(name, form).to(device)
    cl = form == "grouped-cl"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    params = sum(p.numel() for p in model.parameters())
    step_fn = torch.compile(model) if compile_state == "on" else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(BATCH, *IN_SHAPE, device=device)  # (B, C, H, W)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 10, (BATCH,), device=device)  # (B,)

    def step():
        opt.zero_grad(set_to_none=True)
        step_fn(x, labels).loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    sync(device)
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    med = float(np.median(times))
    return {
        "model": name,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch": BATCH,
        "params": params,
        "warmup": args.warmup,
        "iters": args.iters,
        "ms_per_step": round(med, 3),
        "p10_ms": round(float(np.percentile(times, 10)), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "images_per_s": round(BATCH * 1e3 / med, 2),
        "compile": compile_state,
        "torch": torch.__version__,
        "load1": round(os.getloadavg()[0], 2),
        "form": form,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def print_table(results, out):
    """Human-readable summary of the results."""
    print(f"{'model':<14} {'device':<6} {'thr':>3} {'params':>10} {'ms/step':>10} "
          f"{'p10':>10} {'p90':>10} {'img/s':>9} {'rss MB':>8} {'load1':>6} form (ms of each)", file=out)
    for r in results:
        forms = ", ".join(f"{k} {v:.0f}" for k, v in r.get("forms", {}).items())
        print(f"{r['model']:<14} {r['device']:<6} {r['threads']:>3} {r['params']:>10,} "
              f"{r['ms_per_step']:>10.1f} {r['p10_ms']:>10.1f} {r['p90_ms']:>10.1f} "
              f"{r['images_per_s']:>9.1f} {r['peak_rss_mb']:>8.1f} {r['load1']:>6.2f} {r['form']} ({forms})", file=out)


def blas_in_use():
    """The BLAS/LAPACK libraries this process has loaded, with OpenBLAS's kernel (core) name
    and thread count when it is one of them (Debian's torch calls whatever libblas.so.3 resolves
    to: the reference BLAS is ~30x slower than OpenBLAS; bench/peer/compare.py points it at
    OpenBLAS)."""
    torch.ones(64, 64) @ torch.ones(64, 64)  # make sure the BLAS is loaded
    libs = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if any(k in name for k in ("blas", "mkl", "lapack")):
                    libs.add(os.path.realpath(path))
    except OSError:
        return "unknown"
    described = []
    for lib in sorted(libs):
        text = lib
        if "openblas" in lib:
            try:
                ob = ctypes.CDLL(lib)
                ob.openblas_get_corename.restype = ctypes.c_char_p
                text += f" [OpenBLAS core {ob.openblas_get_corename().decode()}, {ob.openblas_get_num_threads()} threads]"
            except (OSError, AttributeError):
                pass
        described.append(text)
    core = os.environ.get("OPENBLAS_CORETYPE", "auto")
    return (", ".join(described) or "torch's own") + f" (OPENBLAS_CORETYPE={core})"


def check_blas():
    """Exits when this process's float32 GEMM is wrong (an OpenBLAS kernel the processor does not
    really support computes garbage or crashes): a 256x256x256 product against float64."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(256, 256, generator=g)
    b = torch.randn(256, 256, generator=g)
    ref = a.double() @ b.double()
    err = float(((a @ b).double() - ref).abs().max() / ref.abs().max())
    if not err < 1e-5:
        sys.exit(f"step_bench: the BLAS's float32 GEMM is wrong (relative error {err:.3g}); "
                 "choose another OPENBLAS_CORETYPE")
    return err


def sgemm_rate(threads, n=4096, reps=3):
    """GFLOP/s of torch's float32 n^3 matrix product (the peer's BLAS) on `threads` threads."""
    if threads > 0:
        torch.set_num_threads(threads)
    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="intra- and inter-op threads (0: torch default)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model if available")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS),
                    help="comma-separated subset of " + ",".join(MODELS))
    ap.add_argument("--json", action="store_true", help="one JSON object per model on stdout")
    ap.add_argument("--sgemm", action="store_true",
                    help="only print the BLAS's float32 4096^3 GEMM rate on --threads as JSON, then exit")
    ap.add_argument("--form", choices=FORMS + ("best",), default="best",
                    help="how groupable MLCNs are written (see above); best times every form")
    ap.add_argument("--tf32", choices=("on", "off"), default="off",
                    help="TF32 for cuDNN convolutions and matmuls (PyTorch enables it for cuDNN by default; "
                         "compare like with like: off against the engine's float32, on against runtime.allow_tf32)")
    args = ap.parse_args()

    if args.sgemm:
        print(json.dumps({"sgemm_gflop_per_s": round(sgemm_rate(args.threads), 1), "threads": args.threads,
                          "blas": blas_in_use()}))
        return
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown or args.iters < 1 or args.warmup < 0:
        ap.error(f"unknown models {unknown}" if unknown else "need --iters >= 1 and --warmup >= 0")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("step_bench: --device cuda but torch.cuda.is_available() is False")
    compile_state = "off"
    if args.compile:
        compile_state = "on" if hasattr(torch, "compile") else "unavailable"
        if compile_state == "unavailable":
            print(f"step_bench: torch.compile unavailable in torch {torch.__version__}; running eager",
                  file=sys.stderr)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = args.tf32 == "on"
        torch.backends.cuda.matmul.allow_tf32 = args.tf32 == "on"
    blas = blas_in_use()
    if device.type == "cpu":
        blas += f", GEMM check: relative error {check_blas():.1e}"
    print(f"step_bench: torch {torch.__version__}, BLAS: {blas}, tf32 {args.tf32}", file=sys.stderr)

    results = []
    for name in names:
        tried = [time_model(name, device, args, compile_state, f) for f in forms_of(name, args.form)]
        r = min(tried, key=lambda t: t["ms_per_step"])
        r["forms"] = {t["form"]: t["ms_per_step"] for t in tried}
        r["blas"] = blas
        results.append(r)
        if args.json:
            print(json.dumps(r), flush=True)
    print_table(results, sys.stderr if args.json else sys.stdout)


if __name__ == "__main__":
    main()
