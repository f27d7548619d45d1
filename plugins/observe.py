"""Showing plugins the events as they are appended (``coffeechat_event_recorded``)."""

from collections.abc import Iterable

from coffeechat.events.model import Event
from coffeechat.events.projection import State, apply
from coffeechat.plugins.manager import PluginProblem, Plugins


def observe(plugins: Plugins, state: State, events: Iterable[Event]) -> list[PluginProblem]:
    """Fold each event into ``state``, then show it to every plugin, in order.

    Return the failures (a plugin that raises is named; the others still see the event).
    """
    problems = []
    for event in events:
        apply(state, event)
        for name, result in plugins.call_each(
            "coffeechat_event_recorded", event=event, state=state
        ):
            if isinstance(result, Exception):
                problems.append(
                    PluginProblem(
                        name,
                        plugins.source_of(name),
                        f"{type(result).__name__}: {result}",
                        "coffeechat_event_recorded",
                    )
                )
    return problems
