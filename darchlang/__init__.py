"""darchlang: neural architecture search spaces as a language.

    import darchlang
    program = darchlang.load_file("examples/cifar10_complex.darch")
    space = program.space
    space.count()                  # exact number of architectures
    arch = space.sample(seed=3)    # a concrete architecture
    print(arch.text)               # .darch text with no choices left
    space.replay(arch.decisions)   # the same architecture again
"""

from darchlang.errors import DarchError
from darchlang.semantics.program import Program, load_file, load_string

__version__ = "0.1.0"

__all__ = ["DarchError", "Program", "load_file", "load_ipython_extension", "load_string",
           "__version__"]


def load_ipython_extension(ipython) -> None:  # noqa: ANN001  IPython's shell
    """`%load_ext darchlang` in Jupyter or IPython: the `%%darch` cell magic and friends."""
    from darchlang.notebook import load_ipython_extension as load

    load(ipython)
