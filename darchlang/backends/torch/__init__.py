"""The PyTorch backend: compile an architecture to an `nn.Module`, summarize and export it.

    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.summary import summarize
    model = compile_architecture(arch, (3, 32, 32), device="cpu")
    print(summarize(model).render())

Each name is imported from the module that defines it; this package's own import
imports nothing, so the modules that do not need torch stay free of it: the lowering
table (`lowering`: `TorchLowering`, which every environment reads) and the shape
planner (`plan`: `plan_network`, `parse_shape`, which shape checking uses). The rest
imports torch: `compiler` (`compile_architecture`, `compile_plan`, `CompiledModel`),
`summary` (`summarize`, `render_summary`, `Summary`, `SummaryRow`), `export`
(`emit_python`, `export_onnx`) and `runtime` (the modules compiled models use).
"""
