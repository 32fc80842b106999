"""Set-up files agree with each other: requirements.txt, environment.yml, pyproject.toml, README, CI."""

import re
import tomllib

import yaml

from env_cell import repo_url

from .conftest import ROOT


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_requirements_are_all_pinned_and_torch_is_pinned_for_a_cpu_wheel():
    reqs = _requirements()
    assert all("==" in r for r in reqs), [r for r in reqs if "==" not in r]
    assert "torch==2.13.0" in reqs


def test_environment_yml_lists_the_same_packages_as_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(p for p in pip if p != "-e .") == sorted(_requirements())
    assert "-e ." in pip


def test_package_dependencies_are_covered_by_requirements():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pinned = {_name(r) for r in _requirements()}
    for dep in meta["project"]["dependencies"]:
        assert _name(dep) in pinned, f"{dep} (pyproject) is missing from requirements.txt"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book" in readme and "make test" in readme
    ci = [line for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci == ["make test"]


def test_readme_and_intro_name_the_configured_repository():
    url = repo_url()
    for doc in ("README.md", "intro.md"):
        text = (ROOT / doc).read_text(encoding="utf-8")
        mentioned = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+?(?=\.git|[\s)`]|$)", text))
        assert mentioned == {url}, f"{doc} names {mentioned}, configured is {url}"
