"""PyTorch peer of the engine's models: CapsNet (spec section 2) and MLCN (spec section 1).

Both follow the models of the MLCN paper (do Rosario et al.) and CapsNet (Sabour et al.), with
the parameter names and layouts of tests/golden/README.md, so a golden file's weights load by name:

* CapsNet: conv1, primary, W (N_in, 10, 16, 8), decoder.fc1/fc2/fc3.
* MLCN: lanes.L.{conv1, primary, deep_conv.N, deep_primary.N, W} for mlcn1 lanes,
  lanes.L.{conv1, dw, pw, c3.N, primary, W} for mlcn2 lanes, decoder.fc1/fc2/fc3.

Primary capsules use the original Keras order: the NCHW conv output is permuted to NHWC and
flattened, so capsule n = (h*W + x)*G + g holds channels g*D .. g*D+D-1.
Images are NCHW (B, C, H, W) with values in [0, 1]; labels are class indices (B,).
The decoder's output is in HWC order (Keras), compared against the NHWC-flattened input.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SQUASH_EPS = 1e-7
LENGTH_EPS = 1e-7
M_PLUS, M_MINUS, LAMBDA_NEG = 0.9, 0.1, 0.5
LAM_RECON = 0.392


def squash(s, dim=-1):
    """v = |s|^2/(1+|s|^2) * s/sqrt(|s|^2 + 1e-7) along dim (spec 1.2)."""
    n2 = (s * s).sum(dim, keepdim=True)
    return (n2 / (1.0 + n2)) * s / torch.sqrt(n2 + SQUASH_EPS)


def length(v):
    """sqrt(sum v^2 + 1e-7) over the last axis (spec 1.6, section 2)."""
    return torch.sqrt((v * v).sum(-1) + LENGTH_EPS)


def to_capsules(conv_out, dim):
    """Primary-conv output (B, G*D, H, W) -> capsules (B, H*W*G, D) in Keras NHWC order."""
    b = conv_out.shape[0]
    return conv_out.permute(0, 2, 3, 1).reshape(b, -1, dim)


def margin_loss(lengths, labels):
    """mean over batch of sum over classes of the margin loss (spec 1.8); lengths (B, K)."""
    t = F.one_hot(labels, lengths.shape[1]).to(lengths.dtype)  # (B, K)
    pos = t * torch.clamp(M_PLUS - lengths, min=0.0) ** 2
    neg = LAMBDA_NEG * (1.0 - t) * torch.clamp(lengths - M_MINUS, min=0.0) ** 2
    return (pos + neg).sum(1).mean()


def glorot_(t, fan_in, fan_out):
    """Keras glorot_uniform: U(-a, a), a = sqrt(6/(fan_in+fan_out)) (spec 1.9)."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        t.uniform_(-a, a)


def keras_init_(module):
    """Keras default init for every conv/linear below module: glorot kernels, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            fan_in = kh * kw * (m.in_channels // m.groups)
            fan_out = kh * kw * (1 if m.groups > 1 else m.out_channels)
            glorot_(m.weight, fan_in, fan_out)
        elif isinstance(m, nn.Linear):
            glorot_(m.weight, m.in_features, m.out_features)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class Decoder(nn.Module):
    """Dense 512 ReLU -> 1024 ReLU -> H*W*C sigmoid; input is the label-masked capsules."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, 512)
        self.fc2 = nn.Linear(512, 1024)
        self.fc3 = nn.Linear(1024, out_features)

    def forward(self, x):  # (B, in_features) -> (B, H*W*C)
        return torch.sigmoid(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x))))))


def masked_flat(caps, labels):
    """Keep only the label's capsule: (B, K, D) -> (B, K*D), index j*D + d (class-major)."""
    mask = F.one_hot(labels, caps.shape[1]).to(caps.dtype)  # (B, K)
    return (caps * mask[:, :, None]).reshape(caps.shape[0], -1)


class StepOutput:
    """Everything one training-mode forward produces; loss is the scalar to back-propagate."""

    def __init__(self, lengths, recon, loss_margin, loss_recon):
        self.lengths = lengths  # (B, K)
        self.recon = recon  # (B, H*W*C)
        self.loss_margin = loss_margin
        self.loss_recon = loss_recon
        self.loss = loss_margin + LAM_RECON * loss_recon


def losses(lengths, recon, x, labels):
    """Margin + reconstruction MSE (mean over all pixels) against the NHWC-flattened input."""
    target = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (B, H*W*C)
    return StepOutput(lengths, recon, margin_loss(lengths, labels), ((recon - target) ** 2).mean())


class CapsNet(nn.Module):
    """Sabour 2017 CapsNet as in CapsNet-Keras (spec section 2), full-gradient routing."""

    def __init__(self, in_shape=(1, 28, 28), classes=10, routings=3):
        super().__init__()
        c, h, w = in_shape
        self.classes, self.routings = classes, routings
        self.conv1 = nn.Conv2d(c, 256, 9)
        self.primary = nn.Conv2d(256, 256, 9, stride=2)
        ph, pw = (h - 8 - 9) // 2 + 1, (w - 8 - 9) // 2 + 1
        n_in = ph * pw * 32
        self.W = nn.Parameter(torch.empty(n_in, classes, 16, 8))
        self.decoder = Decoder(classes * 16, c * h * w)
        keras_init_(self)
        glorot_(self.W, 16 * classes * n_in, 8 * classes * n_in)

    def capsules(self, x):
        """Images (B, C, H, W) -> digit capsules (B, K, 16)."""
        u = squash(to_capsules(self.primary(F.relu(self.conv1(x))), 8))  # (B, N, 8)
        u_hat = torch.einsum("njkd,bnd->bnjk", self.W, u)  # (B, N, K, 16)
        b = torch.zeros(u_hat.shape[:3], dtype=u_hat.dtype, device=u_hat.device)  # (B, N, K)
        for it in range(self.routings):
            c = torch.softmax(b, dim=2)  # (B, N, K), over the output capsules
            v = squash(torch.einsum("bnj,bnjk->bjk", c, u_hat))  # (B, K, 16)
            if it < self.routings - 1:
                b = b + torch.einsum("bnjk,bjk->bnj", u_hat, v)
        return v

    def forward(self, x, labels):
        """Training-mode step: decoder masked by the true label."""
        v = self.capsules(x)  # (B, K, 16)
        return losses(length(v), self.decoder(masked_flat(v, labels)), x, labels)


class Mlcn1Lane(nn.Module):
    """mlcn1 lane of width w and stacked depth d (spec 1.2, 1.3): one output capsule of dim K."""

    def __init__(self, in_shape, width, depth, classes):
        super().__init__()
        c, h, w = in_shape
        f = 16 * width
        self.conv1 = nn.Conv2d(c, f, 9)
        self.primary = nn.Conv2d(f, 2 * f, 6, stride=2)
        n = ((h - 8 - 6) // 2 + 1) * ((w - 8 - 6) // 2 + 1) * 2 * width
        n_tot = n
        self.deep_conv = nn.ModuleList()
        self.deep_primary = nn.ModuleList()
        for level in range(2, depth + 1):
            if n < 14:
                raise ValueError(f"mlcn1 w{width} d{depth}: level {level} needs >= 14 capsules, has {n}")
            self.deep_conv.append(nn.Conv2d(1, f, 9))
            self.deep_primary.append(nn.Conv2d(f, 2 * f, 6, stride=3))
            n = ((n - 8 - 6) // 3 + 1) * 2 * width
            n_tot += n
        self.n_tot = n_tot
        self.W = nn.Parameter(torch.empty(n_tot, classes, 16))
        keras_init_(self)
        glorot_(self.W, classes * n_tot, 16 * n_tot)

    def forward(self, x):  # (B, C, H, W) -> (B, K)
        u = squash(to_capsules(self.primary(F.relu(self.conv1(x))), 16))  # (B, N1, 16)
        levels = [u]
        for conv, prim in zip(self.deep_conv, self.deep_primary):
            img = u.unsqueeze(1)  # (B, 1, N_{k-1}, 16)
            u = squash(to_capsules(prim(F.relu(conv(img))), 16))  # (B, N_k, 16)
            levels.append(u)
        u = torch.cat(levels, dim=1) if len(levels) > 1 else u  # (B, N_tot, 16)
        return lane_capsule(u, self.W)


class Mlcn2Lane(nn.Module):
    """mlcn2 lane of width w (spec 1.4): 1x1 conv, separable 6x6, 3x 3x3 conv, primary caps."""

    def __init__(self, in_shape, width, classes):
        super().__init__()
        c, h, w = in_shape
        f = 16 * width
        self.conv1 = nn.Conv2d(c, f, 1)
        self.dw = nn.Conv2d(f, f, 6, groups=f, bias=False)
        self.pw = nn.Conv2d(f, f, 1)
        self.c3 = nn.ModuleList([nn.Conv2d(f, f, 3, padding=1) for _ in range(3)])
        self.primary = nn.Conv2d(f, 2 * f, 6, stride=2)
        self.n_tot = ((h - 5 - 6) // 2 + 1) * ((w - 5 - 6) // 2 + 1) * 2 * width
        self.W = nn.Parameter(torch.empty(self.n_tot, classes, 16))
        keras_init_(self)
        glorot_(self.W, classes * self.n_tot, 16 * self.n_tot)

    def forward(self, x):  # (B, C, H, W) -> (B, K)
        y = F.relu(self.pw(self.dw(self.conv1(x))))  # (B, 16w, H-5, W-5)
        for conv in self.c3:
            y = F.relu(conv(y))
        return lane_capsule(squash(to_capsules(self.primary(y), 16)), self.W)


def lane_capsule(u, W):
    """Lane capsule layer with one output capsule (spec 1.5): routing is degenerate (c == 1),
    so v = squash(sum_i W_i u_i); u (B, N, 16), W (N, K, 16) -> v (B, K)."""
    n, k, d = W.shape
    s = u.reshape(u.shape[0], n * d) @ W.permute(0, 2, 1).reshape(n * d, k)  # (B, K)
    return squash(s)


class MLCN(nn.Module):
    """Multi-Lane CapsNet (spec section 1); lanes is a list of (type, width, depth)."""

    def __init__(self, lanes, in_shape=(1, 28, 28), classes=10):
        super().__init__()
        c, h, w = in_shape
        mods = []
        for kind, width, depth in lanes:
            if kind == "mlcn1":
                mods.append(Mlcn1Lane(in_shape, width, depth, classes))
            elif kind == "mlcn2":
                if depth != 1:
                    raise ValueError("mlcn2 lanes have depth 1 only (spec 1.3)")
                mods.append(Mlcn2Lane(in_shape, width, classes))
            else:
                raise ValueError(f"unknown lane type {kind}")
        self.lanes = nn.ModuleList(mods)
        self.decoder = Decoder(classes * len(mods), c * h * w)
        keras_init_(self.decoder)

    def forward(self, x, labels):
        """Training-mode step (no lane dropout): decoder masked by the true label."""
        V = torch.stack([lane(x) for lane in self.lanes], dim=2)  # (B, K, L)
        return losses(length(V), self.decoder(masked_flat(V, labels)), x, labels)


def build(config, in_shape=(1, 28, 28)):
    """Model from a golden-file style config dict: {"model": {"type": ..., "lanes": [...]}}."""
    m = config["model"]
    if m["type"] == "capsnet":
        return CapsNet(in_shape, routings=m.get("routings", 3))
    lanes = [(l["type"], l["width"], l.get("depth", 1)) for l in m["lanes"]]
    return MLCN(lanes, in_shape)


def lane_params(lane):
    """Number of parameters of one lane (decoder excluded)."""
    return sum(p.numel() for p in lane.parameters())
