"""The listed fires of schedules (plugins/occurrences.py): the same answers as croniter's
search, kept in a home's cache so that the next command need not import croniter.

Instants are explicit; the span listed is around the real clock's year, so the instants
asked about here are taken around the real clock too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coffeechat.plugins import occurrences, schedules
from coffeechat.plugins.occurrences import CACHE_NAME, CacheFile, Entry
from coffeechat.plugins.schedules import (
    next_fire,
    next_in_window,
    previous_fire,
    use_cache_folder,
)
from coffeechat.plugins.settings import PlaybookSettings

ZONES = [
    ZoneInfo(key)
    for key in (
        "Europe/Paris",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Tokyo",
        "America/Santiago",
        "UTC",
    )
]
WINDOW = "0 9 * * TUE,WED"
EXPRESSIONS = [
    WINDOW,
    WINDOW,
    "0 8 * * TUE",
    "30 2 * * *",
    "0,30 1-3 * * SAT,SUN",
    "0 10 1 * *",
    "15 0 1,15 * MON",
    "0 12 29 2 *",
    "*/20 1-3 * MAR,OCT,NOV SUN",
    "0 6 */10 * FRI",
    "0 7 * * 5-7",
]
YEAR = time.gmtime().tm_year
SPAN_START = datetime(YEAR - 4, 1, 1, tzinfo=UTC)
SPAN_END = datetime(YEAR + 2, 1, 1, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    """Each test starts with nothing listed and no cache folder; a schedule is listed
    from the first question."""
    use_cache_folder(None)
    occurrences._forget()
    occurrences.LIST_AFTER, listed_after = 1, occurrences.LIST_AFTER
    yield
    occurrences.LIST_AFTER = listed_after
    use_cache_folder(None)
    occurrences._forget()


def changes(zone: ZoneInfo) -> list[datetime]:
    """Return the instants (UTC, to the half hour) ``zone``'s offset changes in the span."""
    found = []
    moment, offset = SPAN_START, SPAN_START.astimezone(zone).utcoffset()
    while moment < SPAN_END:
        moment += timedelta(minutes=30)
        current = moment.astimezone(zone).utcoffset()
        if current != offset:
            found.append(moment)
            offset = current
    return found


CHANGES = [(zone, moment) for zone in ZONES for moment in changes(zone)]
anywhere = st.tuples(
    st.sampled_from(ZONES),
    st.datetimes(
        min_value=SPAN_START.replace(tzinfo=None) - timedelta(days=10),
        max_value=SPAN_END.replace(tzinfo=None) + timedelta(days=10),
    ).map(lambda moment: moment.replace(tzinfo=UTC)),
)
near_changes = st.builds(
    lambda change, seconds: (change[0], change[1] + timedelta(seconds=seconds)),
    st.sampled_from(CHANGES),
    st.integers(-36 * 3600, 36 * 3600),
)


def same(listed: datetime | None, searched: datetime | None) -> None:
    """Assert two answers are the same instant, with the same zone and offset."""
    if searched is None:
        assert listed is None
        return
    assert listed is not None
    assert listed.astimezone(UTC) == searched.astimezone(UTC)
    assert listed.tzinfo is searched.tzinfo
    assert listed.utcoffset() == searched.utcoffset()
    assert listed.fold == searched.fold


@settings(max_examples=400, deadline=None)
@given(question=st.one_of(anywhere, near_changes), expression=st.sampled_from(EXPRESSIONS))
def test_listed_fires_with_any_instant_match_croniter_search(
    question: tuple[ZoneInfo, datetime], expression: str
) -> None:
    zone, moment = question
    searched_next = schedules._search_next(expression, moment, zone)
    searched_previous = schedules._search_previous(expression, moment, zone)
    # Answered by the list when the answer lies in its span (None: the search answers).
    listed_next = occurrences.next_after(expression, moment, zone)
    if listed_next is not None:
        same(listed_next, searched_next)
    listed_previous = occurrences.last_at_or_before(expression, moment, zone)
    if listed_previous is not None:
        same(listed_previous, searched_previous)
    if expression == WINDOW and SPAN_START + timedelta(days=7) < moment < SPAN_END - timedelta(
        days=7
    ):
        assert listed_next is not None and listed_previous is not None
    same(next_fire(expression, moment, zone), searched_next)
    same(previous_fire(expression, moment, zone), searched_previous)


def test_listed_fires_answer_inside_the_span_without_searching() -> None:
    moment = datetime(YEAR, 3, 1, tzinfo=UTC)
    assert occurrences.next_after(WINDOW, moment, PARIS) is not None
    assert occurrences.last_at_or_before(WINDOW, moment, PARIS) is not None
    # Outside the span, or about a schedule that is not plain: the search answers.
    assert occurrences.next_after(WINDOW, SPAN_END + timedelta(days=1), PARIS) is None
    assert occurrences.next_after("0 9 L * *", moment, PARIS) is None
    assert occurrences.next_after("* * * * *", moment, PARIS) is None  # too many fires


def test_listed_fires_without_cache_folder_only_for_a_schedule_asked_often() -> None:
    occurrences.LIST_AFTER = 3
    moment = datetime(YEAR, 3, 1, tzinfo=UTC)
    answers = [occurrences.next_after(WINDOW, moment, PARIS) for _ in range(4)]
    assert answers[:2] == [None, None]  # croniter's search is cheaper for a few questions
    assert answers[2] is not None and answers[2] == answers[3]


def test_use_cache_folder_writes_a_private_file_the_next_process_reads(tmp_path: Path) -> None:
    use_cache_folder(str(tmp_path))
    moment = datetime(YEAR, 2, 3, 10, tzinfo=UTC)
    expected = next_in_window(moment, WINDOW, PARIS)
    path = tmp_path / CACHE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    stored = msgspec.msgpack.decode(path.read_bytes(), type=CacheFile)
    assert [(entry.expression, entry.zone) for entry in stored.entries] == [
        (WINDOW, "Europe/Paris")
    ]
    # Another process answers from the file, without importing croniter.
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime, UTC
        from zoneinfo import ZoneInfo
        from coffeechat.plugins import schedules
        schedules.use_cache_folder({str(tmp_path)!r})
        moment = datetime({YEAR}, 2, 3, 10, tzinfo=UTC)
        answer = schedules.next_in_window(moment, {WINDOW!r}, ZoneInfo("Europe/Paris"))
        print(answer.isoformat(), "croniter" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == [expected.isoformat(), "False"]


def test_use_cache_folder_without_a_folder_lists_in_memory_only(tmp_path: Path) -> None:
    missing = tmp_path / "cache"
    use_cache_folder(str(missing))
    moment = datetime(YEAR, 2, 3, 10, tzinfo=UTC)
    same(next_in_window(moment, WINDOW, PARIS), schedules._search_next(WINDOW, moment, PARIS))
    assert not missing.exists()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\x93not msgpack at all", id="garbage"),
        pytest.param(msgspec.msgpack.encode({"something": "else"}), id="foreign"),
        pytest.param(msgspec.msgpack.encode(CacheFile(99, [])), id="other-format"),
    ],
)
def test_cache_file_damaged_or_foreign_is_ignored_and_replaced(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / CACHE_NAME).write_bytes(content)
    use_cache_folder(str(tmp_path))
    moment = datetime(YEAR, 6, 30, 12, tzinfo=UTC)
    same(next_fire(WINDOW, moment, PARIS), schedules._search_next(WINDOW, moment, PARIS))
    stored = msgspec.msgpack.decode((tmp_path / CACHE_NAME).read_bytes(), type=CacheFile)
    assert [entry.zone for entry in stored.entries] == ["Europe/Paris"]


def forged(tmp_path: Path, **changes: object) -> None:
    """Write the real entry of WINDOW in Paris with every fire an hour late, and
    ``changes`` to its other fields."""
    use_cache_folder(str(tmp_path))
    next_fire(WINDOW, datetime(YEAR, 1, 5, tzinfo=UTC), PARIS)
    stored = msgspec.msgpack.decode((tmp_path / CACHE_NAME).read_bytes(), type=CacheFile)
    (real,) = stored.entries
    hour = 3600 * 10**6
    fake = msgspec.structs.replace(real, fires=[fire + hour for fire in real.fires], **changes)
    (tmp_path / CACHE_NAME).write_bytes(msgspec.msgpack.encode(CacheFile(stored.format, [fake])))
    occurrences._forget()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"zone_data": "0" * 32}, id="another-tz-database"),
        pytest.param({"method": occurrences.METHOD + 1}, id="another-method"),
        pytest.param({"start": 0}, id="another-span"),
    ],
)
def test_cache_entry_from_other_tz_data_method_or_span_is_not_used(
    tmp_path: Path, changes: dict[str, object]
) -> None:
    forged(tmp_path, **changes)
    moment = datetime(YEAR, 6, 30, 12, tzinfo=UTC)
    same(next_fire(WINDOW, moment, PARIS), schedules._search_next(WINDOW, moment, PARIS))


def test_cache_entry_with_matching_keys_is_what_answers(tmp_path: Path) -> None:
    # The forged entry above is only refused for its keys: with them intact it answers
    # (which is why they must name everything the fires depend on).
    forged(tmp_path)
    moment = datetime(YEAR, 6, 30, 12, tzinfo=UTC)
    searched = schedules._search_next(WINDOW, moment, PARIS)
    assert next_fire(WINDOW, moment, PARIS) == searched + timedelta(hours=1)


def test_settings_import_does_not_import_croniter() -> None:
    script = (
        "import sys; import coffeechat.plugins.settings, coffeechat.plugins.schedules; "
        "print('croniter' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_settings_builtin_cron_defaults_are_valid() -> None:
    defaults = PlaybookSettings()
    crons = [
        getattr(defaults, field.name)
        for field in msgspec.structs.fields(PlaybookSettings)
        if field.type.__name__ == "Cron"
    ]
    assert len(crons) == 2
    assert all(schedules.is_valid(cron.text) for cron in crons)


def test_entry_layout_is_stable() -> None:
    # The file is read back by later versions: a new field needs METHOD or the format bumped.
    assert [field.name for field in msgspec.structs.fields(Entry)] == [
        "expression",
        "zone",
        "zone_data",
        "method",
        "start",
        "end",
        "fires",
    ]
    assert os.sep not in CACHE_NAME
