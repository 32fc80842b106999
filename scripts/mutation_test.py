"""A small mutation test of helpers' core modules: do the unit tests notice a planted bug?

    python scripts/mutation_test.py                      # the default core modules
    python scripts/mutation_test.py helpers/metrics.py   # one module (its tests: tests/test_metrics.py)
    python scripts/mutation_test.py --list-survivors --out benchmarks/.../mutation.json

For each module, every simple mutation the AST allows is applied, one at a time:

- comparison operators swapped (``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``,
  ``in`` <-> ``not in``, ``is`` <-> ``is not``);
- arithmetic operators swapped (``+`` <-> ``-``, ``*`` <-> ``/``, ``//`` -> ``/``, ``**`` -> ``*``);
- ``and`` <-> ``or``; ``not x`` -> ``x``;
- integer constants ``n -> n + 1`` (``0 -> 1``, ``1 -> 2`` ...), float constants ``x -> x + 1``,
  ``True`` <-> ``False``.

Docstrings, other strings and type annotations are left alone. A mutant is *killed* when
the module's test file fails (or runs more than ``--timeout`` seconds), *survives* when it
passes. Only the tests that execute the mutated line run (found once with coverage's
per-test contexts), so a run takes minutes, not hours, on two cores.

How it runs: the repository's ``helpers`` and ``tests`` are copied to a temporary folder;
one parent process imports the heavy libraries (torch, NumPy, scikit-learn, pytest) once and
forks a child per mutant, which writes the mutated module into the copy, imports helpers
from there and runs pytest. The working tree is never modified.

This is a benchmark, not part of ``make test``; the score and the survivors are recorded
in ``benchmarks/`` and discussed in the README.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ["helpers/_validate.py", "helpers/metrics.py", "helpers/text.py", "helpers/data.py",
        "helpers/checkpoint.py"]   # helpers/lm.py (225 mutants, slow training tests) on request

COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
               ast.Pow: ast.Mult}


@dataclass
class Mutant:
    module: str
    index: int
    line: int
    description: str
    status: str = "pending"       # killed | survived | timeout | no-tests
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------
# Generating mutants

def _skip_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, decorators."""
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skip.update(id(n) for n in ast.walk(body[0]))
        for ann in [getattr(node, "returns", None), getattr(node, "annotation", None)]:
            if ann is not None:
                skip.update(id(n) for n in ast.walk(ann))
        for dec in getattr(node, "decorator_list", []):
            skip.update(id(n) for n in ast.walk(dec))
    return skip


def _sites(tree: ast.AST) -> list[tuple[ast.AST, str, object]]:
    """(node, kind, detail) of every mutable spot, in a stable order."""
    skip = _skip_nodes(tree)
    sites = []
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    sites.append((node, "compare", i))
        elif isinstance(node, ast.BinOp) and type(node.op) in BINOP_SWAPS:
            sites.append((node, "binop", None))
        elif isinstance(node, ast.BoolOp):
            sites.append((node, "boolop", None))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            sites.append((node, "not", None))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            sites.append((node, "const", None))
    return sites


def _describe(node, kind, detail) -> str:
    if kind == "compare":
        op = node.ops[detail]
        return f"{type(op).__name__} -> {COMPARE_SWAPS[type(op)].__name__}"
    if kind == "binop":
        return f"{type(node.op).__name__} -> {BINOP_SWAPS[type(node.op)].__name__}"
    if kind == "boolop":
        return f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"
    if kind == "not":
        return "not x -> x"
    v = node.value
    return f"{v!r} -> {(not v)!r}" if isinstance(v, bool) else f"{v!r} -> {v + 1!r}"


class _Apply(ast.NodeTransformer):
    def __init__(self, target_index: int):
        self.target_index = target_index

    def run(self, tree):
        sites = _sites(tree)
        node, kind, detail = sites[self.target_index]
        if kind == "compare":
            node.ops[detail] = COMPARE_SWAPS[type(node.ops[detail])]()
        elif kind == "binop":
            node.op = BINOP_SWAPS[type(node.op)]()
        elif kind == "boolop":
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif kind == "not":
            return _replace_not(tree, node)
        else:
            node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
        return tree


def _replace_not(tree, target):
    class R(ast.NodeTransformer):
        def visit_UnaryOp(self, node):
            self.generic_visit(node)
            return node.operand if node is target else node
    return R().visit(tree)


def mutants_of(module: str) -> tuple[str, list[Mutant]]:
    source = (ROOT / module).read_text(encoding="utf-8")
    tree = ast.parse(source)
    return source, [Mutant(module, i, node.lineno, _describe(node, kind, detail))
                    for i, (node, kind, detail) in enumerate(_sites(tree))]


def mutated_source(source: str, index: int) -> str:
    tree = _Apply(index).run(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


# ---------------------------------------------------------------------------------------------
# Which tests run which line

def test_file_of(module: str) -> str:
    return f"tests/test_{Path(module).stem.lstrip('_')}.py"


def line_to_tests(work: Path, module: str, tests: str) -> dict[int, list[str]]:
    """Run ``tests`` once under coverage with per-test contexts; map each line of ``module`` to its tests."""
    import subprocess

    data_file = work / f".coverage.{Path(module).stem}"
    env = {**os.environ, "COVERAGE_FILE": str(data_file), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", tests,
                    "--cov=helpers", "--cov-context=test",
                    "--cov-report=", "-o", "addopts="], cwd=work, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import coverage

    data = coverage.CoverageData(basename=str(data_file))
    data.read()
    path = next(f for f in data.measured_files() if f.endswith(module))
    result: dict[int, list[str]] = {}
    for line, contexts in data.contexts_by_lineno(path).items():
        result[line] = sorted({c.rsplit("|", 1)[0] for c in contexts if c})   # [] : ran only at import
    return result


# ---------------------------------------------------------------------------------------------
# Running one mutant in a forked child

def _child(work: Path, module: str, source: str, test_ids: list[str]) -> int:
    sys.dont_write_bytecode = True
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")
                        and "__editable__" not in type(f).__module__]
    sys.path.insert(0, str(work))
    sys.path.insert(0, str(work / "tests"))
    os.chdir(work)
    (work / module).write_text(source, encoding="utf-8")
    import pytest

    sink = io.StringIO()
    with redirect_stdout(sink), redirect_stderr(sink):
        return int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *test_ids]))


def run_mutant(work: Path, module: str, source: str, test_ids: list[str], timeout: float) -> tuple[str, float]:
    start = time.perf_counter()
    original = (work / module).read_text(encoding="utf-8")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            code = _child(work, module, source, test_ids)
        finally:
            os._exit(code)
    status = None
    while time.perf_counter() - start < timeout:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = "survived" if os.waitstatus_to_exitcode(code) == 0 else "killed"
            break
        time.sleep(0.05)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = "timeout"
    (work / module).write_text(original, encoding="utf-8")
    return status, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", default=CORE)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant before it counts as killed")
    parser.add_argument("--out", type=Path, help="write every mutant's result as JSON here")
    parser.add_argument("--list-survivors", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("LLMBOOK_PROGRESS", "none")
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    # the heavy imports once, in the parent; every forked child shares them
    import matplotlib
    matplotlib.use("Agg")
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import torch  # noqa: F401

    import helpers  # noqa: F401  (brings in every third-party module helpers uses) ...
    for name in [n for n in sys.modules if n == "helpers" or n.startswith("helpers.")]:
        del sys.modules[name]  # ... then forget helpers itself: each child imports the mutated copy

    results: list[Mutant] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "helpers", work / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__", "book"))
        for name in ("pyproject.toml",):
            shutil.copy(ROOT / name, work / name)
        for module in args.modules:
            tests = test_file_of(module)
            source, mutants = mutants_of(module)
            coverage_map = line_to_tests(work, module, tests)
            # the unmutated module, rewritten by ast.unparse like every mutant, must pass: otherwise every
            # mutant would count as killed for a reason that has nothing to do with the mutation
            status, _ = run_mutant(work, module, ast.unparse(ast.parse(source)), [tests], 10 * args.timeout)
            if status != "survived":
                raise SystemExit(f"{tests} fails on the unmutated {module} ({status}); fix that first")
            print(f"{module}: {len(mutants)} mutants, tests {tests}", flush=True)
            for m in mutants:
                # a line that no test context covers but that runs at import (a default value, a
                # module constant) is exercised by every test: run the whole file for it
                ids = coverage_map.get(m.line) or ([tests] if m.line in coverage_map else [])
                if not ids:
                    m.status = "no-tests"
                else:
                    m.status, m.seconds = run_mutant(work, module, mutated_source(source, m.index), ids, args.timeout)
                results.append(m)
                if m.status in ("survived", "no-tests") and args.list_survivors:
                    print(f"  {m.status:8s} {module}:{m.line} {m.description}", flush=True)
    killed = sum(m.status in ("killed", "timeout") for m in results)
    print(f"\n{killed} of {len(results)} mutants killed: mutation score {100 * killed / max(1, len(results)):.1f} % "
          f"({sum(m.status == 'survived' for m in results)} survived, "
          f"{sum(m.status == 'no-tests' for m in results)} on lines no test runs) in {time.perf_counter() - t0:.0f} s")
    for module in args.modules:
        ms = [m for m in results if m.module == module]
        k = sum(m.status in ("killed", "timeout") for m in ms)
        print(f"  {module:24s} {k:4d} / {len(ms):4d}  {100 * k / max(1, len(ms)):5.1f} %")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([asdict(m) for m in results], indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
