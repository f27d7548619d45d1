"""The hooks a coffeechat plugin can implement.

A plugin is a module (or any object) with functions named after these hooks and
decorated with :data:`hookimpl`::

    from coffeechat.plugins import hookimpl

    @hookimpl
    def coffeechat_reminders(state, now, settings):
        return [...]

Built-in behaviour (every playbook rule, the channels) is registered the same way as a
third-party plugin. Hooks are called with keyword arguments only, so a hook can gain
arguments later without breaking anyone; a plugin may accept only the arguments it uses.
Hooks are never renamed. ``docs/plugins.md`` documents each one with an example.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pluggy

PROJECT = "coffeechat"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- reminders ---------------------------------------------------------------------------


@hookspec
def coffeechat_reminders(state: Any, now: datetime, settings: Any) -> list[Any]:
    """Propose the reminders a rule sees in the current state.

    A rule is pure: it reads its arguments and returns reminders, with no I/O, so it can
    be evaluated for any instant (``agenda --at``) and tested with a fixed clock. Return
    every reminder the rule stands behind, past due or not: the engine applies ``done``,
    ``snooze`` and ``archive``, sorts, and picks what is due. Build each with
    :func:`coffeechat.plugins.reminders.make_reminder`, so that its id is stable.

    :param state: the projection (:class:`coffeechat.events.projection.State`):
        contacts by handle, recurring reminders, done and snoozed reminders.
    :param now: the instant being evaluated (aware, UTC).
    :param settings: the validated settings (:class:`coffeechat.plugins.settings.Settings`);
        ``settings.section(name)`` returns a plugin's own section.
    :returns: a list of :class:`coffeechat.plugins.reminders.Reminder` (or None).
    """


# --- delivery ----------------------------------------------------------------------------


@hookspec
def coffeechat_channels(register: Callable[..., None]) -> None:
    """Provide notification channels.

    Call ``register(scheme, factory)`` for each channel: ``scheme`` is the URL scheme that
    selects it in ``config.toml`` (``[[channels]] url = "scheme://…"``), ``factory(url)``
    returns an object with ``send(title, body, reminder) -> bool``. Return nothing.

    :param register: the callback that records a channel.
    """


# --- events ------------------------------------------------------------------------------


@hookspec
def coffeechat_event_recorded(event: Any, state: Any) -> None:
    """Observe one event after it was appended to the log.

    Called once per event, in log order, with the state after folding it. Meant for
    auto-actions (append to a calendar, mirror to a CRM). It must not block for long,
    and must not append events itself. Return nothing.

    :param event: the event (a :class:`coffeechat.events.model.Event`).
    :param state: the projection after the event.
    """


# --- the command line and settings -------------------------------------------------------


@hookspec
def coffeechat_commands(register: Callable[..., None]) -> None:
    """Add commands to the command line.

    Call ``register(name, help, configure, run)``: ``configure(parser)`` adds arguments to
    an ``argparse`` sub-parser; ``run(app, args)`` does the work and returns the exit
    status (None for 0). ``app`` gives ``app.state``, ``app.now``, ``app.out(line)``,
    ``app.record(decision, describe)``. A name already taken is refused with a warning.

    :param register: the callback that records a command.
    """


@hookspec
def coffeechat_settings(register: Callable[..., None]) -> None:
    """Declare a configuration section with its defaults.

    Call ``register(section, struct_type)``: ``struct_type`` is a ``msgspec.Struct`` whose
    fields all have defaults; ``[section]`` in ``config.toml`` is validated against it, and
    ``settings.section(section)`` returns the instance. ``doctor`` lists it.

    :param register: the callback that records a section.
    """
