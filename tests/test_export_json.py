"""``export json`` and ``import json``: the whole log out and back, byte for byte.

The home under test has two devices' segments, made for real: the log is copied into a
second home, the command line records there (it makes its own device and segment), and
that segment is copied back, as a file-sync tool would. It also holds lines as other
versions wrote them (an old ``outreach.sent`` v1, a type from a newer coffeechat): a
backup keeps those as stored.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from conftest import Result, log_bytes, run_coffeechat

LATER = "2026-11-27T10:00:00+01:00"
EVEN_LATER = "2026-11-28T10:00:00+01:00"
OLD_OUTREACH = (
    '{"type":"outreach.sent","id":"01KC0000000000000000000001","v":1,'
    '"recorded":"2026-11-26T13:40:00Z","device":"{device}","at":"2026-11-26T13:40:00Z",'
    '"contact":"ada-lovelace","medium":"li"}'
)
FROM_THE_FUTURE = (
    '{"type":"meeting.rated","id":"01KC0000000000000000000002","v":1,'
    '"recorded":"2026-11-26T13:50:00Z","device":"{device}","at":"2026-11-26T13:50:00Z",'
    '"contact":"ada-lovelace","stars":5}'
)


def ok(result: Result) -> Result:
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def segments(home: Path) -> list[Path]:
    return sorted((home / "log").glob("*.jsonl"))


@pytest.fixture
def two_devices(tmp_path: Path) -> Path:
    """A home whose log holds the segments of two devices, with events of every kind."""
    laptop = tmp_path / "laptop"
    for arguments in (
        ("add", "Ada Lovelace", "--tz", "Europe/London", "--learn", "engines, and poetry"),
        ("reach", "ada"),
        ("reply", "ada"),
        ("schedule", "ada", "tue 15:00", "--mode", "video"),
        ("note", "ada", "likes tea; «très» 🫖"),
        ("add", "Alan Turing"),
        ("undo",),
    ):
        ok(run_coffeechat(laptop, *arguments))
    (segment,) = segments(laptop)
    device = segment.stem
    with segment.open("a") as file:  # as an older and a newer coffeechat wrote them
        file.write(OLD_OUTREACH.replace("{device}", device) + "\n")
        file.write(FROM_THE_FUTURE.replace("{device}", device) + "\n")
    phone = tmp_path / "phone"
    shutil.copytree(laptop / "log", phone / "log")
    ok(run_coffeechat(phone, "reschedule", "ada", "wed 16:00", now=LATER))
    ok(run_coffeechat(phone, "add", "Grace Hopper", now=LATER))
    (phone_segment,) = (path for path in segments(phone) if path.name != segment.name)
    shutil.copy2(phone_segment, laptop / "log" / phone_segment.name)
    assert len(segments(laptop)) == 2
    ok(run_coffeechat(laptop, "note", "grace", "met at a conference", now=EVEN_LATER))
    return laptop


def export_bytes(home: Path, tmp_path: Path, name: str) -> bytes:
    target = tmp_path / name
    ok(run_coffeechat(home, "export", "json", str(target)))
    return target.read_bytes()


def test_export_then_import_into_an_empty_home_gives_identical_bytes(
    two_devices: Path, tmp_path: Path
):
    backup = tmp_path / "backup.jsonl"
    ok(run_coffeechat(two_devices, "export", "json", str(backup)))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    data = backup.read_bytes()
    stored = b"".join(path.read_bytes() for path in segments(two_devices))
    assert sorted(data.splitlines()) == sorted(stored.splitlines())  # every line, as stored
    restored = tmp_path / "new-machine"
    result = ok(run_coffeechat(restored, "import", "json", str(backup)))
    assert "restored 12 event(s)" in result.stdout
    assert log_bytes(restored) == log_bytes(two_devices)  # each device's segment as it was
    assert export_bytes(restored, tmp_path, "again.jsonl") == data
    for command in (("ls", "--json", "--all"), ("show", "ada", "--json")):
        assert (
            ok(run_coffeechat(restored, *command)).json()
            == ok(run_coffeechat(two_devices, *command)).json()
        )
    assert not (restored / "device").exists()  # this machine writes as a device of its own
    ok(run_coffeechat(restored, "note", "ada", "restored fine"))
    assert len(segments(restored)) == 3


def test_import_json_into_a_synced_folder_without_segments_restores_there(
    two_devices: Path, tmp_path: Path
):
    # A sync tool's folder, made before the first restore: its own files stay, and a
    # log folder that is a link (to that synced folder) stays a link.
    synced = tmp_path / "Sync" / "coffeechat-log"
    synced.mkdir(parents=True)
    (synced / ".stfolder").mkdir()
    restored = tmp_path / "new-machine"
    restored.mkdir()
    (restored / "log").symlink_to(synced)
    backup = tmp_path / "backup.jsonl"
    ok(run_coffeechat(two_devices, "export", "json", str(backup)))
    ok(run_coffeechat(restored, "import", "json", str(backup)))
    assert (restored / "log").is_symlink() and (synced / ".stfolder").is_dir()
    restored_segments = {path.name: path.read_bytes() for path in segments(restored)}
    assert restored_segments == log_bytes(two_devices)
    assert export_bytes(restored, tmp_path, "again.jsonl") == backup.read_bytes()
    assert not [path for path in restored.iterdir() if path.name.startswith(".log")]


def test_export_json_lists_events_in_fold_order(two_devices: Path, tmp_path: Path):
    lines = export_bytes(two_devices, tmp_path, "backup.jsonl").splitlines()
    events = [json.loads(line) for line in lines]
    assert len({event["device"] for event in events}) == 2
    keys = []
    for event in events:
        recorded = event["recorded"].replace("Z", "+00:00")
        from datetime import datetime

        microseconds = int(datetime.fromisoformat(recorded).timestamp() * 1_000_000)
        keys.append(event.get("hlc") or microseconds)
    assert keys == sorted(keys)
    assert events[0]["type"] == "contact.added"


def test_export_json_to_stdout_gives_the_same_bytes(two_devices: Path, tmp_path: Path):
    printed = ok(run_coffeechat(two_devices, "export", "json")).stdout.encode()
    assert printed == export_bytes(two_devices, tmp_path, "backup.jsonl")


def test_import_json_into_a_home_with_a_log_exits_2_and_writes_nothing(
    two_devices: Path, tmp_path: Path
):
    backup = tmp_path / "backup.jsonl"
    backup.write_bytes(export_bytes(two_devices, tmp_path, "backup.jsonl"))
    busy = tmp_path / "busy"
    ok(run_coffeechat(busy, "add", "Someone Else"))
    before = log_bytes(busy)
    result = run_coffeechat(busy, "import", "json", str(backup))
    assert result.status == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "empty home" in result.stderr
    assert log_bytes(busy) == before
    assert not [path for path in busy.iterdir() if path.name.startswith(".log")]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"not json at all", "backup.jsonl:3: not an event"),
        (b'{"type":"note.added","id":"X"}', "backup.jsonl:3: not an event"),
        (
            b'{"type":"note.added","id":"01X","v":1,"recorded":"2026-11-26T13:00:00Z",'
            b'"device":"../../escape","at":"2026-11-26T13:00:00Z","contact":"a","text":"t"}',
            "is not a device id",
        ),
        (
            b'{"type":"note.added","id":"01X","v":1,"recorded":"2026-11-26T13:00:00Z",'
            b'"device":"d1","at":"2026-11-26T13:00:00Z","contact":"a"}',
            "a damaged event",
        ),
    ],
)
def test_import_json_with_a_bad_line_exits_2_and_writes_nothing(
    two_devices: Path, tmp_path: Path, line: bytes, problem: str
):
    lines = export_bytes(two_devices, tmp_path, "good.jsonl").splitlines(keepends=True)
    backup = tmp_path / "backup.jsonl"
    backup.write_bytes(b"".join([*lines[:2], line + b"\n", *lines[2:]]))
    empty = tmp_path / "empty"
    result = run_coffeechat(empty, "import", "json", str(backup))
    assert result.status == 2, result.stderr
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert not empty.exists() or not (empty / "log").exists()


def test_import_json_with_a_missing_file_or_no_events_exits_2(tmp_path: Path):
    empty = tmp_path / "empty"
    missing = run_coffeechat(empty, "import", "json", str(tmp_path / "nope.jsonl"))
    assert missing.status == 2 and "No such file" in missing.stderr
    (tmp_path / "blank.jsonl").write_bytes(b"\n")
    blank = run_coffeechat(empty, "import", "json", str(tmp_path / "blank.jsonl"))
    assert blank.status == 2 and "no events" in blank.stderr
    assert not (empty / "log").exists()


def test_import_without_a_format_or_file_is_a_usage_error(tmp_path: Path):
    for arguments in (("import",), ("import", "json"), ("import", "yaml", "x")):
        result = run_coffeechat(tmp_path / "home", *arguments)
        assert result.status == 2 and "Traceback" not in result.stderr, arguments
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
