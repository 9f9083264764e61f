"""Compiled darchlang model vs a hand-written nn.Module of the same layers.

For three architectures of `examples/cifar10_complex.darch` (small, medium, and the
deepest: 32 tied repeats in both blocks), and three of today's (a DARTS network of
separable and dilated convolutions in graph cells, a MobileNet of inverted residuals
with squeeze-excitation, and a small ViT), this measures, on one torch thread:

- construction: `compile_architecture(arch, ...)` (shape inference, code generation,
  modules, initialization) against the hand-written class's constructor;
- forward + backward throughput on a fixed batch, in training mode.

Measurements are interleaved (hand, compiled, compiled, hand, ...) and repeated, and the
table reports medians and ratios. Times are this process's CPU time by default, which
other processes competing for the cores disturb far less than wall-clock time
(`--wall` for wall-clock). Before timing, the hand-written model is loaded with
the compiled model's weights and must give the same outputs, so both really are the
same network. Targets: throughput >= 0.98x hand-written, construction <= 1.2x.

    python bench/bench_backend.py            # about a minute on one core
    python bench/bench_backend.py --quick    # fewer rounds
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import darchlang
from darchlang.backends.torch.compiler import compile_architecture

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cifar10_complex.darch"
INPUT = (3, 32, 32)


# -- the three architectures ------------------------------------------------------------


@dataclass
class Stage:
    """One `inner` module of the complex space: conv, relu/batch norm in some order,
    optional dropout."""

    filters: int
    size: int
    stride: int
    bn_first: bool
    keep: float | None


@dataclass
class Config:
    name: str
    stem1: Stage
    block1: Stage
    residual1: bool
    times1: int
    stem2: Stage
    block2: Stage
    residual2: bool
    times2: int
    batch: int


CONFIGS = [
    Config("small", Stage(48, 3, 2, True, None), Stage(48, 3, 1, False, None), False, 1,
           Stage(96, 3, 2, True, None), Stage(96, 3, 1, True, 0.9), False, 1, batch=32),
    Config("medium", Stage(64, 5, 2, False, 0.9), Stage(80, 3, 1, True, 0.9), True, 4,
           Stage(128, 3, 2, True, None), Stage(160, 3, 1, False, 0.5), True, 4, batch=32),
    Config("deepest", Stage(48, 3, 2, True, None), Stage(48, 3, 1, True, 0.9), True, 32,
           Stage(96, 3, 2, True, None), Stage(96, 3, 1, True, 0.9), True, 32, batch=16),
]

_FILTERS1 = [48, 64, 80, 96, 112, 128]
_FILTERS2 = [96, 128, 160, 192, 224, 256]
_TIMES = [1, 2, 4, 8, 16, 32]


def decisions_by_name(cfg: Config) -> dict[str, int]:
    """The config as option indices by choice name, for `Space.replay_names`."""
    out: dict[str, int] = {}

    def inner(prefix: str, st: Stage, filters: list[int], sizes: list[int]) -> None:
        out[f"{prefix}/0/conv2d/filters"] = filters.index(st.filters)
        out[f"{prefix}/0/conv2d/size"] = sizes.index(st.size)
        out[f"{prefix}/0/conv2d/init/kaiming.gain"] = 1
        out[f"{prefix}/1"] = 1 if st.bn_first else 0
        out[f"{prefix}/2"] = 0 if st.keep is None else 1
        if st.keep is not None:
            out[f"{prefix}/2/or1/dropout/keep"] = [0.5, 0.9].index(st.keep)

    inner("space/0", cfg.stem1, _FILTERS1, [3, 5, 7])
    inner("space/2", cfg.stem2, _FILTERS1 if cfg.stem2.filters in _FILTERS1 else _FILTERS2, [3, 5, 7])
    for i, (st, res, times, filters) in enumerate(
        [(cfg.block1, cfg.residual1, cfg.times1, _FILTERS1), (cfg.block2, cfg.residual2, cfg.times2, _FILTERS2)]
    ):
        block = f"space/{1 + 2 * i}/repeat_tied"
        out[f"{block}/times"] = _TIMES.index(times)
        out[f"{block}/body"] = 1 if res else 0
        body = f"{block}/body/or1/residual/body" if res else f"{block}/body/or0"
        inner(body, st, filters, [3, 5])
    out["space/4/affine/init/xavier.gain"] = 1
    return out


# -- the hand-written model -------------------------------------------------------------


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class Inner(nn.Module):
    """Conv with TensorFlow "same" padding, relu and batch norm, optional dropout."""

    def __init__(self, cin: int, st: Stage, size: int):
        super().__init__()
        before, after = same_pads(size, st.size, st.stride)
        self.pad = (before, after, before, after) if before != after else None
        self.conv = nn.Conv2d(cin, st.filters, st.size, st.stride, padding=0 if self.pad else before)
        nn.init.normal_(self.conv.weight, 0.0, math.sqrt(2.0 / (cin * st.size**2)))
        nn.init.zeros_(self.conv.bias)
        self.bn = nn.BatchNorm2d(st.filters)
        self.bn_first = st.bn_first
        self.p = None if st.keep is None else 1.0 - st.keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = F.pad(x, self.pad)
        x = self.conv(x)
        x = F.relu(self.bn(x)) if self.bn_first else self.bn(F.relu(x))
        if self.p is not None:
            x = F.dropout(x, self.p, self.training)
        return x


class Residual(nn.Module):
    """x + body(x), zero-padding the narrower channels (DeepArchitect's join)."""

    def __init__(self, body: Inner, cin: int):
        super().__init__()
        self.body = body
        self.extra = body.conv.out_channels - cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.extra > 0:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra))
        elif self.extra < 0:
            y = F.pad(y, (0, 0, 0, 0, 0, -self.extra))
        return y + x


class HandNet(nn.Module):
    def __init__(self, cfg: Config, num_classes: int = 10):
        super().__init__()
        layers: list[nn.Module] = []
        c, n = INPUT[0], INPUT[1]
        for stem, block, res, times in [
            (cfg.stem1, cfg.block1, cfg.residual1, cfg.times1),
            (cfg.stem2, cfg.block2, cfg.residual2, cfg.times2),
        ]:
            layers.append(Inner(c, stem, n))
            c, n = stem.filters, -(-n // stem.stride)
            for _ in range(times):
                inner = Inner(c, block, n)
                layers.append(Residual(inner, c) if res else inner)
                c = max(c, block.filters) if res else block.filters
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c * n * n, num_classes)
        bound = math.sqrt(6.0 / (c * n * n + num_classes))
        nn.init.uniform_(self.fc.weight, -bound, bound)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


# -- measuring --------------------------------------------------------------------------


def step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def check_same(compiled: nn.Module, hand: nn.Module, x: torch.Tensor) -> None:
    """Copy the compiled weights into the hand-written model (same order) and compare."""
    a, b = list(compiled.state_dict().values()), list(hand.state_dict().values())
    assert [t.shape for t in a] == [t.shape for t in b], "the two models differ in layers"
    hand.load_state_dict(dict(zip(hand.state_dict().keys(), a, strict=True)))
    compiled.eval()
    hand.eval()
    with torch.no_grad():
        diff = (compiled(x) - hand(x)).abs().max().item()
    compiled.train()
    hand.train()
    assert diff < 1e-4, f"outputs differ by {diff}"


def bench(arch, make_hand, batch: int, rounds: int, clock) -> dict[str, float]:
    """Alternate single measurements of the two models (order flipped every round), so
    load from other processes hits both alike; keep every sample."""
    torch.manual_seed(0)
    x = torch.randn(batch, *INPUT)
    y = torch.randint(0, 10, (batch,))
    makers = {"hand": make_hand, "compiled": lambda: compile_architecture(arch, INPUT)}
    models = {name: make() for name, make in makers.items()}
    check_same(models["compiled"], models["hand"], x[:4])
    for model in models.values():  # warm up the allocator and kernels
        step(model, x, y)
    samples: dict[str, list[float]] = {f"{k}_{n}": [] for k in ("build", "run") for n in models}
    for r in range(rounds):
        order = ["hand", "compiled"] if r % 2 == 0 else ["compiled", "hand"]
        for name in order:
            start = clock()
            makers[name]()
            samples[f"build_{name}"].append(clock() - start)
        for name in order:
            start = clock()
            step(models[name], x, y)
            samples[f"run_{name}"].append(clock() - start)
    out: dict[str, float] = {}
    for key, values in samples.items():
        out[key] = statistics.median(values)
        out[key + "_min"] = min(values)
    out["params"] = sum(p.numel() for p in models["compiled"].parameters())
    out["modules"] = len(list(models["compiled"].children()))
    return out


# -- today's architectures: DARTS cells, inverted residuals, a ViT ---------------------------
#
# Each is one fixed architecture written in darchlang beside the nn.Module one would write
# by hand, layer for layer in the same order (so `check_same` can copy the weights over).

DARTS = """
def sep3(c) = concat [relu(), depthwise_conv2d(size: 3, bias: false), conv2d(filters: c, size: 1, bias: false),
                      batch_norm(), relu(), depthwise_conv2d(size: 3, bias: false),
                      conv2d(filters: c, size: 1, bias: false), batch_norm()]
def dil3(c) = concat [relu(), depthwise_conv2d(size: 3, dilation: 2, bias: false),
                      conv2d(filters: c, size: 1, bias: false), batch_norm()]
def cell(c) = graph(x) {
    p = concat [relu(), conv2d(filters: c, size: 1, bias: false), batch_norm()](x)
    n0 = add(sep3(c)(p), dil3(c)(p))
    n1 = add(sep3(c)(n0), max_pool2d(size: 3, stride: 1)(p))
    n2 = add(dil3(c)(n0), p)
    n3 = add(sep3(c)(n1), avg_pool2d(size: 3, stride: 1)(n2))
    y = cat(n0, n1, n2, n3)
    return y
}
space = concat [conv2d(filters: 16, size: 3, bias: false), batch_norm(),
                cell(16), cell(16), cell(16), global_avg_pool(), affine(units: 10)]
"""


class SepConv(nn.Module):
    def __init__(self, cin: int, c: int, dilation: int = 1, twice: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(2 if twice else 1):
            cc = cin if i == 0 else c
            layers += [nn.ReLU(), nn.Conv2d(cc, cc, 3, padding=dilation, dilation=dilation, groups=cc,
                                            bias=False),
                       nn.Conv2d(cc, c, 1, bias=False), nn.BatchNorm2d(c)]
        self.op = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DartsCell(nn.Module):
    def __init__(self, cin: int, c: int):
        super().__init__()
        self.pre = nn.Sequential(nn.ReLU(), nn.Conv2d(cin, c, 1, bias=False), nn.BatchNorm2d(c))
        self.a, self.b = SepConv(c, c), SepConv(c, c, dilation=2, twice=False)
        self.c = SepConv(c, c)
        self.d = SepConv(c, c, dilation=2, twice=False)
        self.e = SepConv(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pre(x)
        n0 = self.a(p) + self.b(p)
        n1 = self.c(n0) + F.max_pool2d(p, 3, 1, padding=1)
        n2 = self.d(n0) + p
        n3 = self.e(n1) + F.avg_pool2d(n2, 3, 1, padding=1, count_include_pad=False)
        return torch.cat([n0, n1, n2, n3], 1)


class HandDarts(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16))
        self.cells = nn.Sequential(DartsCell(16, 16), DartsCell(64, 16), DartsCell(64, 16))
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.cells(self.stem(x)).mean((2, 3)))


MOBILENET = """
def se(c) = graph(x) {
    g = concat [adaptive_avg_pool2d(size: 1), conv2d(filters: c // 4, size: 1), relu(),
                conv2d(filters: c, size: 1), sigmoid()](x)
    y = mul(x, g)
    return y
}
def body(cin, e, k, c, s, gate) = concat [
    conv2d(filters: cin * e, size: 1, bias: false), batch_norm(), hardswish(),
    depthwise_conv2d(size: k, stride: s, bias: false), batch_norm(), hardswish(),
    if gate then se(cin * e) else identity(),
    conv2d(filters: c, size: 1, bias: false), batch_norm(),
]
def ir(cin, e, k, c, s, gate) =
    if s == 1 and cin == c then residual(body(cin, e, k, c, s, gate)) else body(cin, e, k, c, s, gate)
space = concat [
    conv2d(filters: 16, size: 3, stride: 2, bias: false), batch_norm(), hardswish(),
    ir(16, 1, 3, 16, 1, false), ir(16, 4, 3, 24, 2, false), ir(24, 3, 3, 24, 1, false),
    ir(24, 3, 5, 40, 2, true), ir(40, 3, 5, 40, 1, true), ir(40, 6, 3, 80, 2, false),
    ir(80, 6, 3, 80, 1, false),
    conv2d(filters: 320, size: 1, bias: false), batch_norm(), hardswish(),
    global_avg_pool(), affine(units: 10),
]
"""

MOBILE_BLOCKS = [(16, 1, 3, 16, 1, False), (16, 4, 3, 24, 2, False), (24, 3, 3, 24, 1, False),
                 (24, 3, 5, 40, 2, True), (40, 3, 5, 40, 1, True), (40, 6, 3, 80, 2, False),
                 (80, 6, 3, 80, 1, False)]


class SqueezeExcite(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.down, self.up = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.up(F.relu(self.down(x.mean((2, 3), keepdim=True)))))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, e: int, k: int, c: int, s: int, gate: bool, size: int):
        super().__init__()
        mid = cin * e
        pad = same_pads(size, k, s)
        self.pad = None if pad[0] == pad[1] else (pad[0], pad[1], pad[0], pad[1])
        layers: list[nn.Module] = [
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.Hardswish(),
            nn.Conv2d(mid, mid, k, s, padding=pad[0] if self.pad is None else 0, groups=mid, bias=False),
        ]
        self.expand = nn.Sequential(*layers[:3])
        self.dw = layers[3]
        self.rest = nn.Sequential(nn.BatchNorm2d(mid), nn.Hardswish(),
                                  *([SqueezeExcite(mid)] if gate else []),
                                  nn.Conv2d(mid, c, 1, bias=False), nn.BatchNorm2d(c))
        self.residual = s == 1 and cin == c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.expand(x)
        y = self.rest(self.dw(y if self.pad is None else F.pad(y, self.pad)))
        return y + x if self.residual else y


class HandMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        blocks, size = [], 16
        for cin, e, k, c, s, gate in MOBILE_BLOCKS:
            blocks.append(InvertedResidual(cin, e, k, c, s, gate, size))
            size = -(-size // s)
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(80, 320, 1, bias=False), nn.BatchNorm2d(320), nn.Hardswish())
        self.fc = nn.Linear(320, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(F.pad(x, (0, 1, 0, 1)))  # TF "same" for 3x3 stride 2 on 32: 0 before, 1 after
        return self.fc(self.head(self.blocks(x)).mean((2, 3)))


VIT = """
def block(d, heads) = concat [
    residual(concat [layer_norm(), multihead_attention(heads: heads)]),
    residual(concat [layer_norm(), affine(units: 2 * d), gelu(), affine(units: d)]),
]
space = concat [patch_embed(size: 4, dim: 64), class_token(), position_embedding(),
                repeat(block(64, 4), times: 4), layer_norm(), token_pool(mode: "class"),
                affine(units: 10)]
"""


class Token(nn.Module):
    """A learned tensor (the class token, or the position embedding)."""

    def __init__(self, *shape: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, *shape))


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), Attention(d, heads)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class HandViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 64, 4, stride=4)
        self.cls, self.pos = Token(1, 64), Token(65, 64)
        self.blocks = nn.Sequential(*[Block(64, 4) for _ in range(4)])
        self.norm, self.fc = nn.LayerNorm(64), nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.weight.expand(x.shape[0], -1, -1), x], 1) + self.pos.weight
        return self.fc(self.norm(self.blocks(x))[:, 0])


MODERN = [("darts", DARTS, HandDarts, 32), ("mobilenet", MOBILENET, HandMobileNet, 32),
          ("vit", VIT, HandViT, 32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (default 21)")
    parser.add_argument("--quick", action="store_true", help="7 rounds")
    parser.add_argument("--wall", action="store_true",
                        help="time wall-clock instead of this process's CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    torch.set_num_threads(1)
    space = darchlang.load_file(EXAMPLE).space
    rounds = 7 if args.quick else args.rounds
    print(f"torch {torch.__version__}, 1 thread, {rounds} interleaved rounds, "
          f"{'wall-clock' if args.wall else 'process CPU'} time; "
          "times are medians, ratios median (best-of-all in brackets)")
    head = (f"{'arch':<9} {'params':>10} {'modules':>7} {'batch':>5} | {'build hand':>10} "
            f"{'compiled':>9} {'ratio':>14} | {'step hand':>9} {'compiled':>9} {'throughput':>14}")
    print(head)
    print("-" * len(head))
    rows = [(cfg.name, space.replay_names(decisions_by_name(cfg)), lambda cfg=cfg: HandNet(cfg),
             cfg.batch) for cfg in CONFIGS]
    rows += [(name, darchlang.load_string(text, f"<{name}>").space.sample(0), hand, batch)
             for name, text, hand, batch in MODERN]
    for name, arch, make_hand, batch in rows:
        m = bench(arch, make_hand, batch, rounds, clock)
        build = m["build_compiled"] / m["build_hand"]
        build_best = m["build_compiled_min"] / m["build_hand_min"]
        speed = m["run_hand"] / m["run_compiled"]
        speed_best = m["run_hand_min"] / m["run_compiled_min"]
        print(
            f"{name:<9} {m['params']:>10,} {m['modules']:>7} {batch:>5} | "
            f"{m['build_hand'] * 1e3:>8.1f}ms {m['build_compiled'] * 1e3:>7.1f}ms "
            f"{build:>5.2f}x ({build_best:.2f}x) | "
            f"{m['run_hand'] * 1e3:>7.1f}ms {m['run_compiled'] * 1e3:>7.1f}ms "
            f"{speed:>5.3f}x ({speed_best:.3f}x)"
        )
    print("build: compiled / hand time (target <= 1.2); throughput: compiled / hand (target >= 0.98)")


if __name__ == "__main__":
    main()
