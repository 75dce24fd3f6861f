"""Check the PyTorch peer against the golden step files in tests/golden.

For each file: parse the safetensors container (json + numpy), build the model from the
metadata `config`, set every parameter listed in metadata `weights` from the closed form of
golden_init.py, run one training-mode step (forward masked by the true label, margin +
0.392 x MSE, backward, no update) and compare with the stored expected values.

Prints PASS/FAIL per quantity and exits 1 if anything fails.

    /usr/bin/python3 bench/peer/check_golden.py [--dtype float64|float32] [files...]

The expected values were computed from the float64 closed-form input (values + 0.5, not
rounded to float32; the stored float32 `input` is its rounding), so that is what is fed here:
with the float32 input the float64 results differ by up to ~1e-7 relative.

Tolerances: float64 (default) uses 1e-9 relative for lengths, losses, recon and gradient
norms, and 1e-9 x the parameter's gradient norm for each sampled gradient entry; float32
uses the README's engine tolerances (1e-4 relative, 1e-3 x gradient norm).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import build  # noqa: E402

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")
sys.path.insert(0, GOLDEN_DIR)
from golden_init import values  # noqa: E402

DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32}
TOLERANCES = {"float64": (1e-9, 1e-9), "float32": (1e-4, 1e-3)}  # (relative, x grad norm)


def read_safetensors(path):
    """Returns ({name: ndarray}, metadata dict) from a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    meta = header.pop("__metadata__", {})
    body = raw[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(body[start:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"]).copy()
    return tensors, meta


class Report:
    """Collects PASS/FAIL lines."""

    def __init__(self):
        self.failed = 0

    def line(self, ok, what, detail):
        self.failed += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'}  {what:<48} {detail}")

    def rel(self, what, got, want, rtol):
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        if got.shape != want.shape:
            self.line(False, what, f"shape {got.shape} != {want.shape}")
            return
        err = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-30))
        self.line(err <= rtol, what, f"max rel err {err:.3e} (tol {rtol:.0e})")


def load_weights(model, weights, dtype):
    """Sets each listed parameter from the closed form; every model parameter must be listed."""
    params = dict(model.named_parameters())
    listed = {w["name"] for w in weights}
    missing, extra = sorted(set(params) - listed), sorted(listed - set(params))
    if missing or extra:
        raise SystemExit(f"parameter names differ: model-only {missing}, file-only {extra}")
    with torch.no_grad():
        for w in weights:
            p = params[w["name"]]
            if list(p.shape) != list(w["shape"]):
                raise SystemExit(f"{w['name']}: model shape {list(p.shape)} != file {w['shape']}")
            v = values(w["k"], p.numel(), w["amplitude"]).reshape(p.shape)
            p.copy_(torch.from_numpy(v).to(dtype))


def check_file(path, dtype_name, report):
    """One golden file: build, load, step, compare."""
    rtol, gtol = TOLERANCES[dtype_name]
    dtype = getattr(torch, dtype_name)
    tensors, meta = read_safetensors(path)
    config, weights = json.loads(meta["config"]), json.loads(meta["weights"])
    tag = os.path.basename(path).split(".")[0]
    print(f"== {tag}: {json.dumps(config['model'])}  ({dtype_name})")

    x_np = tensors["input"]  # (B, C, H, W), float32
    b, c, h, w = x_np.shape
    closed = (values(1000, x_np.size, 0.5) + 0.5).reshape(x_np.shape)  # (B, C, H, W), float64
    report.line(np.array_equal(closed.astype(np.float32), x_np),
                f"{tag} input == float32(closed form k=1000)", "")

    model = build(config, in_shape=(c, h, w)).to(dtype)
    load_weights(model, weights, dtype)
    x = torch.from_numpy(closed).to(dtype)
    labels = torch.from_numpy(tensors["labels"]).long()

    out = model(x, labels)
    out.loss.backward()

    report.rel(f"{tag} loss", out.loss.item(), tensors["expected.loss"][0], rtol)
    report.rel(f"{tag} loss_margin", out.loss_margin.item(), tensors["expected.loss_margin"][0], rtol)
    report.rel(f"{tag} loss_recon", out.loss_recon.item(), tensors["expected.loss_recon"][0], rtol)
    report.rel(f"{tag} lengths", out.lengths.detach().numpy(), tensors["expected.lengths"], rtol)
    recon_err = np.max(np.abs(out.recon.detach().numpy() - tensors["expected.recon"]))
    report.line(recon_err <= rtol, f"{tag} recon", f"max abs err {recon_err:.3e} (tol {rtol:.0e})")

    for name, p in model.named_parameters():
        g = p.grad.detach().to(torch.float64).numpy().reshape(-1)
        norm_want = tensors[f"grad_norm.{name}"][0]
        report.rel(f"{tag} grad_norm.{name}", np.linalg.norm(g), norm_want, rtol)
        idx = tensors[f"grad_index.{name}"].reshape(-1).astype(np.int64)
        want = tensors[f"grad_sample.{name}"].reshape(-1)
        err = np.max(np.abs(g[idx] - want)) / max(norm_want, 1e-30)
        report.line(err <= gtol, f"{tag} grad_sample.{name}",
                    f"max err / grad norm {err:.3e} (tol {gtol:.0e}, {idx.size} entries)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", default=[os.path.join(GOLDEN_DIR, f) for f in
                                                 ("mlcn_fmnist.safetensors", "capsnet_fmnist.safetensors")])
    ap.add_argument("--dtype", choices=sorted(TOLERANCES), default="float64")
    args = ap.parse_args()
    torch.set_grad_enabled(True)
    report = Report()
    for path in args.files:
        check_file(path, args.dtype, report)
    print(f"{'ALL PASS' if report.failed == 0 else f'{report.failed} FAILED'}")
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
