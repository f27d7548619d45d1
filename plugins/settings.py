"""Settings: ``config.toml``, validated by msgspec against the sections plugins declare.

Every number of the playbook is a setting with a default, so coffeechat runs with no
config file at all. A plugin declares its own section through the
``coffeechat_settings`` hook; the built-in ``playbook`` and ``quiet_hours`` sections are
declared the same way. A wrong value is a user error naming the file and the path
inside it (``config.toml: at '$.playbook.nudge_after': can't read 'soon' as a duration``);
an unknown section is only a warning, since it may belong to a plugin that is not
installed here, and so is an unknown key (``nudge_afer``): it is ignored, the default
stands, and the warning names the file, the key and the nearest known one.

Durations are written as on the command line (``7d``, ``30m``), schedules as 5-field
cron lines, clock times as ``21:00``.
"""

import os
import re
import sys
from datetime import time, timedelta
from typing import Annotated, Any, Literal

import msgspec

from coffeechat.events.errors import UserError


class Duration:
    """A length of time as the user wrote it (``7d``) and as a ``timedelta``."""

    __slots__ = ("delta", "text")

    def __init__(self, text: str) -> None:
        from coffeechat.events.when import parse_duration

        try:
            self.delta: timedelta = parse_duration(text)
        except UserError as error:
            raise ValueError(str(error)) from None
        self.text = text

    def __repr__(self) -> str:
        return f"Duration({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and other.delta == self.delta

    def __hash__(self) -> int:
        return hash(self.delta)


class Cron:
    """A 5-field cron line (``0 9 * * TUE,WED``), checked when read."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        from coffeechat.plugins.schedules import is_valid

        if not isinstance(text, str) or not is_valid(text):
            raise ValueError(f"invalid cron {text!r}: five fields, e.g. '0 9 * * TUE'")
        self.text = text

    @classmethod
    def builtin(cls, text: str) -> "Cron":
        """Return a default written in the code, unchecked: checking imports croniter
        (tens of milliseconds), which a command should pay only when a schedule must be
        searched; the tests check every built-in default."""
        cron = cls.__new__(cls)
        cron.text = text
        return cron

    def __repr__(self) -> str:
        return f"Cron({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cron) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ClockTime:
    """A time of day (``21:00``)."""

    __slots__ = ("text", "time")

    def __init__(self, text: str) -> None:
        match = _CLOCK.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"can't read {text!r} as a time of day: use HH:MM, e.g. 21:00")
        self.time = time(int(match.group(1)), int(match.group(2)))
        self.text = text

    def __repr__(self) -> str:
        return f"ClockTime({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClockTime) and other.time == self.time

    def __hash__(self) -> int:
        return hash(self.time)


_CUSTOM_TYPES: dict[type, Any] = {Duration: Duration, Cron: Cron, ClockTime: ClockTime}


def _decode_custom(kind: type, value: Any) -> Any:
    if kind in _CUSTOM_TYPES:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return _CUSTOM_TYPES[kind](value)
    raise NotImplementedError(kind)


class PlaybookSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The numbers of the playbook (``[playbook]``); each rule reads its own."""

    send_window: Cron = Cron.builtin("0 9 * * TUE,WED")
    nudge_after: Duration = Duration("7d")
    max_nudges: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    prep_before: Duration = Duration("1d")
    on_time_before: Duration = Duration("30m")
    on_time_before_in_person: Duration = Duration("60m")
    book_after: Duration = Duration("1h")
    thank_you_after: Duration = Duration("2h")
    thank_you_repeat: Duration = Duration("12h")
    follow_up_after: Duration = Duration("7d")
    keep_in_touch: Duration = Duration("90d")
    digest: Cron = Cron.builtin("0 8 * * TUE")
    did_it_happen_after: Duration = Duration("2h")


class QuietHours(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """When non-urgent notifications wait (``[quiet_hours]``), in your time zone."""

    enabled: bool = True
    start: ClockTime = ClockTime("21:00")
    end: ClockTime = ClockTime("08:00")


class DaemonSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How the daemon delivers (``[daemon]``)."""

    # More reminders than this due at once (after a sleep): one summary instead.
    summary_after: Annotated[int, msgspec.Meta(ge=1)] = 5
    # Which daemon delivers when several devices share the log (docs/daemon.md):
    # "lease" (the one holding the delivery lease), "always" (this one, whatever the
    # others do), or "never" (this one only keeps its log).
    deliver: Literal["lease", "always", "never"] = "lease"
    # How long a lease lasts without renewal (a device away this long is taken over),
    # and how long a device that has just taken the lease waits before delivering, so a
    # competing claim still in transit through the sync tool can arrive.
    lease: Duration = Duration("1d")
    takeover_wait: Duration = Duration("2m")


class ChannelSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One ``[[channels]]`` entry: where notifications go.

    ``url`` is an Apprise URL (``ntfy://topic``) or a plugin's (``desktop://``);
    ``config`` is an Apprise YAML or TEXT configuration file instead; ``tags`` are what
    ``[routing]`` selects it by; ``name`` is how logs call it (secrets never shown).
    """

    url: str | None = None
    config: str | None = None
    tags: list[str] = []
    name: str | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.config is None):
            raise ValueError("give either url or config")


class Settings:
    """The validated settings: the core values and every declared section.

    ``channels`` are the ``[[channels]]`` entries; ``routing`` maps a reminder kind or
    priority (or ``default``) to the channel tags it goes to (``*``: every channel).
    """

    def __init__(
        self,
        sections: dict[str, Any],
        timezone: str | None,
        source: str | None,
        channels: list[ChannelSettings] | None = None,
        routing: dict[str, list[str]] | None = None,
    ) -> None:
        self.sections = sections
        self.timezone = timezone
        self.source = source
        self.channels = channels or []
        self.routing = routing or {}

    @property
    def playbook(self) -> PlaybookSettings:
        """The ``[playbook]`` section."""
        section: PlaybookSettings = self.sections["playbook"]
        return section

    @property
    def daemon(self) -> DaemonSettings:
        """The ``[daemon]`` section."""
        section: DaemonSettings = self.sections["daemon"]
        return section

    @property
    def quiet_hours(self) -> QuietHours:
        """The ``[quiet_hours]`` section."""
        section: QuietHours = self.sections["quiet_hours"]
        return section

    def section(self, name: str) -> Any:
        """Return the section a plugin declared under ``name``; KeyError if none did."""
        return self.sections[name]


CORE_KEYS = ("timezone", "channels", "routing")


def read_config(path: str) -> dict[str, Any]:
    """Return ``config.toml`` at ``path`` parsed (missing: empty), unvalidated.

    Raise UserError naming the file if it is not TOML (or nests deeper than Python
    can parse: a table of a table of … a thousand levels deep).
    """
    name = os.path.basename(path)
    try:
        with open(path, "rb") as file:
            raw: Any = msgspec.toml.decode(file.read())
    except FileNotFoundError:
        return {}
    except msgspec.DecodeError as error:
        raise UserError(f"{name}: {error}") from None
    except RecursionError:
        raise UserError(f"{name}: nested too deeply to read") from None
    if not isinstance(raw, dict):  # pragma: no cover - TOML's top level is a table
        raise UserError(f"{name}: expected a table at the top level")
    return raw


def _open_to_others(path: str) -> bool:
    """Whether group or others have any access to the file at ``path`` (False if absent)."""
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False  # a missing Apprise file is reported when its channel is built


def apprise_files(raw: dict[str, Any]) -> list[str]:
    """Return the local files the ``[[channels]]`` of a parsed config name by ``config``.

    The path is read the way the Apprise channel reads it (``~`` expanded, ``file://``
    dropped); a remote configuration (``https://…``) is no file of ours.
    """
    channels = raw.get("channels")
    files = []
    for entry in channels if isinstance(channels, list) else []:
        referenced = entry.get("config") if isinstance(entry, dict) else None
        if not isinstance(referenced, str) or not referenced:
            continue
        referenced = referenced.removeprefix("file://")
        if "://" not in referenced:
            files.append(os.path.expanduser(referenced))
    return files


def _section_has(raw: dict[str, Any], section: str, key: str) -> bool:
    table = raw.get(section)
    return isinstance(table, dict) and bool(table.get(key))


def check_secrets_private(path: str) -> None:
    """Refuse ``config.toml`` at ``path`` if it holds secrets (channel URLs, a ``[mail]``
    or ``[calendar]`` password) and group or others can read it; refuse an Apprise
    configuration file it names (``config = "…"``) that group or others can read,
    whatever the config's own mode.

    Decided from the parsed config, so a quoted or escaped key counts and a comment
    does not. Raise UserError naming the file and the ``chmod`` that fixes it (or the
    file's TOML error); return None when all is private or there is no config.
    """
    if not os.path.exists(path):
        return
    raw = read_config(path)
    secrets = [
        what
        for what, held in (
            ("channel URLs", bool(raw.get("channels"))),
            ("the [mail] password", _section_has(raw, "mail", "password")),
            ("the [calendar] password", _section_has(raw, "calendar", "password")),
        )
        if held
    ]
    if not secrets:
        return
    if _open_to_others(path):
        raise UserError(
            f"{path} holds {' and '.join(secrets)} (secrets) and others can read it: "
            f"chmod 600 {path}"
        )
    for referenced in apprise_files(raw):
        if _open_to_others(referenced):
            raise UserError(
                f"{referenced} (an Apprise configuration named in {path}) may hold secrets "
                f"and others can read it: chmod 600 {referenced}"
            )


def load_settings(
    path: str, declared: dict[str, type], warnings: list[str] | None = None
) -> Settings:
    """Read ``config.toml`` at ``path`` (missing: all defaults) against the declared sections.

    ``declared`` maps section names to their ``msgspec.Struct`` types. Raise UserError
    naming the file and the path inside it for any invalid value; append a line to
    ``warnings`` for each section nobody declared and each key no section has (that key
    is ignored: its default stands). Without ``warnings`` (a caller reading only some
    sections), other sections are not mentioned and unknown keys are warned about on
    stderr.
    """
    name = os.path.basename(path)
    raw = read_config(path)
    unknown: list[str] = []  # warnings about keys nobody reads
    sections: dict[str, Any] = {}
    for section, kind in declared.items():
        given = _known_keys(raw.get(section, {}), kind, f"[{section}]", name, unknown)
        try:
            sections[section] = msgspec.convert(given, kind, dec_hook=_decode_custom)
        except msgspec.ValidationError as error:
            raise UserError(f"{name}: {_located(str(error), section)}") from None
    timezone = raw.get("timezone")
    if timezone is not None:
        from coffeechat.events.zones import zone_named

        if not isinstance(timezone, str):
            raise UserError(f"{name}: at '$.timezone': expected an IANA zone name")
        try:
            zone_named(timezone)
        except UserError as error:
            raise UserError(f"{name}: at '$.timezone': {error}") from None
    entries = raw.get("channels", [])
    if isinstance(entries, list):
        entries = [
            _known_keys(entry, ChannelSettings, f"[[channels]] #{number}", name, unknown)
            for number, entry in enumerate(entries, 1)
        ]
    try:
        channels = msgspec.convert(entries, list[ChannelSettings])
    except msgspec.ValidationError as error:
        raise UserError(f"{name}: {_located(str(error), 'channels')}") from None
    try:
        routing = msgspec.convert(raw.get("routing", {}), dict[str, list[str]])
    except msgspec.ValidationError as error:
        raise UserError(f"{name}: {_located(str(error), 'routing')}") from None
    for key, value in raw.items():
        if key in declared or key in CORE_KEYS or warnings is None:
            continue
        if isinstance(value, dict):
            warnings.append(f"{name}: section [{key}] is not used by any installed plugin")
        else:
            unknown.append(f"{name}: unknown key '{key}' (ignored{_guess(key, CORE_KEYS)})")
    if warnings is not None:
        warnings.extend(unknown)
    else:  # a caller that reads one section: still say what it leaves out
        for line in unknown:
            print(f"warning: {line}", file=sys.stderr)
    return Settings(sections, timezone, path, channels, routing)


def _known_keys(given: Any, kind: type, where: str, name: str, unknown: list[str]) -> Any:
    """Return a section (or a ``[[channels]]`` entry) without the keys its type does not
    have, adding a warning for each to ``unknown``: a misspelled key costs its own value
    (the default stands), never the whole config, so reading commands and the daemon
    carry on, and no reminder is lost to a typo."""
    if not isinstance(given, dict) or not isinstance(kind, type):
        return given
    if not issubclass(kind, msgspec.Struct):
        return given
    known = [field.encode_name for field in msgspec.structs.fields(kind)]
    extra = [key for key in given if key not in known]
    for key in extra:
        unknown.append(f"{name}: unknown key '{key}' in {where} (ignored{_guess(key, known)})")
    return {key: value for key, value in given.items() if key not in extra} if extra else given


def _guess(key: str, known: Any) -> str:
    """Return "; did you mean 'x'?" for the known key nearest to ``key`` (or nothing)."""
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _located(message: str, section: str) -> str:
    """Turn msgspec's ``… - at `$.field``` into ``at '$.section.field': …``."""
    text, _, where = message.rpartition(" - at `")
    if not text:
        return f"at '$.{section}': {message}"
    path = where.rstrip("`")[1:]
    return f"at '$.{section}{path}': {text}"
