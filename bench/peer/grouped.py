"""The PyTorch peer's MLCN with its lanes batched (the strongest form we found for PyTorch on the
CPU): L mlcn1 lanes of one width and depth run as one network, each stage one convolution over
all lanes (the first conv with L*f filters on the shared image, the others grouped by lane,
groups=L), and the lane capsule layers as one batched matmul. It computes the same function as
models.MLCN (from_mlcn copies a per-lane model's weights; check() compares losses and
gradients), so its step time is the same work with fewer, larger calls.

    /usr/bin/python3 bench/peer/grouped.py   # check: grouped equals per-lane (loss, gradients)
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from models import MLCN, Decoder, length, losses, masked_flat, squash, to_capsules


def groupable(lanes):
    """True when every lane is mlcn1 with one width and depth (and there are at least 2)."""
    return len(lanes) >= 2 and all(k == "mlcn1" for k, _, _ in lanes) and len(set(lanes)) == 1


class GroupedMLCN(nn.Module):
    """L identical mlcn1 lanes (width w, depth d) as one network; same outputs as models.MLCN."""

    def __init__(self, lanes, in_shape=(1, 28, 28), classes=10):
        super().__init__()
        if not groupable(lanes):
            raise ValueError("GroupedMLCN needs at least 2 mlcn1 lanes of one width and depth")
        c, h, w = in_shape
        self.L, width, depth = len(lanes), lanes[0][1], lanes[0][2]
        f, L = 16 * width, self.L
        self.f, self.classes = f, classes
        self.conv1 = nn.Conv2d(c, L * f, 9)
        self.primary = nn.Conv2d(L * f, L * 2 * f, 6, stride=2, groups=L)
        n = ((h - 8 - 6) // 2 + 1) * ((w - 8 - 6) // 2 + 1) * 2 * width
        n_tot = n
        self.deep_conv, self.deep_primary = nn.ModuleList(), nn.ModuleList()
        for _ in range(2, depth + 1):
            self.deep_conv.append(nn.Conv2d(L, L * f, 9, groups=L))
            self.deep_primary.append(nn.Conv2d(L * f, L * 2 * f, 6, stride=3, groups=L))
            n = ((n - 8 - 6) // 3 + 1) * 2 * width
            n_tot += n
        self.n_tot = n_tot
        self.W = nn.Parameter(torch.empty(L, n_tot * 16, classes))  # lane l: (N_tot*16, K)
        self.decoder = Decoder(classes * L, c * h * w)

    def _lane_caps(self, conv_out):
        """Grouped primary output (B, L*2f, H, W) -> per-lane capsules (B, L, N, 16)."""
        b, _, hh, ww = conv_out.shape
        y = conv_out.reshape(b, self.L, 2 * self.f, hh, ww)
        return squash(y.permute(0, 1, 3, 4, 2).reshape(b, self.L, -1, 16))

    def forward(self, x, labels):
        b = x.shape[0]
        u = self._lane_caps(self.primary(F.relu(self.conv1(x))))  # (B, L, N1, 16)
        levels = [u]
        for conv, prim in zip(self.deep_conv, self.deep_primary):
            u = self._lane_caps(prim(F.relu(conv(u))))  # the capsules of each lane as its 1-channel image
            levels.append(u)
        u = torch.cat(levels, dim=2) if len(levels) > 1 else u  # (B, L, N_tot, 16)
        s = torch.bmm(u.reshape(b, self.L, -1).transpose(0, 1), self.W)  # (L, B, K)
        V = squash(s).permute(1, 2, 0)  # (B, K, L)
        return losses(length(V), self.decoder(masked_flat(V, labels)), x, labels)

    @torch.no_grad()
    def from_mlcn(self, m):
        """Copies the weights of a per-lane models.MLCN with the same lanes."""
        L = self.L
        self.conv1.weight.copy_(torch.cat([ln.conv1.weight for ln in m.lanes]))
        self.conv1.bias.copy_(torch.cat([ln.conv1.bias for ln in m.lanes]))
        self.primary.weight.copy_(torch.cat([ln.primary.weight for ln in m.lanes]))
        self.primary.bias.copy_(torch.cat([ln.primary.bias for ln in m.lanes]))
        for k in range(len(self.deep_conv)):
            for mine, theirs in ((self.deep_conv[k], "deep_conv"), (self.deep_primary[k], "deep_primary")):
                mine.weight.copy_(torch.cat([getattr(ln, theirs)[k].weight for ln in m.lanes]))
                mine.bias.copy_(torch.cat([getattr(ln, theirs)[k].bias for ln in m.lanes]))
        for lane in range(L):
            W = m.lanes[lane].W  # (N, K, 16) -> (N*16, K) as models.lane_capsule reads it
            n, k, d = W.shape
            self.W[lane].copy_(W.permute(0, 2, 1).reshape(n * d, k))
        self.decoder.load_state_dict(m.decoder.state_dict())
        return self


def check(lanes=(("mlcn1", 2, 2),) * 3, batch=4):
    """Loss and every gradient of the grouped form equal the per-lane form's (float64)."""
    torch.manual_seed(0)
    ref = MLCN(list(lanes)).double()
    grp = GroupedMLCN(list(lanes)).double().from_mlcn(ref)
    x = torch.rand(batch, 1, 28, 28, dtype=torch.float64)
    labels = torch.randint(0, 10, (batch,))
    lr, lg = ref(x, labels).loss, grp(x, labels).loss
    lr.backward()
    lg.backward()
    assert torch.allclose(lr, lg, rtol=1e-10), (float(lr), float(lg))
    g_ref = torch.cat([ln.conv1.weight.grad.flatten() for ln in ref.lanes])
    assert torch.allclose(g_ref, grp.conv1.weight.grad.flatten(), rtol=1e-8, atol=1e-12)
    g_ref = torch.cat([ln.primary.weight.grad.flatten() for ln in ref.lanes])
    assert torch.allclose(g_ref, grp.primary.weight.grad.flatten(), rtol=1e-8, atol=1e-12)
    for lane in range(len(lanes)):
        W = ref.lanes[lane].W.grad
        n, k, d = W.shape
        assert torch.allclose(W.permute(0, 2, 1).reshape(n * d, k), grp.W.grad[lane], rtol=1e-8, atol=1e-12)
    return float(lr), float(lg)


if __name__ == "__main__":
    for lanes in ((("mlcn1", 2, 2),) * 3, (("mlcn1", 4, 1),) * 2):
        print("grouped == per-lane:", lanes[0], "x", len(lanes), check(lanes))
    sys.exit(0)
