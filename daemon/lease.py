"""Which device's daemon delivers: the delivery lease.

A home's ``log/`` may be shared by several devices, each running a daemon. Left alone,
every daemon would deliver every reminder (and later every e-mail and calendar entry).
The rule (``[daemon] deliver = "lease"``, the default):

- The daemon that holds the *delivery lease* delivers; the others stay quiet. The lease
  is an event in the log (``delivery.lease``: this device delivers until ``until``), so
  every device learns who holds it through the same sync that brings the reminders.
- The holder renews it when half of it is left (default lease: one day, so about two
  events a day while a daemon runs), and releases it when it stops cleanly.
- When the lease has lapsed (the holder's laptop was closed for a day, or its daemon was
  stopped), the next daemon that needs it claims it. In a home with several devices, a
  daemon that has just claimed waits ``takeover_wait`` (2 minutes) before delivering,
  so a competing claim still travelling through the sync tool can arrive.
- Claims are folded in causal order; a claim made while another device's lease was
  still in force is void (:func:`coffeechat.events.projection._on_lease`). So two
  devices that claimed at once agree, once synced, on the one whose claim came first,
  and the other defers.

``deliver = "always"`` makes this device deliver whatever the lease says (one device
that should always speak, for example a home server), and ``"never"`` makes it only
keep its log. What a sync lag can still cause is written in docs/daemon.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from coffeechat.events.projection import Lease


@dataclass(frozen=True)
class Verdict:
    """What the lease says this daemon may do at one moment.

    ``deliver``: deliver what is due now. ``claim``: append a lease (a claim, or a
    renewal) until ``now + lease``; ``contested``: that claim takes over a lease beside
    other devices, so it waits ``takeover_wait`` before delivering. ``wake``: look again
    no later than this (when the other device's lease lapses, or the takeover wait ends).
    ``reason``: one line for the log, the status and ``doctor``.
    """

    deliver: bool
    claim: bool
    wake: datetime | None
    reason: str
    contested: bool = False


def verdict(
    lease: Lease | None,
    device: str,
    now: datetime,
    *,
    mode: str,
    duration: timedelta,
    takeover_wait: timedelta,
    alone: bool,
) -> Verdict:
    """Given the lease in force (or None), this device, the moment and the settings,
    return what this daemon may do. ``alone``: no other device has written to the log
    (then a claim needs no wait: nobody can compete)."""
    if mode == "always":
        return Verdict(True, False, None, 'delivers: [daemon] deliver = "always"')
    if mode == "never":
        return Verdict(False, False, None, 'delivers nothing: [daemon] deliver = "never"')
    if lease is not None and lease.until > now and lease.device != device:
        return Verdict(
            False,
            False,
            lease.until,
            f"{lease.device} delivers (its lease runs until {_utc(lease.until)})",
        )
    if lease is None or lease.device != device or lease.until <= now:
        if alone or lease is None:
            return Verdict(True, True, None, "delivers (took the delivery lease)")
        return Verdict(
            False,
            True,
            now + takeover_wait,
            f"took the delivery lease: delivers from {_utc(now + takeover_wait)}, "
            "once a competing claim could have arrived",
            contested=True,
        )
    renew = lease.until - now < duration / 2
    settling = lease.since + takeover_wait
    if lease.contested and now < settling:
        return Verdict(
            False,
            renew,
            settling,
            f"took the delivery lease: delivers from {_utc(settling)}, "
            "once a competing claim could have arrived",
        )
    return Verdict(True, renew, None, "delivers (holds the delivery lease)")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
