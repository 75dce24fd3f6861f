#!/usr/bin/env python3
"""Weights both ways between the engine and the PyTorch peer, and `mlcn predict` checked.

usage: /usr/bin/python3 bench/peer/export_roundtrip.py --mlcn build/cli/mlcn [--work DIR]

1. `mlcn train` a small two-lane MLCN (mlcn1 + mlcn2) for one epoch on 200 Fashion-MNIST
   images, then `mlcn export` its weights.
2. Load them into bench/peer/models.py with load_state_dict(strict=True) (the loader of
   docs/checkpoint-format.md), and compare the capsule lengths the peer computes on 16 random
   images with `mlcn predict --images imgs.idx --format json`, and the reconstructions with
   `mlcn predict --recon` (PNG, 1/255 quantisation).
3. Change every weight in PyTorch, save the state dict as safetensors without metadata, and
   check that `mlcn predict --checkpoint W2 --config CONFIG` gives the peer's new lengths.
Prints PASS/FAIL lines; exit 1 on any failure. ctest runs it as peer_export_roundtrip when
/usr/bin/python3 can import torch (python3-torch).
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import build  # noqa: E402

DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32, "U8": np.uint8}


def load_safetensors(path):
    """The minimal loader of docs/checkpoint-format.md: ({name: torch.Tensor}, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = raw[8 + n :]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).copy())
    return out, meta


def save_safetensors(path, tensors):
    """A state dict as safetensors (F32, no metadata), as any PyTorch user would write it."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_png_gray(path):
    """Our own PNG files only: 8-bit gray, filter type 0 on every row."""
    raw = open(path, "rb").read()
    pos, w, h, z = 8, 0, 0, b""
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, data = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            z += data
        pos += 12 + n
    rows = np.frombuffer(zlib.decompress(z), np.uint8).reshape(h, w + 1)
    return rows[:, 1:]


class Report:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what, detail=""):
        self.failed += 0 if ok else 1
        print(f"{'PASS' if ok else 'FAIL'}  {what:<58} {detail}")


def mlcn(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL  mlcn {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mlcn", required=True)
    p.add_argument("--work", default=None)
    a = p.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="mlcn_export_")
    os.makedirs(work, exist_ok=True)
    rep = Report()
    cfg = {"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1}, {"type": "mlcn2", "width": 1, "depth": 1}]},
           "data": {"train_limit": 200, "test_limit": 100},
           "train": {"epochs": 1, "batch_size": 50}, "runtime": {"threads": 1}}
    cfg_path = os.path.join(work, "config.json")
    json.dump(cfg, open(cfg_path, "w"))
    run = os.path.join(work, "run")
    mlcn(a.mlcn, "train", "--config", cfg_path, "--out", run, "--overwrite")
    w1 = os.path.join(work, "w1.safetensors")
    mlcn(a.mlcn, "export", "--checkpoint", run, "--out", w1)

    tensors, meta = load_safetensors(w1)
    rep.check(not any(k.startswith("adam.") for k in tensors), "export holds no optimizer state", f"{len(tensors)} tensors")
    model = build(json.loads(meta["config"]))
    model.load_state_dict(tensors, strict=True)
    rep.check(True, "load_state_dict(strict=True) accepts the export")

    rng = np.random.default_rng(7)
    imgs = (rng.random((16, 28, 28)) * 255).astype(np.uint8)
    idx = os.path.join(work, "imgs.idx")
    with open(idx, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 16, 28, 28) + imgs.tobytes())
    x = torch.from_numpy(imgs.astype(np.float32) / 255.0).reshape(16, 1, 28, 28)

    def peer(m):
        with torch.no_grad():
            lengths = m(x, torch.zeros(16, dtype=torch.long)).lengths
            recon = m(x, lengths.argmax(1)).recon
        return lengths.numpy(), recon.numpy()

    def engine(*args):
        out = json.loads(mlcn(a.mlcn, "predict", "--images", idx, "--format", "json", *args))
        return np.array([e["lengths"] for e in out["predictions"]]), np.array([e["class"] for e in out["predictions"]])

    want, want_recon = peer(model)
    recon_dir = os.path.join(work, "recon")
    got, cls = engine("--checkpoint", w1, "--recon", recon_dir)
    err = np.max(np.abs(got - want))
    rep.check(err < 1e-4, "predict lengths == peer lengths (exported weights)", f"max abs err {err:.2e}")
    rep.check(np.array_equal(cls, want.argmax(1)), "predict classes == peer argmax")
    pngs = sorted(f for f in os.listdir(recon_dir) if f.endswith(".png"))
    rep.check(len(pngs) == 16, "predict --recon wrote one PNG per image", f"{len(pngs)} files")
    worst = 0
    for i, name in enumerate(pngs):
        img = read_png_gray(os.path.join(recon_dir, name)).astype(np.int32)
        worst = max(worst, int(np.max(np.abs(img[:, :28] - imgs[i]))))
        peer_rec = np.clip(np.round(want_recon[i].reshape(28, 28) * 255), 0, 255)
        worst = max(worst, int(np.max(np.abs(img[:, 28:] - peer_rec))))
    rep.check(worst <= 1, "recon PNGs: input | reconstruction == peer (1/255)", f"max diff {worst}")

    with torch.no_grad():
        for t in model.parameters():
            t.mul_(1.25).add_(0.01)
    w2 = os.path.join(work, "w2.safetensors")
    save_safetensors(w2, model.state_dict())
    want2, _ = peer(model)
    got2, _ = engine("--checkpoint", w2, "--config", cfg_path)
    err2 = np.max(np.abs(got2 - want2))
    rep.check(np.max(np.abs(want2 - want)) > 1e-3, "the changed weights change the lengths")
    rep.check(err2 < 1e-4, "predict lengths == peer lengths (PyTorch-written weights)", f"max abs err {err2:.2e}")
    print(f"{'FAILED' if rep.failed else 'OK'}: {rep.failed} failure(s)")
    sys.exit(1 if rep.failed else 0)


if __name__ == "__main__":
    main()
