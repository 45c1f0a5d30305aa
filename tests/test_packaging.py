"""Packaging stays in step: pyproject.toml, constraints.txt, environment.yml, the Makefile, CI and README."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import stat
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def norm(name: str) -> str:
    """Lowercase, '_' and '.' to '-' (PEP 503)."""
    return canonicalize_name(name)


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def project_requirements(pyproject) -> dict[str, Requirement]:
    project = pyproject["project"]
    specs = list(project["dependencies"])
    for group in project.get("optional-dependencies", {}).values():
        specs += group
    out: dict[str, Requirement] = {}
    for spec in specs:
        req = Requirement(spec)
        assert norm(req.name) not in out, f"{req.name} is listed twice in pyproject.toml"
        out[norm(req.name)] = req
    return out


@pytest.fixture(scope="module")
def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for lineno, raw in enumerate((ROOT / "constraints.txt").read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^=\s;]+)", line)
        assert match, f"constraints.txt, line {lineno}: not an exact pin: {raw!r}"
        name = norm(match.group(1))
        assert name not in pins, f"constraints.txt, line {lineno}: {name} pinned twice"
        pins[name] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


@pytest.fixture(scope="module")
def env_pins(environment) -> dict[str, str]:
    pip_sections = [dep["pip"] for dep in environment["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    pins: dict[str, str] = {}
    for spec in pip_sections[0]:
        req = Requirement(spec)
        specifiers = list(req.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"environment.yml: {spec!r} is not pinned"
        assert norm(req.name) not in pins, f"environment.yml lists {req.name} twice"
        pins[norm(req.name)] = specifiers[0].version
    return pins


# --------------------------------------------------------------------------- dependencies in step
def test_environment_yml_lists_exactly_the_pyproject_packages(project_requirements, env_pins):
    assert set(env_pins) == set(project_requirements)


def test_environment_yml_pins_equal_constraints(env_pins, constraints):
    for name, version in env_pins.items():
        assert name in constraints, f"{name} is pinned in environment.yml but not in constraints.txt"
        assert constraints[name] == version, f"{name}: environment.yml {version}, constraints.txt {constraints[name]}"


def test_environment_yml_has_python_and_pip(environment):
    conda_deps = [dep for dep in environment["dependencies"] if isinstance(dep, str)]
    assert "pip" in conda_deps
    assert any(dep.startswith("python") for dep in conda_deps)
    assert environment["name"] == "gnnrec"


def test_torch_is_pinned_exactly(constraints):
    assert constraints["torch"] == "2.13.0"
    line = next(raw for raw in (ROOT / "constraints.txt").read_text().splitlines() if raw.startswith("torch=="))
    assert line.strip() == "torch==2.13.0"


def test_every_dependency_is_pinned_within_its_range(project_requirements, constraints):
    for name, req in project_requirements.items():
        assert name in constraints, f"{req} is not pinned in constraints.txt"
        assert req.specifier.contains(constraints[name], prereleases=True), (
            f"constraints.txt pins {name}=={constraints[name]}, outside pyproject's {req}"
        )


def test_torch_keeps_an_upper_bound(project_requirements):
    assert any(s.operator in ("<", "<=", "==", "~=") for s in project_requirements["torch"].specifier)


def test_runtime_dependencies_are_installed_at_a_version_in_range(pyproject):
    for spec in pyproject["project"]["dependencies"]:
        req = Requirement(spec)
        version = importlib.metadata.version(req.name)
        assert req.specifier.contains(version, prereleases=True), f"{req.name} {version} does not satisfy {req}"


# --------------------------------------------------------------------------- entry points
def test_console_script_points_at_cli_main(pyproject):
    target = pyproject["project"]["scripts"]["gnnrec"]
    assert target == "gnnrec_lite.cli:main"
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    assert callable(func)


def test_installed_console_script_matches_pyproject():
    scripts = importlib.metadata.entry_points(group="console_scripts", name="gnnrec")
    assert [ep.value for ep in scripts] == ["gnnrec_lite.cli:main"]


def test_requires_python_allows_the_running_interpreter(pyproject):
    from packaging.specifiers import SpecifierSet

    running = ".".join(map(str, sys.version_info[:3]))
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains(running)


def test_pytest_markers_are_declared(pyproject):
    options = pyproject["tool"]["pytest"]["ini_options"]
    declared = {marker.split(":", 1)[0].strip() for marker in options["markers"]}
    assert {"slow", "data"} <= declared
    assert "--strict-markers" in options["addopts"]


# --------------------------------------------------------------------------- Makefile, CI, README
def _make_targets() -> set[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.$()/-]+(?:\s+[A-Za-z0-9_.$()/-]+)*)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            targets.update(match.group(1).split())
    return targets


def test_makefile_has_the_main_targets():
    targets = _make_targets()
    for target in ("setup", "test", "course", "lab"):
        assert target in targets, f"Makefile has no {target!r} target"


def test_make_test_runs_pytest_after_setup():
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^test:([^\n]*)\n((?:\t[^\n]*\n)+)", text, flags=re.M)
    assert match, "no test: rule with a recipe"
    assert "setup" in match.group(1).split()
    assert "pytest" in match.group(2)


def test_ci_entry_point_is_executable_and_runs_make_test():
    run = ROOT / ".ci" / "run"
    assert run.is_file()
    assert os.access(run, os.X_OK)
    assert run.stat().st_mode & stat.S_IXUSR
    lines = run.read_text().splitlines()
    assert lines[0].startswith("#!")
    commands = [line.strip() for line in lines[1:] if line.strip() and not line.strip().startswith("#")]
    assert "make test" in commands


def test_readme_first_command_block_mentions_make_course_and_make_test():
    readme = ROOT / "README.md"
    assert readme.is_file(), "README.md is missing"
    blocks = re.findall(r"^(```|~~~)[^\n]*\n(.*?)^\1", readme.read_text(), flags=re.M | re.S)
    assert blocks, "README.md has no fenced command block"
    first = blocks[0][1]
    assert re.search(r"\bmake course\b", first), first
    assert re.search(r"\bmake test\b", first), first
