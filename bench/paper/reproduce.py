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
  cpu    about 2 hours on 2 CPU cores with --cifar10, 25 minutes less without (1,500-image
         subsets, 2 epochs, 3 NAS seeds; docs/paper.md has the measured run)
  gpu    the paper's scale on a GPU machine (days: the NAS sweeps dominate; needs --cifar10)
CIFAR-10 is not packaged by Debian: pass --cifar10 DIR (the official binary files, from
cifar-10-binary.tar.gz at https://www.cs.toronto.edu/~kriz/cifar.html); without it the CIFAR
rows are skipped with a line saying so. Figures 4, 5 and 7 come from bench/fig4_scaling,
fig5_batch and fig7_lanes (measured rows on 2 CPU ranks, simulated rows beyond); Fig. 8 adds
bench/placement_measured (placements run for real on 2 CPU devices); Fig. 13 runs one random and
one halving search per seed and reports 95% confidence intervals and Welch's t-test. Needs
matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import json
import math
import os
import re
import shutil
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
    "smoke": {"train_limit": 50, "test_limit": 20, "epochs": 1, "batches": [25, 50],
              "fig8": ["--networks", "1", "--sizes", "6,9", "--time-limit", "2"],
              "nas": ["data.train_limit=10", "data.test_limit=10", "train.batch_size=10", "nas.iterations=2",
                      "nas.repeats=1", "nas.epochs=1"],
              "fig4": ["--iters", "1", "--warmup", "0", "--batch", "20"],
              "fig5": ["--measure", "100", "--iters", "1", "--warmup", "0"],
              "fig7": ["--batch", "10", "--iters", "1", "--warmup", "0"],
              "placement": ["--networks", "1", "--batch", "5"], "seeds": [1, 2]},
    "cpu": {"train_limit": 1500, "test_limit": 1000, "epochs": 2, "batches": [100, 150, 300, 600],
            "fig8": ["--networks", "10"], "nas": [], "fig4": [], "fig5": [], "fig7": [],
            "placement": ["--networks", "4"], "seeds": [1, 2, 3]},
    "gpu": {"train_limit": 0, "test_limit": 0, "epochs": 30, "batches": [100, 150, 300, 600],
            "fig8": ["--networks", "10"], "nas": ["--scale", "paper"], "fig4": [], "fig5": [], "fig7": [],
            "placement": ["--networks", "4"], "seeds": [1, 2, 3]},
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
        self.trained = {}  # (config, dataset, overrides) -> summary of a training made in this invocation

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
        """Trains config at this scale into DIR/runs/name; returns its summary.json. A training
        already made in this invocation with the same config, data and overrides is reused (Fig. 6's
        batch of 100 is Table 1's row)."""
        key = (config, dataset, tuple(extra))
        if key in self.trained:
            progress(f"{name}: reusing the training of {self.trained[key][0]} (same config and overrides)")
            return self.trained[key][1]
        run_dir = os.path.join(self.out, "runs", name)
        sets = self.data_sets(dataset) + [f"train.epochs={self.scale['epochs']}", "train.log_every=0"] + list(extra)
        cmd = [self.mlcn, "train", "--config", config, "--out", run_dir, "--overwrite"]
        for s in sets:
            cmd += ["--set", s]
        self.run(cmd, name + ".log")
        with open(os.path.join(run_dir, "summary.json")) as f:
            summary = json.load(f)
        self.trained[key] = (name, summary)
        return summary


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


FIG6 = [  # (dataset, model, config): Table 1's baseline and an MLCN row of each dataset
    ("fashion-mnist", "capsnet", "configs/capsnet-fmnist.json"),
    ("fashion-mnist", "mlcn2 8x4", "configs/table1-mlcn2-fmnist-8x4.json"),
    ("cifar10", "capsnet", "configs/capsnet-cifar10.json"),
    ("cifar10", "mlcn2 4x4", "configs/table1-mlcn2-cifar10-4x4.json"),
]


def config_batch(config):
    with open(os.path.join(ROOT, config)) as f:
        return json.load(f).get("train", {}).get("batch_size")


def fig6(ctx):
    rows = []
    for dataset, model, config in FIG6:
        if not have_dataset(ctx, dataset, "fig6"):
            continue
        for b in ctx.scale["batches"]:
            extra = [] if b == config_batch(config) else [f"train.batch_size={b}"]
            summary = ctx.train(config, dataset, f"fig6-{dataset}-{model.replace(' ', '-')}-b{b}", extra)
            rows.append({"dataset": dataset, "model": model, "batch": b,
                         "optimizer_steps": math.ceil(summary["train_images"] / b) * summary["epochs_done"],
                         "test_accuracy": round(summary["test_accuracy"], 4)})
    write_csv(ctx, "fig6", rows)
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 3.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for model in dict.fromkeys(r["model"] for r in rows if r["dataset"] == dataset):
            pts = [r for r in rows if r["dataset"] == dataset and r["model"] == model]
            ax.plot([r["batch"] for r in pts], [r["test_accuracy"] * 100 for r in pts], "o-", label=model)
        ax.set_xlabel("batch size")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset} ({ctx.args.scale}, {ctx.scale['epochs']} epoch(s))")
        ax.legend()
    fig.suptitle("Fig. 6: accuracy against batch size")
    save_plot(ctx, fig, "fig6")
    section(ctx, "fig6", "Fig. 6: accuracy against batch size", rows,
            PAPER["fig6"] + "\n\nEvery run sees the same images for the same epochs, so a larger batch takes "
            "fewer optimizer steps; at small scales that, more than the batch itself, sets the accuracy.")


def placement_rows(text):
    """The per-algorithm rows of fig8/fig9's table: lanes, algorithm, mean makespan, gap."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*(\d+)\s+([a-z-]+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)%", line)
        if m:
            rows.append({"lanes": int(m.group(1)), "algorithm": m.group(2), "makespan": float(m.group(3)),
                         "gap_to_optimum_pct": float(m.group(4)), "kind": "simulated"})
    return rows


def placement_measured(ctx):
    """bench/placement_measured: each algorithm's placement of random 6-lane networks on 2 CPU
    devices, the calibrated cost model's makespan beside the measured step; (rows, calibration lines)."""
    out = ctx.run([ctx.exe("placement_measured")] + ctx.scale["placement"], "fig8-measured.log")
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+([a-z-]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if m:
            pred, meas = float(m.group(3)), float(m.group(4))
            rows.append({"network": int(m.group(1)), "algorithm": m.group(2), "predicted_ms": pred,
                         "measured_ms": meas, "sim_error_pct": round(100 * (pred - meas) / meas, 1),
                         "kind": "measured (2 CPU devices, 1 thread each)"})
    if not rows:
        raise RuntimeError("placement_measured printed no table rows (see logs/fig8-measured.log)")
    calib = [line.strip() for line in out.splitlines() if "Pearson" in line or "memory bound" in line]
    return rows, calib


def fig8_error_note(ctx):
    """The cost model's error on Fig. 8's measured placements, when this DIR holds them."""
    path = os.path.join(ctx.out, "fig8-measured.csv")
    if not os.path.exists(path):
        return " Run fig8 too for the cost model's error on placements measured on this machine."
    errs = [abs(float(r["sim_error_pct"])) for r in read_csv(path)]
    return (f" The same cost model's error on Fig. 8's {len(errs)} placements measured here (2 identical CPU "
            f"devices): mean |error| {sum(errs) / len(errs):.1f}%, max {max(errs):.1f}%.")


def fig8_9(ctx, name, exe, title):
    rows = placement_rows(ctx.run([ctx.exe(exe)] + ctx.scale["fig8"], name + ".log"))
    if not rows:
        raise RuntimeError(f"{exe} printed no table rows (see logs/{name}.log)")
    write_csv(ctx, name, rows)
    measured, calib = placement_measured(ctx) if name == "fig8" else ([], [])
    if measured:
        write_csv(ctx, "fig8-measured", measured)
    fig, axes = plt.subplots(1, 2 if measured else 1, figsize=(12 if measured else 6.5, 3.8), squeeze=False)
    ax = axes[0][0]
    algos = sorted({r["algorithm"] for r in rows})
    sizes = sorted({r["lanes"] for r in rows})
    w = 0.8 / len(algos)
    for k, a in enumerate(algos):
        pts = {r["lanes"]: r["makespan"] for r in rows if r["algorithm"] == a}
        ax.bar([i + k * w for i in range(len(sizes))], [pts.get(n, 0) for n in sizes], w, label=a)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(sizes))])
    ax.set_xticklabels([f"{n} lanes" for n in sizes])
    ax.set_ylabel("predicted makespan (cost units)")
    ax.set_title("simulated: " + title.split(": ", 1)[-1])
    ax.legend(fontsize=7)
    if measured:
        ax = axes[0][1]
        malgos = list(dict.fromkeys(r["algorithm"] for r in measured))
        for j, (key, label) in enumerate((("predicted_ms", "predicted (calibrated model)"), ("measured_ms", "measured"))):
            means = [sum(r[key] for r in measured if r["algorithm"] == a) /
                     len([r for r in measured if r["algorithm"] == a]) for a in malgos]
            ax.bar([i + (j - 0.5) * 0.4 for i in range(len(malgos))], means, 0.4, label=label)
        ax.set_xticks(range(len(malgos)))
        ax.set_xticklabels(malgos, fontsize=8)
        ax.set_ylabel("step ms, mean over networks")
        ax.set_title(f"measured: 6 lanes on 2 CPU devices ({len({r['network'] for r in measured})} network(s))")
        ax.legend(fontsize=7)
    save_plot(ctx, fig, name)
    note = PAPER[name] + "\n\nThe rows above are simulated: makespans predicted by sched's cost model, not run."
    if name == "fig9":
        note += (" No measured rows: the devices here are 2 identical CPU cores, so heterogeneous devices are "
                 "only simulated." + fig8_error_note(ctx))
    if measured:
        errs = [abs(r["sim_error_pct"]) for r in measured]
        note += ("\n\nMeasured (bench/placement_measured, raw numbers in [fig8-measured.csv](fig8-measured.csv)): "
                 "random networks of 6 lanes placed by each algorithm with the calibrated cost model and run for "
                 "real on 2 single-thread CPU devices; `sim_error_pct` is (predicted - measured) / measured, "
                 f"mean |error| {sum(errs) / len(errs):.1f}%, max {max(errs):.1f}%. Calibration: "
                 + "; ".join(calib) + "\n\n| " + " | ".join(measured[0].keys()) + " |\n|"
                 + "---|" * len(measured[0]) + "\n"
                 + "\n".join("| " + " | ".join(str(v) for v in r.values()) + " |" for r in measured))
    elif name == "fig8":
        note += " Not measured at this scale."
    section(ctx, name, title, rows, note)


def nas_args(ctx):
    """The scale's arguments of the NAS benchmarks: --scale paper, or --set key=value each. The
    paper scale trains on CIFAR-10 (configs/nas-paper.json), so it needs --cifar10 DIR."""
    args = []
    if "--scale" in ctx.scale["nas"]:
        if not ctx.args.cifar10:
            raise RuntimeError("the NAS figures at the gpu scale train on CIFAR-10: pass --cifar10 DIR")
        args += ["--set", f"data.path={ctx.args.cifar10}"]
    for s in ctx.scale["nas"]:
        args += ["--set", s] if "=" in s else [s]
    return args


def nas_root(ctx, *parts):
    """A NAS benchmark's run directory. The benchmarks resume a search found there (and refuse
    one started with another config); the smoke scale always starts afresh, so CI trains."""
    root = os.path.join(ctx.out, "runs", *parts)
    if ctx.args.scale == "smoke":
        shutil.rmtree(root, ignore_errors=True)
    return root


def setting_order(label):
    """Sweep settings in numeric order ("2GB" before "12GB"), then by name."""
    m = re.match(r"(\d+(?:\.\d+)?)", label)
    return (float(m.group(1)) if m else float("inf"), label)


def nas_fig(ctx, name, exe, title, xlabel):
    root = nas_root(ctx, name)
    ctx.run([ctx.exe(exe), "--config", "configs/nas-paper.json", "--out", root] + nas_args(ctx), name + ".log")
    rows = []
    for label in sorted(os.listdir(root), key=setting_order):
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
    section(ctx, name, title, rows, PAPER[name] + "\n\nOne search per setting (nas.seed 1): no confidence "
            "interval; Fig. 13 compares the strategies over seeds.")


# Student's t distribution without SciPy: the two-sided tail P(|T| > t) with df degrees of freedom
# is the regularized incomplete beta function I_x(df/2, 1/2) at x = df / (df + t^2).
def _betacf(a, b, x):
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((qam + 2 * m) * (a + 2 * m)), -(a + m) * (qab + m) * x / ((a + 2 * m) * (qap + 2 * m))):
            d = 1 + num * d
            d = 1 / (d if abs(d) > 1e-300 else 1e-300)
            c = 1 + num / c
            c = c if abs(c) > 1e-300 else 1e-300
            h *= d * c
            last = d * c
        if abs(last - 1) < 1e-14:
            break
    return h


def _betainc(a, b, x):
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return front * _betacf(a, b, x) / a
    return 1 - front * _betacf(b, a, 1 - x) / b


def t_two_sided_p(t, df):
    return _betainc(df / 2, 0.5, df / (df + t * t))


def t_critical(df, alpha=0.05):
    """The t with P(|T| > t) = alpha (bisection)."""
    lo, hi = 0.0, 1e4
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_two_sided_p(mid, df) > alpha else (lo, mid)
    return (lo + hi) / 2


def mean_ci(xs):
    """Mean, sample standard deviation and the half-width of the 95% t confidence interval."""
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, float("nan"), float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    return m, sd, t_critical(n - 1) * sd / math.sqrt(n)


def welch(a, b):
    """Welch's t-test of mean(b) - mean(a): (difference, its 95% CI half-width, t, df, p); None if undefined."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    ma, sa, _ = mean_ci(a)
    mb, sb, _ = mean_ci(b)
    va, vb = sa * sa / na, sb * sb / nb
    if va + vb == 0:
        return None
    df = (va + vb) ** 2 / ((va * va / (na - 1) if na > 1 else 0) + (vb * vb / (nb - 1) if nb > 1 else 0))
    t = (mb - ma) / math.sqrt(va + vb)
    return mb - ma, t_critical(df) * math.sqrt(va + vb), t, df, t_two_sided_p(abs(t), df)


def fig13(ctx):
    """Random against halving at the same budget of model-epochs, one search of each per seed."""
    exe = ctx.exe("fig13_best_so_far")
    seeds = ctx.scale["seeds"]
    rows, curves = [], {}
    for seed in seeds:
        root = nas_root(ctx, "fig13", f"seed-{seed}")
        ctx.run([exe, "--config", "configs/nas-paper.json", "--out", root] + nas_args(ctx) + ["--seed", str(seed)],
                "fig13.log")
        for strategy in ("random", "halving"):
            with open(os.path.join(root, strategy, "summary.json")) as f:
                s = json.load(f)
            rows.append({"strategy": strategy, "seed": seed, "best_score": round(s["best"]["score"], 4),
                         "mean_score": round(s["mean_score"], 4), "models_full": s["rungs"][-1]["models"],
                         "model_epochs": s["model_epochs"], "budget_model_epochs": s["budget_model_epochs"],
                         "train_seconds": round(s["train_seconds"], 1)})
            curves[(strategy, seed)] = [(p["model_epochs"], p["best_score"]) for p in s["best_so_far"]
                                        if p.get("best_score") is not None]
    write_csv(ctx, "fig13", rows)
    table, stats = [], {}
    for strategy in ("random", "halving"):
        for metric in ("best_score", "mean_score"):
            xs = [r[metric] for r in rows if r["strategy"] == strategy]
            m, sd, h = mean_ci(xs)
            stats[(strategy, metric)] = (m, h)
            table.append({"strategy": strategy, "score": metric, "seeds": len(xs), "mean": fmt(m), "sd": fmt(sd),
                          "ci95_low": fmt(m - h), "ci95_high": fmt(m + h)})
    verdicts = []
    for metric in ("best_score", "mean_score"):
        w = welch([r[metric] for r in rows if r["strategy"] == "random"],
                  [r[metric] for r in rows if r["strategy"] == "halving"])
        if w is None:
            verdicts.append(f"- {metric}: Welch's t-test is undefined here (fewer than 2 seeds per strategy, or "
                            "no spread in either), so no difference can be called significant.")
            continue
        d, h, t, df, p = w
        verdicts.append(f"- {metric}: halving - random = {d:+.4f} (95% CI {d - h:+.4f} .. {d + h:+.4f}); Welch's "
                        f"t = {t:.2f}, df = {df:.1f}, p = {p:.3f}: "
                        + ("**significant** at the 5% level." if p < 0.05 else "**not significant** at the 5% level."))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for (strategy, seed), pts in sorted(curves.items()):
        if pts:
            axes[0].step([p[0] for p in pts], [p[1] for p in pts], where="post",
                         color="C0" if strategy == "random" else "C1", alpha=0.7,
                         label=strategy if seed == seeds[0] else None)
    axes[0].set_xlabel("model-epochs spent")
    axes[0].set_ylabel("best full score so far")
    axes[0].set_title("best so far, one line per seed")
    axes[0].legend()
    for k, metric in enumerate(("best_score", "mean_score")):
        for j, strategy in enumerate(("random", "halving")):
            m, h = stats[(strategy, metric)]
            axes[1].errorbar([k + (j - 0.5) * 0.3], [m], yerr=[[0 if math.isnan(h) else h]], fmt="o", capsize=5,
                             color=f"C{j}", label=strategy if k == 0 else None)
            xs = [r[metric] for r in rows if r["strategy"] == strategy]
            axes[1].plot([k + (j - 0.5) * 0.3 + 0.06] * len(xs), xs, ".", color=f"C{j}", alpha=0.5)
    axes[1].set_xticks([0, 1])
    axes[1].set_xticklabels(["best score", "mean score"])
    axes[1].set_title(f"mean and 95% CI over {len(seeds)} seeds (dots: seeds)")
    axes[1].legend()
    fig.suptitle(f"Fig. 13: random against halving at the same budget ({ctx.args.scale})")
    save_plot(ctx, fig, "fig13")
    section(ctx, "fig13", "Fig. 13: random against halving, over seeds", table,
            PAPER["fig13"] + f"\n\nOne random and one halving search per seed ({', '.join(map(str, seeds))}; "
            "--seed sets nas.seed, the model stream, and train.seed), each with the same budget of model-epochs; "
            "the per-seed numbers are in the CSV. The CI is Student's t over the seeds; the difference is "
            "tested with Welch's t-test:\n\n" + "\n".join(verdicts))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sim_error_note(rows, label_key):
    """One sentence on the step simulator's error where a row was measured (its sim_ms beside it)."""
    errs = [f"{label_key} {r[label_key]} on {r['n']} MPI ranks: simulated {r['sim_ms']} ms against measured "
            f"{r['step_ms']} ms ({r['sim_error_%']}%)" for r in rows
            if r.get("kind") == "measured" and r.get("sim_error_%") not in (None, "") and int(r["n"]) > 1]
    if not errs:
        return "No measured multi-device row here, so the simulator's error is not shown."
    return ("Rows of kind `measured` ran here (step_ms: CPU time of the busiest single-thread rank; the wall "
            "clock for workers of one process); rows of kind "
            "`simulated` are the step simulator's predictions (sched/step_sim.h) calibrated from them, on "
            "assumed device rates and links. The simulator's error on the measured rows: " + "; ".join(errs) + ".")


def dist_bench(ctx, name, exe_name):
    """Runs a distributed benchmark (fig4/5/7) at this scale into DIR/name.csv; returns its rows."""
    exe = ctx.exe(exe_name)
    if not os.path.exists(exe):
        raise RuntimeError(f"bench/{exe_name} is not built")
    path = os.path.join(ctx.out, name + ".csv")
    ctx.run([exe, "--csv", path] + ctx.scale[name], name + ".log")
    rows = read_csv(path)
    if not rows:
        raise RuntimeError(f"{exe_name} wrote no rows (see logs/{name}.log)")
    return rows


def speedup(r):
    """A row's speed-up over the same model on one device of its kind: n x efficiency."""
    return int(r["n"]) * float(r["efficiency_%"]) / 100


SIM_STYLE = {"cpu-rank": ":", "k80": "-", "h100": "--"}


def fig4(ctx):
    rows = dist_bench(ctx, "fig4", "fig4_scaling")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, model in enumerate(("base", "mlcn-data", "mlcn-model")):
        color = f"C{k}"
        for dev, style in SIM_STYLE.items():
            pts = [r for r in rows if r["model"] == model and r["device"] == dev and r["kind"] == "simulated"]
            if pts:
                ax.plot([int(r["n"]) for r in pts], [float(r["speedup_vs_capsnet1"]) for r in pts], style,
                        color=color, label=f"{model}, {dev} (simulated)")
        meas = [r for r in rows if r["model"] == model and r["kind"] == "measured" and "wall" not in r["device"]]
        if meas:
            ax.plot([int(r["n"]) for r in meas], [float(r["speedup_vs_capsnet1"]) for r in meas], "o",
                    color=color, markersize=7, label=f"{model}, CPU ranks (measured)")
    ax.plot([8], [7.18], "k*", markersize=11, label="paper: MLCN model-parallel, 8 K80")
    ax.set_xticks([1, 2, 4, 8])
    ax.set_xlabel("devices")
    ax.set_ylabel("speed-up over 1-device CapsNet")
    ax.set_title(f"Fig. 4: speed-up against devices ({ctx.args.scale})")
    ax.legend(fontsize=6)
    save_plot(ctx, fig, "fig4")
    section(ctx, "fig4", "Fig. 4: speed-up against devices", rows[:40],
            PAPER["fig4"] + "\n\n" + sim_error_note(rows, "model"))


def fig5(ctx):
    rows = dist_bench(ctx, "fig5", "fig5_batch")
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for k, (dev, n) in enumerate([(d, n) for n in (8, 2) for d in SIM_STYLE]):
        pts = [r for r in rows if r["device"] == dev and int(r["n"]) == n and r["kind"] == "simulated"]
        if pts:
            ax.plot([int(r["batch"]) for r in pts], [speedup(r) for r in pts], SIM_STYLE[dev] + "s",
                    color=f"C{k}", markersize=3, label=f"{n} x {dev} (simulated)")
    meas = [r for r in rows if r["kind"] == "measured" and int(r["n"]) == 2]
    if meas:
        ax.plot([int(r["batch"]) for r in meas], [speedup(r) for r in meas], "ko", markersize=7,
                label="2 CPU ranks (measured)")
    ax.set_xticks(sorted({int(r["batch"]) for r in rows}))
    ax.set_xlabel("batch size")
    ax.set_ylabel("speed-up over the same model on 1 device")
    ax.set_title(f"Fig. 5: MLCN 8x(w4,d1) model-parallel by batch ({ctx.args.scale})")
    ax.legend(fontsize=6)
    save_plot(ctx, fig, "fig5")
    section(ctx, "fig5", "Fig. 5: speed-up against batch size", rows,
            PAPER["fig5"] + "\n\n" + sim_error_note(rows, "batch"))


def fig7(ctx):
    rows = dist_bench(ctx, "fig7", "fig7_lanes")
    panels = [("a", "lane width (4 lanes of w x d1)", r"w(\d+)"), ("b", "lane depth (4 lanes of w2 x d)", r"d(\d+)"),
              ("c", "number of lanes (n lanes of w2 x d1)", r"c: (\d+)")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    for ax, (key, title, pattern) in zip(axes, panels):
        sub = [r for r in rows if r["lanes"].startswith(key + ":")]
        if key == "b":  # depth 1 of 4 x w2 is panel a's 4 x (w2,d1)
            sub = [r for r in rows if r["lanes"] == "a: 4 x (w2,d1)"] + sub
        x_of = (lambda r: int(re.search(r"d(\d+)", r["lanes"]).group(1))) if key == "b" else \
            (lambda r, p=pattern: int(re.search(p, r["lanes"]).group(1)))
        for k, dev in enumerate(SIM_STYLE):
            pts = [r for r in sub if r["device"] == dev and r["kind"] == "simulated"]
            if pts:
                ax.plot([x_of(r) for r in pts], [speedup(r) for r in pts], SIM_STYLE[dev] + "s", color=f"C{k}",
                        markersize=3, label=f"8 x {dev} (simulated)")
        meas = [r for r in sub if r["kind"] == "measured" and int(r["n"]) == 2]
        if meas:
            ax.plot([x_of(r) for r in meas], [speedup(r) for r in meas], "ko", label="2 CPU ranks (measured)")
        ax.set_xticks(sorted({x_of(r) for r in sub}))
        ax.set_xlabel(title)
        ax.set_title(f"Fig. 7({key})")
    axes[0].set_ylabel("speed-up over the same model on 1 device")
    axes[0].legend(fontsize=6)
    fig.suptitle(f"Fig. 7: model-parallel MLCN by width, depth and number of lanes ({ctx.args.scale})")
    save_plot(ctx, fig, "fig7")
    section(ctx, "fig7", "Fig. 7: speed-up against lane width, depth and number of lanes", rows,
            PAPER["fig7"] + "\n\n" + sim_error_note(rows, "lanes"))


EXPERIMENTS = {
    "table1": table1,
    "fig4": fig4,
    "fig5": fig5,
    "fig6": fig6,
    "fig7": fig7,
    "fig8": lambda c: fig8_9(c, "fig8", "fig8_hetero_lanes", "Fig. 8: heterogeneous lanes, 4 identical devices"),
    "fig9": lambda c: fig8_9(c, "fig9", "fig9_hetero_devices", "Fig. 9: heterogeneous lanes and devices"),
    "fig10": lambda c: nas_fig(c, "fig10", "fig10_nas_flops", "Fig. 10: NAS score against the load limit", "load limit"),
    "fig11": lambda c: nas_fig(c, "fig11", "fig11_nas_memory", "Fig. 11: NAS score against memory", "memory limit"),
    "fig12": lambda c: nas_fig(c, "fig12", "fig12_nas_buckets", "Fig. 12: NAS score against buckets", "buckets"),
    "fig13": fig13,
}

# Files an experiment writes besides its NAME.csv, NAME.png and NAME.svg, checked the same way.
EXTRA_FILES = {"fig8": ["fig8-measured.csv"]}


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
    failed, texts = [], {}
    for name in only:
        progress(f"== {name} ({args.scale} scale)")
        t_start = time.time()
        first_section = len(ctx.sections)
        expected = [f"{name}.{ext}" for ext in ("csv", "png", "svg")] + EXTRA_FILES.get(name, [])
        for old in expected:  # a file left by an earlier run into DIR must not pass for this one's
            if os.path.exists(os.path.join(ctx.out, old)):
                os.remove(os.path.join(ctx.out, old))
        try:
            EXPERIMENTS[name](ctx)
        except (RuntimeError, OSError, KeyError, ValueError) as e:
            failed.append(name)
            ctx.sections.append(f"## {name}\n\nnot produced: {e}\n")
            progress(f"{name}: FAILED: {e}")
        else:
            empty = [f for f in expected
                     if not os.path.exists(os.path.join(ctx.out, f)) or os.path.getsize(os.path.join(ctx.out, f)) == 0]
            if empty:
                failed.append(name)
                progress(f"{name}: FAILED: missing or empty {', '.join(empty)}")
        status = "failed" if name in failed else "written"
        progress(f"{name}: {status} in {time.time() - t_start:.0f} s")
        texts[name] = (f"<!-- experiment {name}: {time.time() - t_start:.0f} s, {status}, "
                       f"{time.strftime('%Y-%m-%d %H:%M')} -->\n" + "\n".join(ctx.sections[first_section:]))
    write_report(ctx, texts)
    return 1 if failed else 0


MARKER = re.compile(r"<!-- experiment (\w+): (\d+) s, (\w+), ([\d: -]+) -->")


def write_report(ctx, texts):
    """DIR/report.md: this invocation's sections, and those of other experiments that an earlier
    invocation at the same scale left in DIR/report.md (so --only fig11 does not drop the rest)."""
    path = os.path.join(ctx.out, "report.md")
    head = f"<!-- scale {ctx.args.scale} -->\n"
    kept = {}
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        if old.startswith(head):
            starts = [m.start() for m in MARKER.finditer(old)] + [len(old)]
            for a, b in zip(starts, starts[1:]):
                name = MARKER.match(old, a).group(1)
                if name in EXPERIMENTS and name not in texts:
                    kept[name] = old[a:b].rstrip("\n") + "\n"
        else:
            progress("report.md in DIR came from another scale or an older driver: replaced")
    merged = {n: (texts.get(n) or kept[n]) for n in EXPERIMENTS if n in texts or n in kept}
    rows = [MARKER.match(t).groups() for t in merged.values()]
    with open(path, "w") as f:
        f.write(head + f"# The MLCN paper, reproduced at the {ctx.args.scale} scale\n\n"
                "The paper's values are set beside ours; compare them yourself, knowing the scale. The table "
                "says when each experiment ran; sections of experiments not run by the last invocation "
                "are kept from earlier ones into the same folder.\n\n| experiment | seconds (wall) | files | run at |\n"
                "|---|---|---|---|\n" + "".join(f"| {n} | {sec} | {st} | {when} |\n" for n, sec, st, when in rows)
                + "\n" + "\n".join(merged.values()))
    failed = [n for n, _, st, _ in rows if st == "failed"]
    progress(f"wrote {path}" + (f"; failed: {','.join(failed)}" if failed else ""))


if __name__ == "__main__":
    sys.exit(main())
