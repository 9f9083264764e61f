"""The initializers and the few modules torch lacks, written so their source can be
copied into standalone exports.

Compiled models call these, and `emit_python` copies the source of each one a model
uses verbatim into the file it writes, so a model built from the export with the same
torch seed gets exactly the compiled model's weights. Keep this module free of
darchlang imports: it must run with only torch (and `math`) available.

Fans follow the usual convention: a weight of shape (out, in, *kernel) has
fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def kaiming_(layer: nn.Module, gain: float) -> nn.Module:
    """He init: weight ~ Normal(0, std = gain * sqrt(2 / fan_in)); bias zero."""
    weight = layer.weight
    fan_in = weight.shape[1] * weight[0, 0].numel()
    nn.init.normal_(weight, 0.0, gain * math.sqrt(2.0 / fan_in))
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def xavier_(layer: nn.Module, gain: float) -> nn.Module:
    """Glorot init: weight ~ Uniform(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); bias zero."""
    weight = layer.weight
    receptive = weight[0, 0].numel()
    fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    nn.init.uniform_(weight, -bound, bound)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def invsqrt_gaussian_(layer: nn.Module, gain: float) -> nn.Module:
    """Scaled Gaussian: weight ~ Normal(0, std = gain * sqrt(1 / fan_in)); bias zero."""
    weight = layer.weight
    fan_in = weight.shape[1] * weight[0, 0].numel()
    nn.init.normal_(weight, 0.0, gain * math.sqrt(1.0 / fan_in))
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


INITIALIZERS = {
    "kaiming": kaiming_,
    "xavier": xavier_,
    "invsqrt_gaussian": invsqrt_gaussian_,
}


class SelfAttention(nn.Module):
    """Multi-head self-attention over tokens (B, N, D): one linear map to queries, keys
    and values of `heads` x `head_dim`, scaled dot-product attention, a map back to D."""

    def __init__(self, dim: int, heads: int, head_dim: int, bias: bool = True):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(dim, 3 * heads * head_dim, bias=bias)
        self.proj = nn.Linear(heads * head_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).unflatten(-1, (3, self.heads, self.head_dim)).permute(2, 0, 3, 1, 4)
        return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).flatten(2))


class PositionEmbedding(nn.Module):
    """Adds a learned vector per position (B, N, D) + (1, N, D); starts at N(0, 0.02)."""

    def __init__(self, tokens: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight


class ClassToken(nn.Module):
    """Puts a learned token before the sequence: (B, N, D) -> (B, N + 1, D)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, 1, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.weight.expand(x.shape[0], -1, -1), x], 1)


class TokenMixing(nn.Module):
    """MLP-Mixer's token-mixing MLP on (B, N, D): Linear(N, hidden), GELU, Linear(hidden, N)
    along the token axis, the same weights for every feature; the output is (B, N, D)."""

    def __init__(self, tokens: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(tokens, hidden)
        self.fc2 = nn.Linear(hidden, tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x.transpose(1, 2)))).transpose(1, 2)


class WindowAttention(nn.Module):
    """Swin's (shifted) window attention on (B, N, D), N = side x side tokens in row-major
    order: the grid is rolled up and left by `shift`, cut into w x w windows, each
    attended on its own with a learned relative position bias per head, and rolled back.
    A shifted window gathers tokens from across the grid's edges; the mask (-100 added
    to their scores, as Swin) keeps those regions from attending to each other. A window
    that covers the whole grid is not shifted (Swin's rule)."""

    def __init__(self, dim: int, heads: int, side: int, window: int, shift: int,
                 position_bias: bool = True):
        super().__init__()
        self.heads, self.side, self.window = heads, side, window
        self.shift = 0 if window == side else shift
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)
        rel = coords[:, :, None] - coords[:, None, :] + (window - 1)
        self.register_buffer("index", rel[0] * (2 * window - 1) + rel[1], persistent=False)
        self.table = None
        if position_bias:
            self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.02)
        self.register_buffer("mask", self._mask(), persistent=False)

    def _mask(self) -> torch.Tensor:
        """(windows, w * w, w * w): 0 within a region of the rolled grid, -100 across."""
        side, w, s = self.side, self.window, self.shift
        bands = torch.zeros(side, dtype=torch.long)
        if s:
            bands[side - w:side - s] = 1
            bands[side - s:] = 2
        region = (bands[:, None] * 3 + bands[None, :]).view(side // w, w, side // w, w)
        region = region.transpose(1, 2).reshape(-1, w * w)
        return (region[:, :, None] != region[:, None, :]).float() * -100.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        side, w, s, heads = self.side, self.window, self.shift, self.heads
        x = x.reshape(b, side, side, d)
        if s:
            x = torch.roll(x, (-s, -s), (1, 2))
        x = x.reshape(b, side // w, w, side // w, w, d).transpose(2, 3).reshape(b, -1, w * w, d)
        # windows and heads on one axis: 4-D attention, the mask broadcast over the batch
        q, k, v = (self.qkv(x).unflatten(-1, (3, heads, d // heads)).permute(3, 0, 1, 4, 2, 5)
                   .flatten(2, 3))
        bias = self.mask[:, None].expand(-1, heads, -1, -1)
        if self.table is not None:
            bias = bias + self.table[self.index].permute(2, 0, 1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.flatten(0, 1))
        y = self.proj(y.unflatten(1, (-1, heads)).transpose(2, 3).flatten(3))
        y = y.reshape(b, side // w, side // w, w, w, d).transpose(2, 3).reshape(b, side, side, d)
        if s:
            y = torch.roll(y, (s, s), (1, 2))
        return y.reshape(b, n, d)


class PatchMerge(nn.Module):
    """Swin's patch merging on (B, N, D), N = side x side: each 2x2 group of tokens
    concatenated in Swin's order (top-left, bottom-left, top-right, bottom-right) to 4D
    features, layer-normalized, and mapped without a bias to `dim`: (B, N / 4, dim)."""

    def __init__(self, dim_in: int, dim: int, side: int, norm: bool = True):
        super().__init__()
        self.side = side
        self.norm = nn.LayerNorm(4 * dim_in) if norm else nn.Identity()
        self.reduction = nn.Linear(4 * dim_in, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, d = x.shape
        half = self.side // 2
        x = x.reshape(b, half, 2, half, 2, d).permute(0, 1, 3, 4, 2, 5).reshape(b, half * half, 4 * d)
        return self.reduction(self.norm(x))


MODULES = {"SelfAttention": SelfAttention, "PositionEmbedding": PositionEmbedding,
           "ClassToken": ClassToken, "TokenMixing": TokenMixing,
           "WindowAttention": WindowAttention, "PatchMerge": PatchMerge}
