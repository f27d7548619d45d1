"""Insights that add up (issue #10, section 1), through the real command line."""

from __future__ import annotations

from conftest import Result, Runner


def ok(result: Result) -> Result:
    """Assert a run succeeded without a traceback and return it."""
    assert result.status == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_the_funnel_counts_who_got_at_least_that_far(cli: Runner) -> None:
    # Nobody planned; three met without a recorded outreach; one of them thanked.
    for name in ("Ada Lovelace", "Grace Hopper", "Alan Turing"):
        ok(cli("add", name, "--role", "CTO"))
        ok(cli("met", name, "--at", "-3h", "--learned", "a lot", "--fit", "4"))
    ok(cli("thank", "ada"))
    ok(cli("add", "Max Weber"))
    ok(cli("reach", "max"))
    funnel = ok(cli("insights", "--json")).json()["funnel"]
    counts = [funnel[k] for k in ("planned", "reached", "replied", "met", "thanked")]
    assert counts == [4, 4, 3, 3, 1]
    assert counts == sorted(counts, reverse=True)  # never grows downwards
    lines = ok(cli("insights")).stdout.splitlines()
    bars = {line.split()[0]: line.count("#") for line in lines if "#" in line}
    assert bars["planned"] == 40 and bars["met"] == 30 and bars["thanked"] == 10
    assert "  CTO (industry not recorded): fit 4.0/5" in lines
    assert not any("(industry?)" in line for line in lines)


def test_the_digest_has_no_doubled_punctuation(cli: Runner) -> None:
    ok(cli("add", "Ada Lovelace"))
    ok(cli("reach", "ada"))
    ok(cli("reply", "ada", "--declined"))
    digests = [r for r in ok(cli("agenda", "--json")).json()["reminders"] if r["kind"] == "digest"]
    assert digests
    assert digests[0]["message"] == "Nothing waiting: who else do you find interesting?"
