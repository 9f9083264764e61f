"""Imports: the flat form, `import ... as` namespaces, `from ... import` names, clashes
that name both origins, the printed forms (formatter, REPL highlighting), and the
policy for what an import may read (links, `..`, absolute paths, special files)."""

import os
import subprocess
import sys

import pytest
from pygments.token import Error

import darchlang
from darchlang import DarchError, resources
from darchlang.repl.lexer import DarchLexer
from darchlang.syntax.formatter import format_source

BLOCKS = """\
def inverted_residual(c) = concat [conv2d(filters: c, size: one_of(3, 5)), relu()]
def squeeze_excite() = one_of(relu(), tanh())
def _private() = relu()
width = one_of(8, 16)
"""
OTHER = "def squeeze_excite() = relu()\n"


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "blocks.darch").write_text(BLOCKS)
    (folder / "other.darch").write_text(OTHER)
    return folder


def load(project, text):
    main = project / "main.darch"
    main.write_text(text)
    return darchlang.load_file(main)


def error(project, text) -> DarchError:
    with pytest.raises(DarchError) as info:
        _ = load(project, text).space
    return info.value


def test_namespace_import(project):
    program = load(project, 'import "blocks" as b\n'
                            "space = concat [b.inverted_residual(b.width), b.squeeze_excite()]")
    assert program.space.count() == 2 * 2 * 2
    assert "inverted_residual" not in program.names and "b" in program.names


def test_from_import_brings_only_the_names_listed(project):
    program = load(project, 'from "blocks" import inverted_residual, squeeze_excite\n'
                            "space = concat [inverted_residual(4), squeeze_excite()]")
    assert program.space.count() == 4
    err = error(project, 'from "blocks" import inverted_residual\nspace = squeeze_excite()')
    assert err.message == "unknown name `squeeze_excite`"


def test_flat_import_stays(project):
    assert load(project, 'import "blocks"\nspace = inverted_residual(width)').space.count() == 4


def test_names_a_file_does_not_have(project):
    err = error(project, 'from "blocks" import inverted_residul\nspace = relu()')
    assert err.render().splitlines()[0] == (
        f"{project / 'main.darch'}:1:22: error: blocks.darch has no `inverted_residul` to import")
    assert err.help == "did you mean `inverted_residual`?"
    err = error(project, 'from "blocks" import _private\nspace = relu()')
    assert err.message == "blocks.darch has no `_private` to import"
    err = error(project, 'import "blocks" as b\nspace = b.squeeze_excit()')
    assert (err.message, err.help) == ("`b` (blocks.darch) has no `squeeze_excit`",
                                       "did you mean `squeeze_excite`?")
    assert (err.span.line, err.span.col) == (2, 11)


def test_a_dot_after_something_that_is_not_a_namespace(project):
    err = error(project, "x = 3\nspace = x.y")
    assert err.message == "integer 3 has no fields to read with `.`"
    assert err.help == ('`.` reads a field of a record (`{ k: 3 }`) or a name from a file '
                        'imported with `import "file" as name`')
    assert (err.span.line, err.span.col) == (2, 10)  # the dot


def test_a_clash_names_both_origins(project):
    err = error(project, 'import "blocks"\nimport "other"\nspace = squeeze_excite()')
    assert err.message == "`squeeze_excite` is imported from both blocks.darch and other.darch"
    assert (err.span.line, err.span.col) == (2, 1)
    assert err.notes == [f"blocks.darch was imported at {project / 'main.darch'}:1:1"]
    assert "as` a namespace" in err.help
    err = error(project, 'from "blocks" import width\nwidth = 3\nspace = relu()')
    assert err.message == "`width` is defined twice"
    assert err.notes == [f"imported from blocks.darch at {project / 'main.darch'}:1:22"]


def test_the_same_definition_through_two_files_is_no_clash(project):
    (project / "again.darch").write_text('import "blocks"\n')
    program = load(project, 'import "blocks"\nimport "again"\nspace = squeeze_excite()')
    assert program.space.count() == 2


def test_an_alias_clashes_like_any_name(project):
    err = error(project, 'import "blocks" as b\nimport "other" as b\nspace = relu()')
    assert err.message == "`b` is imported from both blocks.darch and other.darch"


def test_duplicate_names_in_one_from_import(project):
    err = error(project, 'from "blocks" import width, width\nspace = relu()')
    assert (err.message, err.span.col) == ("`width` is imported twice", 29)


SOURCES = [
    'import "blocks" as b\nfrom "blocks" import inverted_residual, squeeze_excite\nimport "other"\n'
    "space = concat [b.inverted_residual(b.width), (b).squeeze_excite()]\n",
]


@pytest.mark.parametrize("text", SOURCES)
def test_formatter_and_highlighter_know_the_import_forms(text):
    out = format_source(text)
    assert out == ('import "blocks" as b\nfrom "blocks" import inverted_residual, squeeze_excite\n'
                   'import "other"\nspace = concat [b.inverted_residual(b.width), b.squeeze_excite()]\n')
    assert format_source(out) == out
    assert not [v for t, v in DarchLexer().get_tokens(text) if t is Error]


# ---- the import policy -------------------------------------------------------------------
def cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=60)


@pytest.fixture
def outside(tmp_path):
    """A folder beside the project, with a darchlang file and a secret."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "shared.darch").write_text("def shared() = relu()\n")
    (folder / "secret.txt").write_text("API_KEY=hunter2 is not darchlang\n")
    return folder


@pytest.mark.slow
def test_a_link_out_of_the_project_is_refused_without_quoting_its_target(project, outside):
    (project / "secret.darch").symlink_to(outside / "secret.txt")
    (project / "environ.darch").symlink_to("/proc/self/environ")
    for name in ("secret", "environ"):
        main = project / "main.darch"
        main.write_text(f'import "{name}"\nspace = relu()\n')
        r = cli("check", str(main), env={**os.environ, "DARCH_SECRET": "hunter2"})
        assert r.returncode == 1 and "hunter2" not in r.stderr, r.stderr
        assert f"error: `{name}` leads outside the project" in r.stderr


def test_parent_and_absolute_imports_stay_inside_the_project(project, outside):
    (project / "lib").mkdir()
    (project / "lib" / "up.darch").write_text('import "../blocks"\n')
    ok = load(project, 'import "lib/up"\nspace = inverted_residual(width)')
    assert ok.space.count() == 4
    assert load(project, f'import "{project / "blocks.darch"}"\nspace = squeeze_excite()')
    for path in ("../outside/shared", str(outside / "shared.darch")):
        err = error(project, f'import "{path}"\nspace = shared()')
        assert err.message.startswith(f"`{path}` leads outside the project")
        assert "--import-path DIR or the DARCH_PATH" in err.help


@pytest.mark.slow
def test_import_path_flag_and_environment_variable(project, outside):
    main = project / "main.darch"
    main.write_text('import "shared"\nspace = shared()\n')
    assert cli("count", str(main)).returncode == 1
    r = cli("count", str(main), "--import-path", str(outside))
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr
    r = cli("count", str(main), env={**os.environ, "DARCH_PATH": f"/nonexistent{os.pathsep}{outside}"})
    assert (r.returncode, r.stdout) == (0, "1\n"), r.stderr
    main.write_text('import "../outside/shared"\nspace = shared()\n')
    assert cli("count", str(main), "--import-path", str(outside)).returncode == 0


def test_a_link_inside_the_project_or_into_the_stdlib_is_fine(project):
    (project / "alias.darch").symlink_to(project / "blocks.darch")
    (project / "prelude_link.darch").symlink_to(resources.stdlib_dir() / "prelude.darch")
    program = load(project, 'import "alias" as a\nimport "prelude_link" as p\n'
                            "space = p.optional(a.squeeze_excite())")
    assert program.space.count() == 3


def test_special_files_are_refused_at_once(project):
    os.mkfifo(project / "pipe.darch")  # opening it would wait for a writer forever
    (project / "folder.darch").mkdir()
    for name in ("pipe", "folder"):
        err = error(project, f'import "{name}"\nspace = relu()')
        assert err.message == f"`{name}` is not a regular file"


@pytest.mark.parametrize(("data", "why"), [
    (b"space = relu()\x00SECRET\n", "it holds the control character U+0000 (at character 14)"),
    (b"x = 1\n\xff\xfeSECRET\n", "it is not UTF-8 (at byte 6)"),
    (b"x = 1 \x1b[31mSECRET\n", "it holds the control character U+001B (at character 6)"),
])
def test_files_that_are_not_darchlang_text_are_never_quoted(project, data, why):
    (project / "binary.darch").write_bytes(data)
    err = error(project, 'import "binary"\nspace = relu()')
    assert err.message == f"`binary` is not darchlang text: {why}"
    assert "SECRET" not in err.render() and err.span.line == 1
