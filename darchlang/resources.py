"""Where the grammar and the standard library are, installed or in a source checkout.

The repository keeps them at its top level (`grammar/darch.lark`, `stdlib/*.darch`) so
that they read as the language's reference and library, not as Python internals. A wheel
carries them inside the package (`darchlang/grammar`, `darchlang/stdlib`: hatchling's
`force-include`, see pyproject.toml). An editable install and `PYTHONPATH=checkout` both
import `darchlang` from the checkout, where the folders sit beside the package. This is
the one module that knows both places; everything else asks it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path


@cache
def _folder(name: str, marker: str) -> Path:
    package = Path(str(resources.files("darchlang")))
    for place in (package / name, package.parent / name):
        if (place / marker).is_file():
            return place
    raise RuntimeError(f"darchlang is installed without its {name}/ folder "
                       f"(looked in {package / name} and {package.parent / name})")


def grammar_path() -> Path:
    """The LALR grammar file, `darch.lark`."""
    return _folder("grammar", "darch.lark") / "darch.lark"


def grammar_text() -> str:
    return grammar_path().read_text("utf-8")


def stdlib_dir() -> Path:
    """The standard library's folder: the prelude and the library of spaces."""
    return _folder("stdlib", "prelude.darch")


def prelude_files() -> list[Path]:
    """The prelude's files (`prelude*.darch`), in the order they load."""
    return sorted(stdlib_dir().glob("prelude*.darch"))
