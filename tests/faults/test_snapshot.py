"""The snapshot is never trusted over the log (refs #8), and a full disk leaves no
half-written snapshot behind (refs #9).

Each scenario records with the real ``coffeechat`` (two devices: the phone's segment
copied in as a sync tool would), reads once so that the snapshot is current, then
changes a segment behind its back the way a person, an editor or a sync tool does. The
home's next read (through its snapshot) must show exactly what a fresh home holding a
copy of the same ``log/`` and no cache shows: ``ls --json --all`` and ``show --json``
of every contact, and the same warnings. Figures: every fact the fresh read shows (a
field of a contact) is a thing tried; one the cached read does not show is lost.
``COFFEECHAT_TRACE_SNAPSHOT=1`` tells which route the cached read took.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from conftest import Result, run_coffeechat

from coffeechat.events import model as m

NOW = "2026-11-26T14:30:00+01:00"  # Thursday afternoon in Paris
TRACE = {"COFFEECHAT_TRACE_SNAPSHOT": "1"}


def ok(home: Path, *arguments: str, env: dict[str, str] | None = None) -> Result:
    result = run_coffeechat(home, *arguments, now=NOW, env=env)
    assert result.status == 0, (arguments, result.stderr)
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def laptop(tmp_path: Path) -> Path:
    """A home with a few journeys, the phone's segment synced in, and a current snapshot."""
    home, phone = tmp_path / "laptop", tmp_path / "phone"
    ok(home, "add", "Ada Lovelace", "--email", "ada@example.org", "--at", "-20d")
    ok(home, "add", "Grace Hopper", "--company", "Navy", "--at", "-20d")
    ok(home, "add", "Alan Turing", "--at", "-20d")
    ok(home, "reach", "ada", "--at", "-10d")
    ok(home, "reply", "ada", "--at", "-9d")
    ok(home, "schedule", "ada", "2026-12-01T15:00", "--at", "-8d")
    ok(home, "reach", "alan", "--at", "-5d")
    ok(phone, "add", "Barbara Liskov", "--email", "barbara@example.org", "--at", "-3d")
    ok(phone, "reach", "barbara", "--at", "-2d")
    shutil.copy2(segment_of(phone), home / "log")
    # Folds the phone's segment and saves the snapshot with a mark in each segment.
    ok(home, "note", "grace", "likes compilers")
    ok(home, "ls")
    return home


def segment_of(home: Path) -> Path:
    device = (home / "device").read_text().split()[0]
    return home / "log" / f"{device}.jsonl"


def phone_segment(home: Path) -> Path:
    (path,) = [p for p in (home / "log").glob("*.jsonl") if p != segment_of(home)]
    return path


def fresh_copy(home: Path, where: Path) -> Path:
    """A home holding a copy of ``home``'s log and nothing else: a full replay."""
    shutil.copytree(home / "log", where / "log")
    return where


class Reading:
    """What one home shows: every contact's listing and profile, and the warnings."""

    def __init__(self, home: Path) -> None:
        listing = run_coffeechat(home, "ls", "--all", "--json", now=NOW, env=TRACE)
        assert listing.status == 0 and "Traceback" not in listing.stderr, listing.stderr
        lines = listing.stderr.splitlines()
        self.route = next((line for line in lines if line.startswith("snapshot: ")), "")
        self.warnings = sorted(
            line.replace(str(home), "HOME") for line in lines if not line.startswith("snapshot:")
        )
        self.listing = listing.json()
        self.shows: dict[str, tuple[int, str]] = {}

    def show(self, home: Path, handles: list[str]) -> None:
        """Read ``show --json`` of each handle (a contact one home lacks: exit 2)."""
        for handle in handles:
            shown = run_coffeechat(home, "show", handle, "--json", now=NOW)
            assert "Traceback" not in shown.stderr
            self.shows[handle] = (shown.status, shown.stdout)

    def facts(self) -> list[str]:
        """One key per thing the read shows: each listing row, each field of each contact."""
        facts = [json.dumps(row, sort_keys=True) for row in self.listing]
        for handle, (status, stdout) in sorted(self.shows.items()):
            if status != 0:
                continue
            shown = json.loads(stdout)
            timeline = shown.pop("timeline")
            facts += [f"{handle} {key}={json.dumps(value)}" for key, value in sorted(shown.items())]
            facts += [f"{handle} timeline {event['id']}" for event in timeline]
        return facts


def compare(scenario: str, home: Path, tmp_path: Path, fault_report, note: str = "") -> Reading:
    """Read ``home`` through its snapshot and a fresh copy of its log; record, assert equal."""
    fresh = fresh_copy(home, tmp_path / "fresh")
    cached = Reading(home)  # the first read since the change: through the snapshot
    replayed = Reading(fresh)
    handles = sorted({row["handle"] for row in cached.listing + replayed.listing})
    cached.show(home, handles)
    replayed.show(fresh, handles)
    expected, observed = replayed.facts(), cached.facts()
    stale = sorted(set(observed) - set(expected))
    detail = "; ".join(
        part for part in (note, cached.route, f"{len(stale)} stale facts" if stale else "") if part
    )
    figures = fault_report.count(scenario, expected, observed, detail)
    assert figures.lost == 0 and figures.duplicated == 0, (cached.route, expected, observed)
    assert stale == [], cached.route
    assert cached.listing == replayed.listing
    assert cached.shows == replayed.shows
    assert cached.warnings == replayed.warnings
    # And the snapshot it leaves behind is right too.
    again = Reading(home)
    again.show(home, handles)
    assert again.facts() == expected and again.warnings == replayed.warnings
    return cached


def write_in_place(path: Path, content: bytes) -> int:
    """Write over the segment itself, as an editor saving in place does; return its inode."""
    with open(path, "r+b") as file:
        file.write(content)
        file.truncate()
    return path.stat().st_ino


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def like(event: m.Event, kind: type[m.Event], **fields: object) -> m.Event:
    """An event of another type with the same id, clock, device, time and contact."""
    shared = {f.name for f in msgspec.structs.fields(kind)} & set(event.__struct_fields__)
    made = {name: getattr(event, name) for name in shared}
    return kind(**{**made, "v": kind.VERSION, **fields})


def after_everything(home: Path) -> dict[str, object]:
    """The clock fields of an event written after every event of ``home``'s log."""
    events = [
        m.event_decoder().decode(line)
        for segment in (home / "log").glob("*.jsonl")
        for line in lines_of(segment)
    ]
    fields: dict[str, object] = {"recorded": max(event.recorded for event in events)}
    if "hlc" in m.NoteAdded.__struct_fields__:
        fields["hlc"] = max(getattr(event, "hlc", 0) for event in events) + 1
    return fields


def line_index(lines: list[bytes], needle: bytes) -> int:
    (index,) = [i for i, line in enumerate(lines) if needle in line]
    return index


# --- same inode, same length ---------------------------------------------------------------


def test_snapshot_with_an_email_changed_in_place_folds_the_new_email(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    inode, size = segment.stat().st_ino, segment.stat().st_size
    data = segment.read_bytes()
    assert write_in_place(segment, data.replace(b"ada@example.org", b"eve@example.org")) == inode
    assert segment.stat().st_size == size

    cached = compare("same-length edit: an e-mail changed", laptop, tmp_path, fault_report)

    assert "replay" in cached.route
    assert json.loads(cached.shows["ada-lovelace"][1])["email"] == "eve@example.org"


def test_snapshot_with_a_meeting_replaced_by_an_archive_in_place_archives(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    lines = lines_of(segment)
    index = line_index(lines, b'"meeting.scheduled"')
    archived = like(m.event_decoder().decode(lines[index]), m.ContactArchived)
    line = m.encode_lines([archived])
    assert len(line) < len(lines[index])
    lines[index] = line[:-1] + b" " * (len(lines[index]) - len(line)) + b"\n"  # JSON allows it
    write_in_place(segment, b"".join(lines))

    cached = compare(
        "same-length edit: meeting.scheduled replaced by contact.archived",
        laptop,
        tmp_path,
        fault_report,
    )

    assert json.loads(cached.shows["ada-lovelace"][1])["stage"] == "archived"


# --- same inode, other length --------------------------------------------------------------


def test_snapshot_with_a_valid_line_inserted_in_place_folds_it(laptop, tmp_path, fault_report):
    segment = segment_of(laptop)
    lines = lines_of(segment)
    grace = m.event_decoder().decode(lines[line_index(lines, b'"Grace Hopper"')])
    archived = like(grace, m.ContactArchived, id=grace.id[:-4] + "ZZZZ")
    lines.insert(line_index(lines, b'"Grace Hopper"') + 1, m.encode_lines([archived]))
    write_in_place(segment, b"".join(lines))

    cached = compare("valid line inserted in place", laptop, tmp_path, fault_report)

    assert json.loads(cached.shows["grace-hopper"][1])["stage"] == "archived"


def test_snapshot_with_a_bad_line_inserted_in_the_middle_names_its_line(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    lines = lines_of(segment)
    lines.insert(2, b'{"type":"note.added","id":\n')
    write_in_place(segment, b"".join(lines))
    where = f"HOME/log/{segment.name}:3: skipped a damaged line"

    cached = compare("bad line inserted in the middle", laptop, tmp_path, fault_report)

    damage = [w for w in cached.warnings if "damaged" in w or "incomplete" in w]
    assert len(damage) == 1 and damage[0].startswith(f"warning: {where} ("), cached.warnings
    fsck = run_coffeechat(laptop, "fsck", now=NOW)
    assert fsck.status == 3
    assert f"{segment}:3: skipped a damaged line" in fsck.stdout
    assert "incomplete last line" not in fsck.stdout + fsck.stderr


def test_snapshot_with_a_longer_copy_written_over_the_segment_replays(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    inode, size = segment.stat().st_ino, segment.stat().st_size
    lines = lines_of(segment)
    # An older copy of the segment, edited elsewhere and grown there, copied back with cp.
    other = tmp_path / "copy.jsonl"
    other.write_bytes(
        b"".join(lines).replace(b"ada@example.org", b"ada@example.net")
        + lines[line_index(lines, b'"Alan Turing"')].replace(b'"Alan Turing"', b'"Alan Mathison"')
    )
    subprocess.run(["cp", str(other), str(segment)], check=True)
    assert segment.stat().st_ino == inode and segment.stat().st_size > size

    cached = compare("longer copy written over the segment", laptop, tmp_path, fault_report)

    assert json.loads(cached.shows["ada-lovelace"][1])["email"] == "ada@example.net"


# --- another file in its place --------------------------------------------------------------


def test_snapshot_with_two_replacements_by_rename_reusing_the_inode_replays(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    inode, size = segment.stat().st_ino, segment.stat().st_size
    data = segment.read_bytes()
    reused, tries = False, 0
    # Once another process takes the freed inode (a busy disk), it stays taken: few tries.
    while not reused and tries < 10:
        tries += 1
        for version in (b"ada@example.com", b"eve@example.org"):
            temporary = segment.with_name(f".{segment.name}.tmp")
            temporary.write_bytes(data.replace(b"ada@example.org", version))
            os.replace(temporary, segment)
        reused = segment.stat().st_ino == inode
    how = f"inode reused after {tries} pairs of replacements"
    if not reused:
        # The same inode for other bytes of the same length, the other way: the snapshot
        # marks the file now in place, which is moved away, edited there and moved back.
        how = f"inode not reused in {tries} tries (taken by another process): moved away and back"
        ok(laptop, "ls")
        inode = segment.stat().st_ino
        elsewhere = tmp_path / "elsewhere.jsonl"
        os.rename(segment, elsewhere)
        write_in_place(elsewhere, data.replace(b"ada@example.org", b"eve@example.net"))
        os.rename(elsewhere, segment)
        assert segment.stat().st_ino == inode
    assert segment.stat().st_size == size
    email = "eve@example.org" if reused else "eve@example.net"

    cached = compare(
        "two temp+rename replacements (inode reused)",
        laptop,
        tmp_path,
        fault_report,
        note=how,
    )

    assert json.loads(cached.shows["ada-lovelace"][1])["email"] == email


def test_snapshot_with_a_truncated_segment_leaves_its_cut_events_out(
    laptop, tmp_path, fault_report
):
    segment = segment_of(laptop)
    lines = lines_of(segment)
    first_outreach = next(i for i, line in enumerate(lines) if b'"outreach.sent"' in line)
    kept = b"".join(lines[: first_outreach + 1])  # Ada reached; what followed is cut
    os.truncate(segment, len(kept))

    cached = compare("truncated segment", laptop, tmp_path, fault_report)

    assert json.loads(cached.shows["ada-lovelace"][1])["stage"] == "reached"
    assert json.loads(cached.shows["alan-turing"][1])["stage"] == "new"  # his outreach cut


def test_snapshot_with_a_segment_cut_then_grown_past_its_mark_replays(
    laptop, tmp_path, fault_report
):
    # The phone went back to an older backup and recorded on; a sync tool that writes in
    # place (rsync --inplace, some cloud drives) cut the laptop's copy and appended.
    segment = phone_segment(laptop)
    inode, size = segment.stat().st_ino, segment.stat().st_size
    lines = lines_of(segment)
    added = m.event_decoder().decode(lines[0])
    later = [
        msgspec.structs.replace(
            like(added, m.NoteAdded, id=added.id[:-4] + f"ZZZ{n}", text=f"a long note {n} " * 8),
            **after_everything(laptop),
        )
        for n in range(3)
    ]
    os.truncate(segment, len(lines[0]))
    with open(segment, "ab") as file:
        file.write(m.encode_lines(later))
    assert segment.stat().st_ino == inode and segment.stat().st_size > size

    cached = compare(
        "segment cut, then grown past the snapshot's mark", laptop, tmp_path, fault_report
    )

    assert json.loads(cached.shows["barbara-liskov"][1])["stage"] == "new"


def test_snapshot_with_a_deleted_segment_leaves_its_events_out(laptop, tmp_path, fault_report):
    phone_segment(laptop).unlink()

    cached = compare("deleted segment (the phone's)", laptop, tmp_path, fault_report)

    assert "barbara-liskov" not in [row["handle"] for row in cached.listing]


# --- what must stay cheap ------------------------------------------------------------------


def test_snapshot_with_nothing_changed_is_taken_without_reading_the_log_again(laptop):
    ok(laptop, "note", "ada", "second thoughts")

    for command in (["note", "grace", "one more"], ["ls"], ["show", "ada"]):
        result = ok(laptop, *command, env=TRACE)
        assert "snapshot: cached\n" in result.stderr, (command, result.stderr)


def test_snapshot_with_an_honest_append_by_another_process_reads_only_the_new_lines(laptop):
    # Another process of this device appended (it did not move the snapshot on).
    segment = segment_of(laptop)
    lines = lines_of(segment)
    note = m.event_decoder().decode(lines[line_index(lines, b'"likes compilers"')])
    again = like(note, m.NoteAdded, id=note.id[:-4] + "ZZZZ", text="likes COBOL too")
    again = msgspec.structs.replace(again, **after_everything(laptop))
    with open(segment, "ab") as file:
        file.write(m.encode_lines([again]))

    result = ok(laptop, "show", "grace", env=TRACE)

    assert "snapshot: cached (checked" in result.stderr, result.stderr
    assert "likes COBOL too" in result.stdout


# --- a full disk (refs #9) -----------------------------------------------------------------


@pytest.fixture
def full_cache(tmp_path: Path) -> Iterator[Path]:
    """A home whose cache folder is a 64 KiB tmpfs filled to the last byte."""
    home = tmp_path / "home"
    cache = home / "cache"
    cache.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(cache)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        fill(cache / "filler")
        yield home
    finally:
        subprocess.run(["umount", str(cache)], check=True)


def fill(path: Path) -> None:
    with open(path, "wb", buffering=0) as file:
        for size in (4096, 1):
            try:
                while True:
                    file.write(b"\0" * size)
            except OSError:
                continue


def test_snapshot_on_a_full_disk_leaves_no_temporary_file_and_commands_succeed(
    full_cache: Path, fault_report
):
    home = full_cache
    ok(home, "add", "Ada Lovelace")
    texts = []
    for run in range(40):
        if run % 2:
            ok(home, "ls")
        else:
            texts.append(f"note {run}")
            ok(home, "note", "ada", texts[-1])
    leftovers = sorted(p.name for p in (home / "cache").iterdir() if p.name != "filler")

    shown = json.loads(ok(home, "show", "ada", "--json").stdout)
    observed = [event["text"] for event in shown["timeline"] if event["type"] == "note.added"]
    figures = fault_report.count(
        "full disk under the cache: 40 runs",
        texts,
        observed,
        f"{len(leftovers)} temporary snapshot files left",
    )
    assert figures.lost == 0 and figures.duplicated == 0
    assert leftovers == []
