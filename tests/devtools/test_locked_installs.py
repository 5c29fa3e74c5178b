"""Reproducible installs: the three lock files (made by ``make lock`` from the ``requirements*.in``
files) pin every package with hashes, agree with each other and with their inputs, and the
interpreter running the tests holds exactly what they lock: every locked package at its locked
version, nothing that no lock names."""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
RUNTIME, DEV, INFRA = "requirements.txt", "requirements-dev.txt", "requirements-infra.txt"
LOCKS = (RUNTIME, DEV, INFRA)
INPUTS = {RUNTIME: "requirements.in", DEV: "requirements-dev.in", INFRA: "requirements-infra.in"}
HASH = re.compile(r"\s--hash=(sha256:[0-9a-f]{64})")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str  # canonical
    version: str
    requirement: Requirement
    hashes: tuple[str, ...]

    def applies(self) -> bool:
        """Whether the pin's environment marker holds for the running interpreter."""
        return self.requirement.marker is None or self.requirement.marker.evaluate()


def logical_lines(path: Path) -> list[str]:
    """The file's requirement lines, continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            lines.append(current.strip())
        current = ""
    return lines


def read_lock(name: str) -> list[Pin]:
    pins = []
    for line in logical_lines(REPO / name):
        assert not line.startswith("-"), f"{name}: unexpected option line {line!r}"
        hashes = tuple(HASH.findall(line))
        requirement = Requirement(HASH.sub("", line).strip())
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{name}: {line!r} is not pinned with =="
        assert hashes, f"{name}: {requirement.name} has no hash"
        pins.append(Pin(canonical(requirement.name), specifiers[0].version, requirement, hashes))
    assert pins, f"{name} locks nothing"
    return pins


def read_input(name: str) -> list[Requirement]:
    """The requirements of a ``*.in`` file, following ``-r`` (``-c`` only constrains)."""
    requirements = []
    for line in logical_lines(REPO / name):
        if line.startswith("-r "):
            requirements += read_input(line.split(None, 1)[1])
        elif line.startswith("-c "):
            continue
        else:
            assert not line.startswith("-"), f"{name}: unexpected option line {line!r}"
            requirements.append(Requirement(line))
    return requirements


def applicable(pins: list[Pin]) -> dict[str, str]:
    """Name -> version of the pins whose marker holds here (one per name)."""
    found: dict[str, str] = {}
    for pin in pins:
        if pin.applies():
            assert found.setdefault(pin.name, pin.version) == pin.version, f"{pin.name} is locked twice here"
    return found


def installed() -> dict[str, list[str]]:
    versions: dict[str, list[str]] = {}
    for distribution in metadata.distributions():
        versions.setdefault(canonical(distribution.metadata["Name"]), []).append(distribution.version)
    return versions


def project_name() -> str:
    return canonical(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"])


@pytest.mark.parametrize("lock", LOCKS)
def test_every_lock_pins_every_package_with_a_hash(lock: str) -> None:
    pins = read_lock(lock)  # asserts == and at least one hash per line
    assert all(pin.requirement.url is None for pin in pins)


@pytest.mark.parametrize("lock", LOCKS)
def test_every_lock_holds_what_its_input_asks_for(lock: str) -> None:
    # An input edited without `make lock` afterwards fails here, not in production.
    locked: dict[str, set[str]] = {}
    for pin in read_lock(lock):
        locked.setdefault(pin.name, set()).add(pin.version)
    for requirement in read_input(INPUTS[lock]):
        name = canonical(requirement.name)
        assert name in locked, f"{requirement} ({INPUTS[lock]}) is not in {lock}: run `make lock`"
        assert any(requirement.specifier.contains(v, prereleases=True) for v in locked[name]), (
            f"{lock} has {name} {sorted(locked[name])}, {INPUTS[lock]} asks for {requirement}: run `make lock`"
        )


def test_the_locks_agree_on_every_package_they_share() -> None:
    # Dev and infra install into one venv and the dev lock carries the runtime one: one version each.
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for lock in LOCKS:
        for pin in read_lock(lock):
            key = (pin.name, str(pin.requirement.marker))
            first = seen.setdefault(key, (lock, pin.version))
            assert first[1] == pin.version, f"{pin.name}: {first[1]} in {first[0]}, {pin.version} in {lock}"


def test_the_dev_lock_carries_the_whole_runtime_lock() -> None:
    dev = {(pin.name, pin.version) for pin in read_lock(DEV)}
    missing = {(pin.name, pin.version) for pin in read_lock(RUNTIME)} - dev
    assert not missing, f"in {RUNTIME} but not in {DEV}: {sorted(missing)}"


needs_venv = pytest.mark.skipif(
    sys.prefix == sys.base_prefix,
    reason="checks a virtualenv made from the locks (make setup); this is a system Python",
)


@needs_venv
def test_the_venv_holds_every_locked_package_at_its_locked_version() -> None:
    have = installed()
    infra = read_lock(INFRA)
    infra_top_level = {canonical(r.name) for r in read_input(INPUTS[INFRA])} - set(applicable(read_lock(DEV)))
    expected = applicable(read_lock(DEV))
    if infra_top_level & set(have):  # `.venv/.stamp-infra` installs the CDK app's lock on top
        expected |= applicable(infra)
    wrong = {name: (version, have.get(name)) for name, version in expected.items() if have.get(name) != [version]}
    assert not wrong, f"locked version vs installed: {wrong}"


@needs_venv
def test_the_venv_holds_nothing_that_no_lock_names() -> None:
    locked = {pin.name for lock in LOCKS for pin in read_lock(lock)}
    extra = {name: versions for name, versions in installed().items() if name not in locked | {project_name()}}
    assert not extra, f"installed but in no lock (not installed by `make setup`?): {extra}"
