"""The entry-point scan is cached in the home and never lies: installing, removing or
editing a plugin package is seen by the very next command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coffeechat.plugins.entry_points import (
    CACHE_NAME,
    FoundEntryPoint,
    find_entry_points,
    load_entry_point,
)
from coffeechat.plugins.manager import load_plugins
from tests.test_startup import modules_loaded_by

GROUP = "coffeechat"


def install(site: Path, name: str, version: str, points: str, module: str = "") -> Path:
    """Install a distribution by hand: a dist-info folder with entry points (and a module)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{points}\n")
    if module:
        (site / f"{name.replace('-', '_')}.py").write_text(module)
    return info


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / "cache"
    folder.mkdir()
    return folder


def names(found: list[FoundEntryPoint]) -> list[tuple[str, str, str | None, str | None]]:
    return sorted((f.name, f.value, f.distribution, f.version) for f in found)


def test_a_package_installed_then_removed_is_seen_at_once(site: Path, cache: Path) -> None:
    before = names(find_entry_points(GROUP, str(cache)))
    assert (cache / CACHE_NAME).exists()
    assert ("tea", "tea_rules:plugin", "tea-rules", "1.0") not in before
    info = install(site, "tea-rules", "1.0", "tea = tea_rules:plugin")
    assert ("tea", "tea_rules:plugin", "tea-rules", "1.0") in names(
        find_entry_points(GROUP, str(cache))
    )
    for child in info.iterdir():
        child.unlink()
    info.rmdir()
    assert names(find_entry_points(GROUP, str(cache))) == before


def test_an_entry_point_edited_in_place_is_seen(site: Path, cache: Path) -> None:
    info = install(site, "tea-rules", "1.0", "tea = tea_rules:plugin")
    assert ("tea", "tea_rules:plugin", "tea-rules", "1.0") in names(
        find_entry_points(GROUP, str(cache))
    )
    points = info / "entry_points.txt"
    points.write_text(f"[{GROUP}]\ncoffee = tea_rules:other\n")
    os.utime(points, ns=(1, 1))  # even with its clock put back: the inode and size changed
    found = names(find_entry_points(GROUP, str(cache)))
    assert ("coffee", "tea_rules:other", "tea-rules", "1.0") in found
    assert all(name != "tea" for name, *_ in found)


def test_the_cache_answers_without_importing_the_metadata_machinery(
    site: Path, cache: Path
) -> None:
    install(site, "tea-rules", "2.0", "tea = tea_rules:plugin")
    expected = names(find_entry_points(GROUP, str(cache)))
    probe = (
        "import sys\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "from coffeechat.plugins.entry_points import find_entry_points\n"
        f"found = find_entry_points({GROUP!r}, {str(cache)!r})\n"
        "print(sorted((f.name, f.value, f.distribution, f.version) for f in found))\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    # The child's path differs from ours only by what the fixture prepended: same folders.
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert result[0] == repr(expected)
    # A fresh interpreter has its own path, so its first call scans and caches …
    again = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    # … and the next one, with the same path, answers from the cache alone.
    assert again == [repr(expected), "False"]


def test_a_damaged_or_foreign_cache_is_ignored_and_replaced(site: Path, cache: Path) -> None:
    install(site, "tea-rules", "1.0", "tea = tea_rules:plugin")
    for damage in (b"", b"\xc1 not msgpack", b"\x93\x01\x02\x03"):
        (cache / CACHE_NAME).write_bytes(damage)
        assert ("tea", "tea_rules:plugin", "tea-rules", "1.0") in names(
            find_entry_points(GROUP, str(cache))
        )
        assert (cache / CACHE_NAME).read_bytes() != damage
        assert (cache / CACHE_NAME).stat().st_mode & 0o777 == 0o600


def test_no_cache_folder_means_no_file_and_the_same_answer(site: Path, tmp_path: Path) -> None:
    install(site, "tea-rules", "1.0", "tea = tea_rules:plugin")
    missing = tmp_path / "no-cache-yet"
    found = find_entry_points(GROUP, str(missing))
    assert ("tea", "tea_rules:plugin", "tea-rules", "1.0") in names(found)
    assert not missing.exists()


def test_a_cached_entry_point_loads_its_plugin_with_its_version(
    site: Path, cache: Path, tmp_path: Path
) -> None:
    module = (
        "from coffeechat.plugins import hookimpl\n"
        "class Rules:\n"
        "    @hookimpl\n"
        "    def coffeechat_reminders(self, state, now, settings):\n"
        "        return []\n"
        "plugin = Rules()\n"
    )
    install(site, "tea-rules", "1.4", "tea = tea_rules:plugin", module)
    for _ in range(2):  # the scan, then the cache
        plugins = load_plugins(None, {}, cache_dir=str(cache))
        tea = [info for info in plugins.loaded if info.name == "tea"]
        assert [(t.version, t.hooks) for t in tea] == [("1.4", ["coffeechat_reminders"])]
        assert plugins.problems == []


def test_load_entry_point_follows_attributes_and_ignores_extras() -> None:
    assert load_entry_point("os.path:join") is os.path.join
    assert load_entry_point("os.path") is os.path
    assert load_entry_point("os:path.join [extra]") is os.path.join
    with pytest.raises(ValueError, match="not an entry point"):
        load_entry_point("os:path:join")


def test_reading_commands_load_the_rules_but_not_the_channels(tmp_path: Path) -> None:
    home = tmp_path / "home"
    modules_loaded_by(home, "add", "Ada Lovelace")
    channels = {"coffeechat.plugins.channels.desktop", "coffeechat.plugins.channels.apprise_urls"}
    for arguments in (("agenda",), ("ls",), ("show", "ada")):
        loaded = modules_loaded_by(home, *arguments, every=True)
        assert "coffeechat.plugins.playbook.reach_out" in loaded  # the rules did run
        assert not loaded & channels, (arguments, loaded & channels)
        assert "coffeechat.daemon.delivery" not in loaded
    # `plugins` lists every plugin, the channels among them.
    assert channels <= modules_loaded_by(home, "plugins", every=True)
