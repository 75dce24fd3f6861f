#!/usr/bin/env python3
"""Training curves of mlcn runs as PNG files (Debian's python3-matplotlib, no other package).

usage: plot_runs.py [--out DIR] RUN_DIR [RUN_DIR ...]

Reads each run's metrics.csv (per epoch) and steps.csv (every train.log_every steps) and
writes, into DIR (default: the first run's plots/), one figure per quantity with every run
overlaid, labelled by its directory name:
  loss.png         total, margin and reconstruction loss per step (per epoch without steps.csv)
  accuracy.png     train, validation (when logged) and test accuracy per epoch
  lr.png           learning rate per epoch
  throughput.png   training images per second per step / epoch
`mlcn plot` and `mlcn train --plot` run this script; the paper figures reuse read_csv/plot_lines.
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    """Rows of a CSV file as dicts of floats (empty cells are None); [] when the file is absent."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out = {}
            for k, v in row.items():
                try:
                    out[k] = float(v) if v not in ("", None) else None
                except ValueError:
                    out[k] = v
            rows.append(out)
    return rows


def plot_lines(path, title, xlabel, ylabel, series, logy=False):
    """series: [(label, xs, ys, style)]; points whose y is None are left out. Returns True if drawn."""
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    drawn = False
    for label, xs, ys, style in series:
        pts = [(x, y) for x, y in zip(xs, ys) if y is not None and x is not None]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label, marker="o" if len(pts) < 30 else None,
                markersize=3)
        drawn = True
    if not drawn:
        plt.close(fig)
        return False
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def col(rows, key):
    return [r.get(key) for r in rows]


def main(argv):
    p = argparse.ArgumentParser(description="Draw training curves of mlcn run directories.")
    p.add_argument("--out", help="output directory (default: FIRST_RUN/plots)")
    p.add_argument("runs", nargs="+", help="run directories (each with metrics.csv)")
    a = p.parse_args(argv)
    out = a.out or os.path.join(a.runs[0], "plots")
    runs = []
    for d in a.runs:
        metrics = read_csv(os.path.join(d, "metrics.csv"))
        if not metrics:
            sys.exit(f"plot_runs.py: {d}: no metrics.csv rows (not a run directory, or no epoch finished yet)")
        name = os.path.basename(os.path.normpath(d))
        runs.append((name, metrics, read_csv(os.path.join(d, "steps.csv"))))
    os.makedirs(out, exist_ok=True)

    loss, acc, lr, ips = [], [], [], []
    for name, m, s in runs:
        e = col(m, "epoch")
        if s:
            x = col(s, "step")
            loss += [(f"{name} total", x, col(s, "loss"), "-"), (f"{name} margin", x, col(s, "margin_loss"), "--"),
                     (f"{name} recon", x, col(s, "recon_loss"), ":")]
            ips.append((name, x, col(s, "images_per_s"), "-"))
        else:
            loss += [(f"{name} total", e, col(m, "loss"), "-"), (f"{name} margin", e, col(m, "margin_loss"), "--"),
                     (f"{name} recon", e, col(m, "recon_loss"), ":")]
            ips.append((name, e, col(m, "images_per_s"), "-"))
        acc += [(f"{name} train", e, col(m, "train_acc"), "--"), (f"{name} val", e, col(m, "val_acc"), ":"),
                (f"{name} test", e, col(m, "test_acc"), "-")]
        lr.append((name, e, col(m, "lr"), "-"))
    by_step = all(s for _, _, s in runs)
    written = []
    for fname, title, xl, yl, series, logy in [
        ("loss.png", "loss", "step" if by_step else "epoch", "loss", loss, True),
        ("accuracy.png", "accuracy", "epoch", "accuracy", acc, False),
        ("lr.png", "learning rate", "epoch", "lr", lr, False),
        ("throughput.png", "training throughput", "step" if by_step else "epoch", "images/s", ips, False),
    ]:
        path = os.path.join(out, fname)
        if plot_lines(path, title, xl, yl, series, logy):
            written.append(path)
    if not written:
        sys.exit("plot_runs.py: nothing to draw")


if __name__ == "__main__":
    main(sys.argv[1:])
