"""The PyTorch backend: compile an architecture to an `nn.Module`, summarize and export it.

    from darchlang.backends.torch import compile_architecture, summarize, emit_python
    model = compile_architecture(arch, (3, 32, 32), device="cpu")
    print(summarize(model).render())

Names resolve lazily (PEP 562), so importing the lowering table (which every
environment does) or the planner (which shape checking uses) does not import torch.
"""

from __future__ import annotations

from darchlang.lazy import lazy_exports

_EXPORTS = {
    "compile_architecture": "compiler",
    "compile_plan": "compiler",
    "CompiledModel": "compiler",
    "plan_network": "plan",
    "parse_shape": "plan",
    "Plan": "plan",
    "summarize": "summary",
    "render_summary": "summary",
    "Summary": "summary",
    "SummaryRow": "summary",
    "TorchLowering": "lowering",
    "emit_python": "export",
    "export_onnx": "export",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
