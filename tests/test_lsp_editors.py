"""The editor files and docs/editors.md: what they configure is what the server takes.

The TextMate grammar is run here by a small matcher (first match at the earliest
position wins, as in TextMate) over the complex example, so its scopes are checked
on real text; its keywords must be the parser's. Every code block of
docs/editors.md is either darchlang (run by tests/test_docs.py), a `darch` command
line the CLI accepts, or a configuration snippet that starts `darch lsp`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from darchlang.cli import build_parser
from darchlang.syntax.parser import KEYWORDS

ROOT = Path(__file__).resolve().parent.parent
EDITORS = ROOT / "editors"
GRAMMAR = json.loads((EDITORS / "darch.tmLanguage.json").read_text())
PAGE = (ROOT / "docs" / "editors.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", PAGE, re.S)


# ---- the TextMate grammar ---------------------------------------------------------------
def _patterns(items: list[dict]) -> list[dict]:
    """The grammar's patterns with `include`s resolved, in order."""
    out = []
    for item in items:
        if "include" in item:
            out.extend(_patterns([GRAMMAR["repository"][item["include"][1:]]]))
        elif "patterns" in item and "match" not in item:
            out.extend(_patterns(item["patterns"]))
        else:
            out.append(item)
    return out


def scopes(line: str) -> dict[str, str]:
    """Each word of `line` and the innermost scope the grammar gives it."""
    rules = [(re.compile(p["match"]), p) for p in _patterns(GRAMMAR["patterns"])]
    found: dict[str, str] = {}
    i = 0
    while i < len(line):
        best = None
        for regex, rule in rules:
            m = regex.search(line, i)
            if m and m.end() > m.start() and (best is None or m.start() < best[0].start()):
                best = (m, rule)
        if best is None:
            break
        m, rule = best
        groups = {int(k): v["name"] for k, v in rule.get("captures", {}).items() if "name" in v}
        for g in range(1, (m.lastindex or 0) + 1):
            if g in groups and m.group(g):
                found.setdefault(m.group(g), groups[g])
        found.setdefault(m.group(0), groups.get(0, rule.get("name", "")))
        i = m.end()
    return found


def test_the_grammar_scopes_the_complex_example():
    text = (ROOT / "examples" / "cifar10_complex.darch").read_text().splitlines()
    seen: dict[str, str] = {}
    for line in text:
        for word, scope in scopes(line).items():
            seen.setdefault(word, scope)
    assert seen["def"] == "storage.type.function.darch"
    assert seen["inner"] == "entity.name.function.darch"
    assert seen["param"] == "storage.modifier.param.darch"
    assert seen["num_classes"] == "variable.other.constant.darch"
    assert seen["gains"] == "variable.other.definition.darch"
    assert seen["conv2d"] == "entity.name.function.call.darch"
    assert scopes("    conv2d(filters: 3)")["filters"] == "variable.parameter.darch"
    assert seen["0.5"] == "constant.numeric.darch"
    assert seen["# one body, repeated with the same choices every time"] == \
        "comment.line.number-sign.darch"
    assert scopes('x = one_of("adam", true)')['"adam"'] == "string.quoted.double.darch"
    assert scopes("# darch: input 3x32x32")["3x32x32"] == "constant.numeric.shape.darch"
    line = scopes('from "lib/blocks" import conv_block')
    assert line["from"] == line["import"] == "keyword.control.import.darch"


def test_the_grammar_knows_every_keyword_of_the_parser():
    words = set()
    for rule in _patterns(GRAMMAR["patterns"]):
        plain = re.sub(r"\\.", " ", rule["match"])  # `\bimport\b` -> ` import `
        words.update(w for w in re.findall(r"[a-z]+", plain) if w in KEYWORDS)
    assert words == set(KEYWORDS)


# ---- the VS Code extension -----------------------------------------------------------
def test_the_vscode_extension_declares_the_language_grammar_and_server():
    folder = EDITORS / "vscode"
    package = json.loads((folder / "package.json").read_text())
    [language] = package["contributes"]["languages"]
    assert language["extensions"] == [".darch"]
    json.loads((folder / language["configuration"]).read_text())
    [grammar] = package["contributes"]["grammars"]
    assert (folder / grammar["path"]).resolve() == (EDITORS / "darch.tmLanguage.json")
    assert grammar["scopeName"] == GRAMMAR["scopeName"]
    settings = package["contributes"]["configuration"]["properties"]
    assert settings["darch.server.command"]["default"] == ["darch", "lsp"]
    source = (folder / package["main"]).read_text()
    assert 'config.get("server.command"' in source and 'config.get("input"' in source


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_vscode_extension_is_valid_javascript():
    subprocess.run(["node", "--check", str(EDITORS / "vscode" / "extension.js")], check=True)


# ---- docs/editors.md -------------------------------------------------------------------
def test_every_block_of_the_page_is_darchlang_a_command_or_configuration():
    assert {kind for kind, _ in BLOCKS} == {"sh", "darch", "json", "lua", "toml", "elisp"}


@pytest.mark.parametrize("line", [line for kind, code in BLOCKS if kind == "sh"
                                  for part in code.splitlines() for line in part.split(" && ")
                                  if line.startswith("darch ")])
def test_the_pages_command_lines_are_accepted_by_the_cli(line, tmp_path):
    args = build_parser().parse_args(shlex.split(line)[1:])
    assert args.command == "lsp"


def test_the_configuration_snippets_start_the_server():
    snippets = {kind: code for kind, code in BLOCKS if kind not in ("sh", "darch")}
    settings = json.loads(snippets["json"])
    assert settings["darch.server.command"][-1] == "lsp"
    helix = tomllib.loads(snippets["toml"])
    server = helix["language-server"]["darch"]
    assert [server["command"], *server["args"]] == ["darch", "lsp"]
    assert server["config"] == {"input": "3x32x32"}
    [language] = helix["language"]
    assert language["language-servers"] == ["darch"] and language["file-types"] == ["darch"]
    assert 'cmd = { "darch", "lsp" }' in snippets["lua"]
    assert 'init_options = { input = "3x32x32" }' in snippets["lua"]
    assert '(darch-mode "darch" "lsp")' in snippets["elisp"]
