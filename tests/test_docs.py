"""Every darchlang example in docs/ runs: it loads, and its stated count is exact."""

import re
from pathlib import Path

import pytest

import darchlang
from darchlang import DarchError

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```(darch|darch-error)\n(.*?)```\n(?:\n```text\n(.*?)```)?", re.S)


def blocks(kind):
    out = []
    for page in sorted(DOCS.glob("*.md")):
        for i, m in enumerate(BLOCK.finditer(page.read_text())):
            if m.group(1) == kind:
                out.append(pytest.param(page, m.group(2), m.group(3), id=f"{page.stem}-{i}"))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("page", "code", "expected"), blocks("darch"))
def test_darch_examples_load_and_count(page, code, expected):
    space = darchlang.load_string(code, str(page.with_name("example.darch"))).space
    stated = re.search(r"# count: (\d+)", code)
    if stated:
        assert space.count() == int(stated.group(1))
    arch = space.sample(0)
    assert darchlang.load_string(arch.text).space.count() == 1


@pytest.mark.parametrize(("page", "code", "expected"), blocks("darch-error"))
def test_error_examples_render_as_shown(page, code, expected):
    with pytest.raises(DarchError) as info:
        _ = darchlang.load_string(code, "example.darch").space
    assert info.value.render() + "\n" == expected


# a path into the repository, as the docs name files for the reader to open or run
REPO_PATH = re.compile(r"\b(?:examples|stdlib|bench|tests|docs|editors|grammar|darchlang)/"
                       r"[\w./-]+\.(?:darch|py|md|lark|ipynb|json|toml)\b")


@pytest.mark.parametrize("page", [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"],
                         ids=lambda p: p.name)
def test_every_file_the_docs_name_exists(page):
    """A reader runs `darch count stdlib/darts.darch` as written: every file a page
    names under the repository's folders is there (a rename updates the docs too)."""
    named = set(REPO_PATH.findall(page.read_text()))
    assert [n for n in sorted(named) if not (DOCS.parent / n).exists()] == []
