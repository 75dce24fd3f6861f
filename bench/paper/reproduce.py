#!/usr/bin/env python3
"""Reproduces the MLCN paper's tables and figures with the engine, in one command.

    bench/paper/reproduce [--scale smoke|cpu|gpu] [--only table1,fig6,...] [--out DIR]
                          [--build DIR] [--cifar10 DIR]

Every experiment writes its raw numbers (CSV), a PNG and an SVG plot drawn like the paper's
figure, and a section of DIR/report.md that shows the plot with the paper's values beside
ours. The driver prints the paper's value and ours and leaves the comparison to the reader: it
never prints a claim. Scales (docs/paper.md):
  smoke  minutes on 2 CPU cores; CI runs it so nothing rots (tiny data, 1 epoch: the numbers
         check the plumbing, not the paper)
  cpu    about an hour on a 2-core CPU (data subsets, few epochs)
  gpu    the paper's scale on a GPU machine
CIFAR-10 is not packaged by Debian: pass --cifar10 DIR (the official binary files, from
cifar-10-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html); without it the CIFAR
rows are skipped with a line saying so. Figures 4, 5 and 7 come from bench/fig4_scaling when it
is built. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # the pyenv python3 of a development machine lacks Debian's matplotlib
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("reproduce: matplotlib is missing (apt-get install python3-matplotlib)")

from paper_values import PAPER  # noqa: E402  (beside this file)

# What each scale trains: images per split (0: all), epochs, and the sizes of the sweeps.
SCALES = {
    "smoke": {"train_limit": 200, "test_limit": 100, "epochs": 1, "batches": [100, 150],
              "fig8": ["--networks", "1", "--sizes", "6,9", "--time-limit", "2"],
              "nas": ["data.train_limit=50", "data.test_limit=50", "train.batch_size=50", "nas.iterations=2",
                      "nas.repeats=1", "nas.epochs=1"],
              "fig4": ["--iters", "1", "--warmup", "0", "--batch", "20"]},
    "cpu": {"train_limit": 6000, "test_limit": 2000, "epochs": 2, "batches": [100, 150, 300, 600],
            "fig8": ["--networks", "10"], "nas": [], "fig4": []},
    "gpu": {"train_limit": 0, "test_limit": 0, "epochs": 30, "batches": [100, 150, 300, 600],
            "fig8": ["--networks", "10"], "nas": ["--scale", "paper"], "fig4": []},
}
TABLE1 = [  # (row, config, dataset)
    ("FMNIST Baseline", "configs/capsnet-fmnist.json", "fashion-mnist"),
    ("FMNIST Mlcn2 2x4", "configs/table1-mlcn2-fmnist-2x4.json", "fashion-mnist"),
    ("FMNIST Mlcn2 8x4", "configs/table1-mlcn2-fmnist-8x4.json", "fashion-mnist"),
    ("CIFAR-10 Baseline", "configs/capsnet-cifar10.json", "cifar10"),
    ("CIFAR-10 Mlcn2 4x4", "configs/table1-mlcn2-cifar10-4x4.json", "cifar10"),
    ("CIFAR-10 Mlcn2 32x2", "configs/table1-mlcn2-cifar10-32x2.json", "cifar10"),
]
TRAIN_IMAGES = {"fashion-mnist": 60000, "cifar10": 50000}


class Ctx:
    def __init__(self, args):
        self.args = args
        self.scale = SCALES[args.scale]
        self.out = os.path.abspath(args.out)
        self.build = os.path.abspath(args.build)
        self.mlcn = os.path.join(self.build, "cli", "mlcn")
        self.sections = []
        self.skipped = set()

    def exe(self, name):
        return os.path.join(self.build, "bench", name)

    def run(self, cmd, log):
        """Runs cmd from the repository root, its output in DIR/logs/log; returns stdout."""
        os.makedirs(os.path.join(self.out, "logs"), exist_ok=True)
        progress(" ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd))
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        with open(os.path.join(self.out, "logs", log), "a") as f:
            f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr)
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cmd[0])} exited {p.returncode} (see logs/{log}): "
                               f"{p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ''}")
        return p.stdout

    def data_sets(self, dataset):
        sets = []
        if dataset == "cifar10":
            sets.append(f"data.path={self.args.cifar10}")
        s = self.scale
        sets += [f"data.train_limit={s['train_limit']}", f"data.test_limit={s['test_limit']}"]
        return sets

    def train(self, config, dataset, name, extra=()):
        """Trains config at this scale into DIR/runs/name; returns its summary.json."""
        run_dir = os.path.join(self.out, "runs", name)
        sets = self.data_sets(dataset) + [f"train.epochs={self.scale['epochs']}", "train.log_every=0"] + list(extra)
        cmd = [self.mlcn, "train", "--config", config, "--out", run_dir, "--overwrite"]
        for s in sets:
            cmd += ["--set", s]
        self.run(cmd, name + ".log")
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f)


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_csv(ctx, name, rows):
    path = os.path.join(ctx.out, name + ".csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    return path


def save_plot(ctx, fig, name):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(ctx.out, f"{name}.{ext}"), dpi=110, bbox_inches="tight")
    plt.close(fig)


def section(ctx, name, title, table_rows, note=""):
    """A report section: the plot and a markdown table (ours beside the paper)."""
    lines = [f"## {title}", "", f"![{name}]({name}.png)", "", f"Raw numbers: [{name}.csv]({name}.csv)", ""]
    if table_rows:
        keys = list(table_rows[0].keys())
        lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in table_rows]
    if note:
        lines += ["", note]
    ctx.sections.append("\n".join(lines) + "\n")


def fmt(v, digits=4):
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def have_dataset(ctx, dataset, what):
    if dataset == "cifar10" and not ctx.args.cifar10:
        if what not in ctx.skipped:
            ctx.skipped.add(what)
            progress(f"{what}: CIFAR-10 rows skipped (pass --cifar10 DIR with the official binary files)")
            ctx.sections.append(f"*{what}: CIFAR-10 rows skipped: no --cifar10 DIR was given.*\n")
        return False
    return True


def images_per_s(ctx, summary, run):
    """Training images per second of the run's last epoch (training steps only, no evaluation)."""
    if "images_per_s_last_epoch" in summary:
        return summary["images_per_s_last_epoch"]
    with open(os.path.join(ctx.out, "runs", run, "metrics.csv")) as f:
        return float(list(csv.DictReader(f))[-1]["images_per_s"])


def table1(ctx):
    s = ctx.scale
    rows = []
    for row, config, dataset in TABLE1:
        if not have_dataset(ctx, dataset, "table1"):
            continue
        info = json.loads(ctx.run([ctx.mlcn, "info", "--config", config], "table1.log"))
        summary = ctx.train(config, dataset, "table1-" + re.sub(r"[^a-z0-9]+", "-", row.lower()))
        limit = s["train_limit"] or TRAIN_IMAGES[dataset]
        per_epoch = TRAIN_IMAGES[dataset] / images_per_s(ctx, summary, "table1-" + re.sub(r"[^a-z0-9]+", "-", row.lower()))
        paper = PAPER["table1"][row]
        rows.append({"row": row, "params": info["model"]["parameters"], "paper_params": paper["params"],
                     "s_per_epoch": round(per_epoch, 1), "paper_s_per_epoch": paper["seconds"],
                     "timed_over": "whole epochs" if limit == TRAIN_IMAGES[dataset] else
                     f"{limit} images/epoch, rate scaled to {TRAIN_IMAGES[dataset]}",
                     "test_accuracy": round(summary["test_accuracy"], 4), "paper_accuracy": paper["accuracy"],
                     "epochs": s["epochs"]})
    write_csv(ctx, "table1", rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    names = [r["row"] for r in rows]
    x = range(len(rows))
    axes[0].bar([i - 0.2 for i in x], [r["test_accuracy"] * 100 for r in rows], 0.4, label="ours")
    axes[0].bar([i + 0.2 for i in x], [r["paper_accuracy"] for r in rows], 0.4, label="paper")
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].bar([i - 0.2 for i in x], [r["s_per_epoch"] for r in rows], 0.4, label="ours")
    axes[1].bar([i + 0.2 for i in x], [r["paper_s_per_epoch"] for r in rows], 0.4, label="paper (K80)")
    axes[1].set_ylabel("seconds per epoch")
    for ax in axes:
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=25, ha="right", fontsize=8)
        ax.legend()
    fig.suptitle(f"Table 1 ({ctx.args.scale} scale: {ctx.scale['epochs']} epoch(s))")
    save_plot(ctx, fig, "table1")
    section(ctx, "table1", "Table 1: parameters, seconds per epoch, accuracy", rows,
            "The paper's parameter counts are printed as in the paper (\"k\"); its baselines match "
            "the engine's counts read as millions, its Mlcn2 counts do not reproduce from the public "
            "model definition. Its times are K80 GPU seconds.")


def fig6(ctx):
    rows = []
    for model, config in (("capsnet", "configs/capsnet-fmnist.json"), ("mlcn", "configs/table1-mlcn2-fmnist-8x4.json")):
        for b in ctx.scale["batches"]:
            summary = ctx.train(config, "fashion-mnist", f"fig6-{model}-b{b}", [f"train.batch_size={b}"])
            rows.append({"dataset": "fashion-mnist", "model": model, "batch": b,
                         "test_accuracy": round(summary["test_accuracy"], 4)})
    write_csv(ctx, "fig6", rows)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for model in ("capsnet", "mlcn"):
        pts = [r for r in rows if r["model"] == model]
        ax.plot([r["batch"] for r in pts], [r["test_accuracy"] * 100 for r in pts], "o-", label=model)
    ax.set_xlabel("batch size")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Fig. 6: accuracy vs batch size, Fashion-MNIST ({ctx.args.scale})")
    ax.legend()
    save_plot(ctx, fig, "fig6")
    section(ctx, "fig6", "Fig. 6: accuracy against batch size", rows, PAPER["fig6"])


def placement_rows(text):
    """The per-algorithm rows of fig8/fig9's table: lanes, algorithm, mean makespan, gap."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+([a-z-]+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)%", line)
        if m:
            rows.append({"lanes": int(m.group(1)), "algorithm": m.group(2), "makespan": float(m.group(3)),
                         "gap_to_optimum_pct": float(m.group(4)), "kind": "predicted"})
    return rows


def fig8_9(ctx, name, exe, title):
    rows = placement_rows(ctx.run([ctx.exe(exe)] + ctx.scale["fig8"], name + ".log"))
    if not rows:
        raise RuntimeError(f"{exe} printed no table rows (see logs/{name}.log)")
    write_csv(ctx, name, rows)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    algos = sorted({r["algorithm"] for r in rows})
    sizes = sorted({r["lanes"] for r in rows})
    w = 0.8 / len(algos)
    for k, a in enumerate(algos):
        pts = {r["lanes"]: r["makespan"] for r in rows if r["algorithm"] == a}
        ax.bar([i + k * w for i in range(len(sizes))], [pts.get(n, 0) for n in sizes], w, label=a)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(sizes))])
    ax.set_xticklabels([f"{n} lanes" for n in sizes])
    ax.set_ylabel("predicted makespan (cost units)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save_plot(ctx, fig, name)
    section(ctx, name, title, rows, PAPER[name])


def nas_fig(ctx, name, exe, title, xlabel):
    root = os.path.join(ctx.out, "runs", name)
    cmd = [ctx.exe(exe), "--config", "configs/nas-paper.json", "--out", root]
    for s in ctx.scale["nas"]:
        cmd += ["--set", s] if "=" in s else [s]
    ctx.run(cmd, name + ".log")
    rows = []
    for label in sorted(os.listdir(root)):
        path = os.path.join(root, label, "summary.json")
        if os.path.exists(path):
            with open(path) as f:
                s = json.load(f)
            rows.append({"setting": label, "mean_score": s.get("mean_score"),
                         "best_score": (s.get("best") or {}).get("score"), "models": s.get("evaluations")})
    write_csv(ctx, name, rows)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot([r["setting"] for r in rows], [r["mean_score"] or 0 for r in rows], "o-", label="mean")
    ax.plot([r["setting"] for r in rows], [r["best_score"] or 0 for r in rows], "s-", label="best")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (geometric mean accuracy of the trainings)")
    ax.set_title(title)
    ax.legend()
    save_plot(ctx, fig, name)
    section(ctx, name, title, rows, PAPER[name])


def fig4(ctx):
    exe = ctx.exe("fig4_scaling")
    if not os.path.exists(exe):
        raise RuntimeError("bench/fig4_scaling is not built")
    path = os.path.join(ctx.out, "fig4.csv")
    ctx.run([exe, "--csv", path] + ctx.scale["fig4"], "fig4.log")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for key in sorted({r.get("config", r.get("mode", "")) for r in rows}):
        pts = [r for r in rows if r.get("config", r.get("mode", "")) == key and r.get("speedup")]
        if pts:
            ax.plot([float(r["devices"]) for r in pts], [float(r["speedup"]) for r in pts], "o-", label=key)
    ax.set_xlabel("devices")
    ax.set_ylabel("speed-up over 1-device CapsNet")
    ax.set_title("Fig. 4: scaling (measured and simulated rows)")
    ax.legend(fontsize=7)
    save_plot(ctx, fig, "fig4")
    section(ctx, "fig4", "Fig. 4: speed-up against devices", rows[:40], PAPER["fig4"])


EXPERIMENTS = {
    "table1": table1,
    "fig4": fig4,
    "fig6": fig6,
    "fig8": lambda c: fig8_9(c, "fig8", "fig8_hetero_lanes", "Fig. 8: heterogeneous lanes, 4 identical devices"),
    "fig9": lambda c: fig8_9(c, "fig9", "fig9_hetero_devices", "Fig. 9: heterogeneous lanes and devices"),
    "fig10": lambda c: nas_fig(c, "fig10", "fig10_nas_flops", "Fig. 10: NAS score against the load limit", "load limit"),
    "fig11": lambda c: nas_fig(c, "fig11", "fig11_nas_memory", "Fig. 11: NAS score against memory", "memory limit"),
    "fig12": lambda c: nas_fig(c, "fig12", "fig12_nas_buckets", "Fig. 12: NAS score against buckets", "buckets"),
    "fig13": lambda c: nas_fig(c, "fig13", "fig13_best_so_far", "Fig. 13: random against halving", "strategy"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], usage=__doc__.split("\n\n")[1])
    ap.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    ap.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated: " + ",".join(EXPERIMENTS))
    ap.add_argument("--out", default=os.path.join(ROOT, "runs", "paper"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--cifar10", default="", help="folder with the official CIFAR-10 binary files")
    args = ap.parse_args()
    only = [x for x in args.only.split(",") if x]
    unknown = [x for x in only if x not in EXPERIMENTS]
    if unknown:
        ap.error(f"unknown experiments {unknown}; known: {','.join(EXPERIMENTS)}")
    ctx = Ctx(args)
    if not os.path.exists(ctx.mlcn):
        sys.exit(f"reproduce: {ctx.mlcn} not found: build first (bash cli/setup.sh) or pass --build DIR")
    os.makedirs(ctx.out, exist_ok=True)
    failed = []
    t0 = time.time()
    for name in only:
        progress(f"== {name} ({args.scale} scale)")
        try:
            EXPERIMENTS[name](ctx)
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            failed.append(name)
            ctx.sections.append(f"## {name}\n\nnot produced: {e}\n")
            progress(f"{name}: FAILED: {e}")
            continue
        empty = [f"{name}.{ext}" for ext in ("csv", "png", "svg")
                 if not os.path.exists(os.path.join(ctx.out, f"{name}.{ext}"))
                 or os.path.getsize(os.path.join(ctx.out, f"{name}.{ext}")) == 0]
        if empty:
            failed.append(name)
            progress(f"{name}: FAILED: missing or empty {', '.join(empty)}")
    with open(os.path.join(ctx.out, "report.md"), "w") as f:
        f.write(f"# The MLCN paper, reproduced at the {args.scale} scale\n\n"
                f"{time.strftime('%Y-%m-%d')}, {len(only) - len(failed)}/{len(only)} experiments in "
                f"{time.time() - t0:.0f} s. The paper's values are set beside ours; compare them "
                f"yourself, knowing the scale.\n\n" + "\n".join(ctx.sections))
    progress(f"wrote {os.path.join(ctx.out, 'report.md')}" + (f"; failed: {','.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
