"""A search through a local Ray cluster, end to end from the command line: the Ray
example of docs/searchers.md, run as written, with its journal checked. Ray starts
once (2 CPUs, no dashboard) and is shut down at the end."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from darchlang.cli import main
from darchlang.search import Journal

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_the_documented_ray_search(ray_cluster, tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    page = (ROOT / "docs" / "searchers.md").read_text()
    block = re.search(r"```shell\n(.*?)```", page, re.S).group(1)
    (line,) = [x for x in block.splitlines() if x.startswith("$ darch ")]
    args = shlex.split(line)[2:]
    assert "--executor" in args and "ray" in args
    assert main(args) == 0, capsys.readouterr().err
    with Journal(tmp_path / "runs" / "ray.db", create=False) as journal:
        rows = journal.evaluations()
        config = journal.config()
    assert [r.index for r in rows] == list(range(12))
    assert all(r.status == "ok" and r.score is not None for r in rows)
    assert config["searcher"] == "random" and config["settings"]["evaluator"] == "synthetic-nk"
    # The same search in one process picks the same architectures with the same scores.
    assert main([*args[: args.index("--executor")], "--journal", "runs/one.db", "--seed", "0"]) == 0
    with Journal(tmp_path / "runs" / "one.db", create=False) as journal:
        alone = journal.evaluations()
    assert [(r.decisions, r.score) for r in rows] == [(r.decisions, r.score) for r in alone]
