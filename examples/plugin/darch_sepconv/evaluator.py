"""A regression evaluator: any callable that takes an architecture and returns an
`EvalResult` can drive a darchlang search."""

from __future__ import annotations

import time

from darchlang.train.result import EvalResult


class ToyRegression:
    """Fits y = a smooth function of a small image, scores -MSE on held-out data.

    The network must end in one output unit (`affine(units: 1)`). Everything is seeded,
    so the same architecture gets the same score.
    """

    def __init__(self, steps: int = 60, seed: int = 0, input_shape=(3, 8, 8)):
        self.steps, self.seed, self.input_shape = steps, seed, tuple(input_shape)

    def data(self):
        import torch

        g = torch.Generator().manual_seed(self.seed)
        x = torch.randn(256, *self.input_shape, generator=g)
        y = (x[:, 0].mean(dim=(1, 2)) - 0.5 * x[:, 1:].abs().mean(dim=(1, 2, 3))).unsqueeze(1)
        return x[:192], y[:192], x[192:], y[192:]

    def __call__(self, arch) -> EvalResult:
        import torch

        from darchlang.backends.torch.compiler import compile_architecture

        start = time.perf_counter()
        torch.manual_seed(self.seed)
        model = compile_architecture(arch, self.input_shape)
        xt, yt, xv, yv = self.data()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        for step in range(self.steps):
            i = (step * 32) % len(xt)
            loss = torch.nn.functional.mse_loss(model(xt[i:i + 32]), yt[i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            mse = float(torch.nn.functional.mse_loss(model(xv), yv))
        if mse != mse:
            return EvalResult.failed("the loss became NaN", identity=arch.identity)
        return EvalResult("ok", score=-mse, metrics={"val_mse": mse}, identity=arch.identity,
                          seconds=time.perf_counter() - start)
