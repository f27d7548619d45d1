"""The links between contacts the snapshot keeps (``events/links.py``) are those of the
state, whatever was folded since, and a lazy load finds them decoding only what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from coffeechat.events import model as m
from coffeechat.events.decisions import Stamp
from coffeechat.events.links import Links, links_of
from coffeechat.events.log import EventLog
from coffeechat.events.snapshot import CachedProjection, LazyContacts, load_state

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def append(folder: Path, minutes: int, make: list[tuple[type[m.Event], dict[str, object]]]) -> None:
    stamp = Stamp(START + timedelta(minutes=minutes), "laptop", PARIS)
    EventLog(folder, "laptop").append([stamp(kind, **fields) for kind, fields in make])


def test_links_after_folds_on_a_lazy_load_are_the_states_and_decode_only_the_touched(
    tmp_path: Path,
):
    folder, cache = tmp_path / "log", tmp_path / "cache"
    meeting = START + timedelta(days=10)
    append(
        folder,
        0,
        [(m.ContactAdded, {"contact": f"c{number}", "name": f"C {number}"}) for number in range(30)]
        + [
            (m.ContactAdded, {"contact": "ada", "name": "Ada", "via": "c1"}),
            (m.MeetingScheduled, {"contact": "c2", "starts": meeting}),
            (m.MeetingScheduled, {"contact": "c3", "starts": meeting}),
        ],
    )
    load_state(folder, cache, [])
    assert links_of(load_state(folder, cache, []).contacts) == Links(["c2", "c3"], {"c1": ["ada"]})
    # Since: c3 archived, c4 booked, grace added through c1, ada now said to come from c5.
    append(
        folder,
        1,
        [
            (m.ContactArchived, {"contact": "c3"}),
            (m.MeetingScheduled, {"contact": "c4", "starts": meeting}),
            (m.ContactAdded, {"contact": "grace", "name": "Grace", "via": "c1"}),
            (m.ContactUpdated, {"contact": "ada", "via": "c5"}),
        ],
    )
    projection = CachedProjection(folder, cache, lazy_contacts=True)
    state = projection.load([])
    assert isinstance(state.contacts, LazyContacts)
    links = projection.links()
    expected = Links(["c2", "c4"], {"c1": ["grace"], "c5": ["ada"]})
    assert links == expected
    held = {h: dict.__getitem__(state.contacts, h) for h in dict.keys(state.contacts)}
    raw = {h for h, value in held.items() if isinstance(value, msgspec.Raw)}
    assert len(raw) == len(held) - 6  # c1, c3, c4, c5, ada, grace were decoded by the fold
    # A lazy writer's save stores them; the next load finds them as they are.
    append(folder, 2, [(m.NoteAdded, {"contact": "c9", "text": "hello"})])
    projection.load([])
    projection._save()
    again = CachedProjection(folder, cache, lazy_contacts=True)
    again.load([])
    assert again.links() == expected == links_of(load_state(folder, cache, []).contacts)


def test_links_kept_by_a_long_running_reader_follow_its_appends_and_others(tmp_path: Path):
    folder, cache = tmp_path / "log", tmp_path / "cache"
    meeting = START + timedelta(days=10)
    append(folder, 0, [(m.ContactAdded, {"contact": f"c{n}", "name": f"C {n}"}) for n in range(9)])
    load_state(folder, cache, [])
    projection = CachedProjection(folder, cache)  # as the daemon holds it
    state = projection.load([])
    assert projection.links() == Links()
    stamp = Stamp(START + timedelta(minutes=5), "laptop", PARIS, after=state.last_hlc)
    own = [stamp(m.MeetingScheduled, contact="c1", starts=meeting)]
    written = EventLog(folder, "laptop").append(own)
    assert written is not None
    projection.appended(own, written)
    assert projection.links() == Links(["c1"], {})
    append(folder, 9, [(m.ContactUpdated, {"contact": "c2", "via": "c3"})])  # another command
    state = projection.refresh([])
    assert projection.links() == Links(["c1"], {"c3": ["c2"]}) == links_of(state.contacts)
    stored = CachedProjection(folder, cache, lazy_contacts=True)
    stored.load([])
    assert stored.links() == Links(["c1"], {"c3": ["c2"]})  # stored, then the fold since
