"""The default install of coffeechat never brings ``typing_extensions``.

msgspec imports ``typing_extensions`` whenever it is installed, and every command then
starts ~20% slower (FACTS.md, issue #11), even though coffeechat never imports the package
that brought it. So no default dependency, however deep, may require it.

The test cannot try the import: the test extra (mypy, icalendar) installs it here. It walks
the installed distributions' metadata instead, from ``coffeechat`` down through every
``Requires-Dist``, evaluating environment markers for this interpreter with no extra
selected (so what the extras bring is left out), and names the chain that brought the
package in when it finds it. The walker itself is checked on fake distributions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

FORBIDDEN = "typing-extensions"


def installed(distributions: Iterable[metadata.Distribution]) -> dict[str, metadata.Distribution]:
    """Given distributions in path order, return them by normalised name (first one wins,
    as for imports)."""
    found: dict[str, metadata.Distribution] = {}
    for distribution in distributions:
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonicalize_name(name), distribution)
    return found


def default_closure(
    root: str, distributions: Mapping[str, metadata.Distribution]
) -> tuple[dict[str, list[str]], list[list[str]]]:
    """Return what the default install of ``root`` needs, recursively: each distribution's
    normalised name with the chain of names that brought it (``root`` first), and the
    chains that end in a requirement no installed distribution answers.

    A requirement counts when its marker holds for this interpreter with ``extra`` empty:
    the dependencies of extras (``; extra == "test"``) are left out.
    """
    start = canonicalize_name(root)
    chains: dict[str, list[str]] = {start: [start]}
    missing: list[list[str]] = []
    waiting = [start]
    while waiting:
        name = waiting.pop(0)
        distribution = distributions.get(name)
        if distribution is None:
            missing.append(chains[name])
            continue
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = canonicalize_name(requirement.name)
            if needed not in chains:
                chains[needed] = [*chains[name], needed]
                waiting.append(needed)
    return chains, missing


def test_the_default_install_brings_no_typing_extensions() -> None:
    chains, missing = default_closure("coffeechat", installed(metadata.distributions()))
    assert "msgspec" in chains and "apprise" in chains  # the walk saw the real dependencies
    assert not missing, f"default dependencies not installed: {missing}"
    assert FORBIDDEN not in chains, (
        "a default dependency brings typing_extensions (msgspec then imports it and every "
        f"command starts ~20% slower): {' -> '.join(chains[FORBIDDEN])}"
    )


# --- the walker, on fake distributions ------------------------------------------------------


def fake_distributions(folder: Path, requirements: Mapping[str, list[str]]) -> list[Path]:
    """Write a ``NAME-1.0.dist-info`` folder for each name with its ``Requires-Dist``."""
    for name, requires in requirements.items():
        info = folder / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0"]
        lines += [f"Requires-Dist: {requirement}" for requirement in requires]
        (info / "METADATA").write_text("\n".join(lines) + "\n")
    return [folder]


def closure_of(folder: Path, requirements: Mapping[str, list[str]]) -> dict[str, list[str]]:
    path = [str(entry) for entry in fake_distributions(folder, requirements)]
    chains, missing = default_closure("app", installed(metadata.distributions(path=path)))
    assert not missing
    return chains


def test_the_walker_finds_it_deep_down_and_names_the_chain(tmp_path: Path) -> None:
    chains = closure_of(
        tmp_path,
        {
            "app": ["Middle.Layer>=1"],
            "middle-layer": ['Typing_Extensions>=4.7; python_version >= "3"'],
            "typing-extensions": [],
        },
    )
    assert chains[FORBIDDEN] == ["app", "middle-layer", FORBIDDEN]


def test_the_walker_leaves_out_extras_and_markers_that_do_not_hold(tmp_path: Path) -> None:
    chains = closure_of(
        tmp_path,
        {
            "app": [
                'typing-extensions>=4; extra == "test"',
                'typing_extensions; python_version < "3"',
                "plain",
            ],
            "plain": ['typing-extensions; extra == "speed"'],
        },
    )
    assert sorted(chains) == ["app", "plain"]


def test_the_walker_reports_a_requirement_nothing_answers(tmp_path: Path) -> None:
    path = [str(entry) for entry in fake_distributions(tmp_path, {"app": ["gone>=1"]})]
    chains, missing = default_closure("app", installed(metadata.distributions(path=path)))
    assert missing == [["app", "gone"]]
    assert sorted(chains) == ["app", "gone"]


@pytest.mark.parametrize(
    "spelling", ["typing_extensions", "Typing-Extensions", "typing.extensions"]
)
def test_every_spelling_of_the_name_is_caught(tmp_path: Path, spelling: str) -> None:
    chains = closure_of(tmp_path, {"app": [spelling], "typing-extensions": []})
    assert FORBIDDEN in chains
