"""The delivery lease: which device's daemon delivers (refs #8).

The fold decides who holds the lease from ``delivery.lease`` events in causal order;
:func:`coffeechat.daemon.lease.verdict` says what one daemon may do. Both are pure, so
they are tested here directly; tests/faults/test_lease.py runs real daemons on two homes
whose segments are copied between them as a sync tool would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from coffeechat.daemon.lease import verdict
from coffeechat.events import model as m
from coffeechat.events.projection import Lease, State, apply_all

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
WAIT = timedelta(minutes=2)
_count = 0


def lease_event(device: str, at: datetime, until: datetime) -> m.DeliveryLease:
    global _count
    _count += 1
    return m.DeliveryLease(
        id=f"01LEASE{_count:019d}",
        v=1,
        recorded=at,
        device=device,
        at=at,
        until=until,
        offers=["desktop"],
    )


def holder(*events: m.Event) -> Lease | None:
    return apply_all(State(), list(events)).lease


def test_lease_fold_with_a_claim_gives_that_device_the_lease():
    lease = holder(lease_event("laptop-aaaaaa", T0, T0 + DAY))
    assert lease is not None
    assert (lease.device, lease.until, lease.since) == ("laptop-aaaaaa", T0 + DAY, T0)
    assert lease.offers == ["desktop"]


def test_lease_fold_with_a_claim_while_another_holds_it_voids_the_claim():
    lease = holder(
        lease_event("laptop-aaaaaa", T0, T0 + DAY),
        lease_event("server-bbbbbb", T0 + timedelta(hours=1), T0 + timedelta(hours=25)),
    )
    assert lease is not None and lease.device == "laptop-aaaaaa"


def test_lease_fold_with_a_renewal_keeps_when_the_claim_began():
    lease = holder(
        lease_event("laptop-aaaaaa", T0, T0 + DAY),
        lease_event("laptop-aaaaaa", T0 + timedelta(hours=13), T0 + timedelta(hours=37)),
    )
    assert lease is not None
    assert (lease.until, lease.since) == (T0 + timedelta(hours=37), T0)


def test_lease_fold_with_a_lapsed_lease_lets_another_device_take_over():
    later = T0 + timedelta(days=3)
    lease = holder(
        lease_event("laptop-aaaaaa", T0, T0 + DAY),
        lease_event("server-bbbbbb", later, later + DAY),
    )
    assert lease is not None
    assert (lease.device, lease.since) == ("server-bbbbbb", later)


def test_lease_fold_with_a_release_lets_another_device_take_over_at_once():
    stop = T0 + timedelta(hours=3)
    lease = holder(
        lease_event("laptop-aaaaaa", T0, T0 + DAY),
        lease_event("laptop-aaaaaa", stop, stop),  # stopped cleanly
        lease_event("server-bbbbbb", stop + timedelta(minutes=1), stop + DAY),
    )
    assert lease is not None and lease.device == "server-bbbbbb"


def decide(lease: Lease | None, device: str, now: datetime, *, alone: bool = False, mode="lease"):
    return verdict(lease, device, now, mode=mode, duration=DAY, takeover_wait=WAIT, alone=alone)


def test_verdict_with_no_lease_alone_claims_and_delivers_at_once():
    result = decide(None, "laptop-aaaaaa", T0, alone=True)
    assert (result.deliver, result.claim) == (True, True)


def test_verdict_with_no_lease_ever_beside_other_devices_claims_and_delivers():
    result = decide(None, "laptop-aaaaaa", T0)
    assert (result.deliver, result.claim, result.contested) == (True, True, False)


def test_verdict_with_its_own_lapsed_lease_beside_other_devices_claims_and_waits():
    lease = Lease("laptop-aaaaaa", T0 + DAY, T0, "e1")
    result = decide(lease, "laptop-aaaaaa", T0 + 2 * DAY)
    assert (result.deliver, result.claim, result.contested) == (False, True, True)
    assert result.wake == T0 + 2 * DAY + WAIT


def test_verdict_with_another_devices_valid_lease_stays_quiet_until_it_lapses():
    lease = Lease("server-bbbbbb", T0 + DAY, T0, "e1")
    result = decide(lease, "laptop-aaaaaa", T0 + timedelta(hours=1))
    assert (result.deliver, result.claim, result.wake) == (False, False, T0 + DAY)
    assert "server-bbbbbb delivers" in result.reason


def test_verdict_with_a_lapsed_lease_of_another_device_claims_it():
    lease = Lease("server-bbbbbb", T0 + DAY, T0, "e1")
    result = decide(lease, "laptop-aaaaaa", T0 + 2 * DAY)
    assert (result.deliver, result.claim, result.contested) == (False, True, True)


def test_verdict_for_the_holder_delivers_and_renews_only_past_half():
    lease = Lease("laptop-aaaaaa", T0 + DAY, T0, "e1")
    early = decide(lease, "laptop-aaaaaa", T0 + timedelta(hours=1))
    assert (early.deliver, early.claim) == (True, False)
    late = decide(lease, "laptop-aaaaaa", T0 + timedelta(hours=13))
    assert (late.deliver, late.claim) == (True, True)


def test_verdict_for_a_fresh_contested_holder_waits_for_the_takeover():
    lease = Lease("laptop-aaaaaa", T0 + DAY, T0, "e1", [], contested=True)
    waiting = decide(lease, "laptop-aaaaaa", T0 + timedelta(minutes=1))
    assert (waiting.deliver, waiting.wake) == (False, T0 + WAIT)
    settled = decide(lease, "laptop-aaaaaa", T0 + WAIT)
    assert settled.deliver


def test_verdict_for_a_holder_that_claimed_alone_never_waits_when_a_device_appears():
    lease = Lease("laptop-aaaaaa", T0 + DAY, T0, "e1")  # claimed alone
    assert decide(lease, "laptop-aaaaaa", T0 + timedelta(seconds=10)).deliver


def test_lease_fold_keeps_a_claims_contest_through_renewals():
    claim = lease_event("laptop-aaaaaa", T0, T0 + DAY)
    contested = m.DeliveryLease(**{**msgspec.structs.asdict(claim), "contested": True})
    renewal = lease_event("laptop-aaaaaa", T0 + timedelta(hours=13), T0 + timedelta(hours=37))
    lease = holder(contested, renewal)
    assert lease is not None and lease.contested and lease.since == T0


def test_verdict_with_always_or_never_ignores_the_lease():
    lease = Lease("server-bbbbbb", T0 + DAY, T0, "e1")
    assert decide(lease, "laptop-aaaaaa", T0, mode="always").deliver
    never = decide(None, "laptop-aaaaaa", T0, alone=True, mode="never")
    assert (never.deliver, never.claim) == (False, False)
