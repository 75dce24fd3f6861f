"""The paper's numbers that the reproduction sets beside ours ("Efficiency and scalability of
MLCN on multiple GPUs", do Rosario, Breternitz, Borin; the arXiv version is 1908.03935). Only
what the text and Table 1 print: the figures themselves are images, so for them the paper's
findings are quoted in words."""

PAPER = {
    "table1": {  # "Params" as printed; seconds per epoch on a K80
        "CIFAR-10 Baseline": {"params": "11k", "seconds": 240, "accuracy": 66.36},
        "CIFAR-10 Mlcn2 4x4": {"params": "5k", "seconds": 53, "accuracy": 69.05},
        "CIFAR-10 Mlcn2 32x2": {"params": "14k", "seconds": 204, "accuracy": 75.18},
        "FMNIST Baseline": {"params": "8k", "seconds": 220, "accuracy": 91.30},
        "FMNIST Mlcn2 2x4": {"params": "3.6k", "seconds": 20, "accuracy": 91.01},
        "FMNIST Mlcn2 8x4": {"params": "10.6k", "seconds": 92, "accuracy": 92.63},
    },
    "fig4": "Paper: MLCN with model parallelism reaches about 7.18x on 8 K80 GPUs over the 1-GPU "
            "CapsNet; MLCN is faster than the baseline on one GPU already; the mlcn-data vs baseline "
            "gap stays constant as GPUs are added (devices 1, 2, 4, 8).",
    "fig5": "Paper: speed-up of model-parallel MLCN on K80 GPUs at batch 100, 150, 300 and 600, against "
            "1 GPU at batch 100 (the values are only in the figure and cannot be read off; the text's "
            "finding is MLCN's 2x efficiency over CapsNet quoted for Fig. 4).",
    "fig6": "Paper: accuracy against batch size 100, 150, 300, 600 for the baseline and MLCN on "
            "CIFAR-10 and Fashion-MNIST (values only in the figure).",
    "fig7": "Paper: speed-up of model-parallel MLCN on K80 GPUs as the lanes' width, depth and number "
            "change (values only in the figure). Its text's findings: wider lanes are more efficient than "
            "deeper ones with the same number of parameters, and more lanes do not significantly improve "
            "efficiency.",
    "fig8": "Paper: 6, 9, 12 and 24 lanes with (w, d) in 1..5 on 4 K80s, 10 runs each; greedy is "
            "\"almost 50% faster\" than random, and the advantage grows with the number of lanes.",
    "fig9": "Paper: one each of K80, M40, P100 and V100 (speeds 1, 3.1, 4.2, 6) on separate "
            "machines over MPI; the greedy advantage is larger than on identical devices.",
    "fig10": "Paper: FLOPs limit 1x, 2x, 4x, 8x of the 4-lane (w2, d4) reference, 12 GB, 8 buckets: "
             "accuracy rises with FLOPs and the gain tapers off.",
    "fig11": "Paper: memory 2, 4, 8, 12 GB at 8x FLOPs and 8 buckets.",
    "fig12": "Paper: 4, 8, 16, 32 K80 buckets at 8x FLOPs and 12 GB: more buckets allow larger "
             "models and higher accuracy.",
    "fig13": "Paper: best-so-far accuracy per iteration of the 4x search; the mean model scored "
             "about 62% and 8 iterations found a clearly better one.",
}
