"""The NAS-Bench-101 network for a pruned cell (matrix + ops): the benchmark's conv ops, cell,
stacks and head. Arch values, parsing and pruning live in :mod:`swapnas.spaces.nb101`."""

from __future__ import annotations

import torch
from torch import nn

from .ops import MaxPool2d

INPUT, OUTPUT = "input", "output"
CONV1X1, CONV3X3, MAXPOOL3X3 = "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3"
Matrix = tuple[tuple[int, ...], ...]

#: The benchmark's BatchNorm settings (TF momentum 0.997 → PyTorch 1 − 0.997; epsilon 1e-5).
BN_MOMENTUM = 0.003
BN_EPS = 1e-5


class ConvBNReLU(nn.Sequential):
    """Conv (no bias) → BatchNorm → ReLU: the benchmark's conv ops, projections and stem."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=False),
        )


def vertex_channels(c_in: int, c_out: int, matrix: Matrix) -> list[int]:
    """Channels of each vertex of a pruned cell (the benchmark's rule).

    The output's ``c_out`` channels are split among the vertices that feed it (the
    first ``c_out mod k`` of them get one more); every other op vertex takes the largest
    channel count among its successors (a vertex feeding narrower vertices is truncated).
    """
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[n - 1] = c_in, c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    base, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):
        ch[v] = base + (1 if k < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max(ch[w] for w in range(v + 1, n - 1) if matrix[v][w])
    return ch


def _vertex_op(op: str, c: int) -> nn.Module:
    if op == CONV1X1:
        return ConvBNReLU(c, c, 1)
    if op == CONV3X3:
        return ConvBNReLU(c, c, 3)
    return MaxPool2d(3, stride=1, padding=1)


class Cell(nn.Module):
    """One NB101 module (the benchmark's cell) for a pruned spec."""

    def __init__(self, matrix: Matrix, ops: tuple[str, ...], c_in: int, c_out: int):
        super().__init__()
        self.matrix, self.ops = matrix, ops
        n = len(self.ops)
        self.channels = vertex_channels(c_in, c_out, self.matrix)
        # a 1×1 projection of the cell input into every vertex the input feeds (the output included)
        self.proj = nn.ModuleDict({str(v): ConvBNReLU(c_in, self.channels[v], 1)
                                   for v in range(1, n) if self.matrix[0][v]})
        self.vertex_ops = nn.ModuleDict({str(v): _vertex_op(self.ops[v], self.channels[v]) for v in range(1, n - 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m, ch = len(self.ops), self.matrix, self.channels
        values: list[torch.Tensor | None] = [x] + [None] * (n - 1)
        for v in range(1, n - 1):
            terms = [values[u][:, : ch[v]] for u in range(1, v) if m[u][v]]  # type: ignore[index]
            if m[0][v]:
                terms.append(self.proj[str(v)](x))
            values[v] = self.vertex_ops[str(v)](sum(terms[1:], terms[0]))
        feeders = [t for u in range(1, n - 1) if m[u][n - 1] and (t := values[u]) is not None]
        if not feeders:
            return self.proj[str(n - 1)](x)
        out = torch.cat(feeders, dim=1) if len(feeders) > 1 else feeders[0]
        if m[0][n - 1]:
            out = out + self.proj[str(n - 1)](x)
        return out


class Network(nn.Module):
    """The NB101 network: 3×3 conv stem, ``stacks`` stacks of ``cells`` cells, head.

    ``matrix`` and ``ops`` are ``arch``'s pruned cell. Between stacks a 2×2 max-pool (stride 2) halves the resolution and the channel
    count doubles (the first cell of the stack widens); the head is a global average
    pool and a linear classifier.
    """

    def __init__(self, arch: object, matrix: Matrix, ops: tuple[str, ...], C: int = 128, stacks: int = 3,
                 cells: int = 3, num_classes: int = 10):
        super().__init__()
        self.arch = arch
        self.stem = ConvBNReLU(3, C, 3)
        layers: list[nn.Module] = []
        c_prev = c = C
        for s in range(stacks):
            if s > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same' padding
                c *= 2
            for _ in range(cells):
                layers.append(Cell(matrix, ops, c_prev, c))
                c_prev = c
        self.cells = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.cells(self.stem(x))).flatten(1))
