"""What the command line says about itself: what each built-in command does, in one
sentence, with an example (its ``--help``), and its version.

One table for every command, so that a command's help reads like the others'; a new
command adds its line here, and ``tests/test_cli_help.py`` checks that each has one and
that its example parses. Imported only on those paths, so a recording command never
loads (nor unmarshals) any of it.
"""

from __future__ import annotations

# command: (what it does, one sentence; an example, as typed)
ABOUT: dict[str, tuple[str, str]] = {
    # --- recording ---
    "add": (
        "Record a person you find interesting, and what you want to learn from them.",
        'coffeechat add "Ada Lovelace" --company "Analytical Engines" --tz Europe/London '
        '--learn "how she moved into engineering"',
    ),
    "edit": (
        "Correct or complete a contact's profile (the handle never changes).",
        'coffeechat edit ada --email ada@example.org --role "Research engineer"',
    ),
    "plan": (
        "Record that you mean to reach out: the agenda reminds you at the next send window.",
        'coffeechat plan ada --learn "what a research engineer does all day"',
    ),
    "reach": (
        "Record the outreach you sent (a tip says when the moment was a poor one).",
        "coffeechat reach ada --channel linkedin",
    ),
    "reply": (
        "Record their answer: the nudges stop; --declined when they said no.",
        'coffeechat reply ada --at "yesterday 16:00"',
    ),
    "schedule": (
        "Record a meeting booked with a contact, at WHEN in your time.",
        'coffeechat schedule ada "tue 15:00" --mode video --minutes 30',
    ),
    "reschedule": (
        "Move the booked meeting to another time.",
        'coffeechat reschedule ada "wed 10:00"',
    ),
    "cancel": ("Record that the booked meeting is off.", "coffeechat cancel ada"),
    "met": (
        "Record the meeting you had: what you learned, how well it fits, what you asked.",
        'coffeechat met ada --learned "research engineering is half writing" --fit 4 '
        '--asked "an introduction to someone in policy"',
    ),
    "thank": ("Record the thank-you you sent after meeting them.", "coffeechat thank ada"),
    "intro": (
        "Record that CONTACT introduced you to NAME, who is added as a contact.",
        'coffeechat intro ada "Grace Hopper" --role "Rear admiral"',
    ),
    "touch": (
        "Record that you stayed in touch: the keep-in-touch clock starts again.",
        'coffeechat touch ada --note "sent her the article on Babbage"',
    ),
    "note": ("Add a note to a contact's history.", 'coffeechat note ada "prefers mornings"'),
    "every": (
        "Add a recurring reminder of your own, on a five-field cron schedule.",
        'coffeechat every "0 9 * * MON" "plan the week\'s outreach"',
    ),
    "archive": (
        "Stop tracking a contact (ls --all still lists them; reaching them brings them back).",
        "coffeechat archive grace",
    ),
    "undo": (
        "Take back this device's last command, or one event of any device by its id.",
        "coffeechat undo",
    ),
    # --- reading ---
    "ls": (
        "List your contacts with their stage and what comes next.",
        "coffeechat ls --stage replied",
    ),
    "show": (
        "Show one contact: profile, stage, next reminder and the whole history.",
        "coffeechat show ada --at 2026-11-01",
    ),
    "log": ("List the events recorded, oldest first.", "coffeechat log ada --limit 20"),
    "agenda": (
        "Show what is due now, then what is coming in the next days.",
        "coffeechat agenda --days 14",
    ),
    "done": (
        "Mark a reminder as taken care of (its id is in the agenda).",
        "coffeechat done x17bhgs",
    ),
    "snooze": (
        "Put a reminder off for a while, or until a given time.",
        'coffeechat snooze x17bhgs "tomorrow 9:00"',
    ),
    "why": (
        "Show the rule and the events behind a reminder.",
        "coffeechat why x17bhgs",
    ),
    "insights": (
        "Show the funnel, the reply rate by weekday and what you learned.",
        "coffeechat insights --json",
    ),
    "plugins": (
        "List the plugins loaded, where each came from and its hooks.",
        "coffeechat plugins",
    ),
    # --- operating ---
    "daemon": (
        "Run the service that delivers each reminder at its moment (--once: what is due).",
        "coffeechat daemon --once",
    ),
    "channels": (
        "Manage the channels reminders reach you through (docs/daemon.md).",
        "coffeechat channels add ntfy://my-secret-topic --tag phone",
    ),
    "doctor": (
        "Check the home, config, plugins, channels, log and service, and say what to fix.",
        "coffeechat doctor",
    ),
    "service": (
        "Install, remove or inspect the systemd user service that runs the daemon.",
        "coffeechat service install --now",
    ),
    "fsck": (
        "Check the log for damage; --repair moves damaged lines to a quarantine file.",
        "coffeechat fsck --repair",
    ),
    "demo": (
        "Record a sample journey in a temporary home, show it, then live its next week.",
        "coffeechat demo --seconds 20",
    ),
    "export": (
        "Write your data out: your meetings as a calendar, or the whole log as a backup.",
        "coffeechat export ics meetings.ics --todos",
    ),
    "import": (
        "Read data in: a backup made by 'export json', into an empty home.",
        "coffeechat import json backup.json",
    ),
    # --- mail ---
    "draft": (
        "Write the e-mail the contact's stage calls for, as RFC 5322 text.",
        "coffeechat draft ada --kind thank-you --eml thanks.eml",
    ),
    "send": (
        "Queue the e-mail for the daemon to send through your SMTP server, at most once.",
        'coffeechat send ada --when "tue 9:00"',
    ),
    # --- look ---
    "serve": (
        "Open the local web dashboard: the board, today's reminders, each contact, insights.",
        "coffeechat serve --port 8765 --no-open",
    ),
    # --- help ---
    "help": ("Show the help of coffeechat, or of one command.", "coffeechat help schedule"),
    "completion": (
        "Print the shell code that completes commands, options, handles and reminder ids "
        """(bash: eval "$(coffeechat completion bash)" in ~/.bashrc).""",
        "coffeechat completion bash",
    ),
}


def epilog(name: str) -> str | None:
    """Return the example section of a built-in command's help (None when it has none)."""
    about = ABOUT.get(name)
    return None if about is None else f"example:\n  {about[1]}"


def sentence(name: str) -> str | None:
    """Return what a built-in command does, in one sentence (None when unknown)."""
    about = ABOUT.get(name)
    return None if about is None else about[0]


def description(name: str, own: str | None) -> str | None:
    """Return a command's description: the sentence saying what it does, then the
    details its module gives (either may be missing: a plugin's command has no sentence)."""
    return "\n\n".join(part for part in (sentence(name), own) if part) or None


def coffeechat_version() -> str:
    """Return the installed distribution's version (from pyproject.toml, the one place
    it is kept)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("coffeechat")
    except PackageNotFoundError:  # pragma: no cover - run from a tree never installed
        return "unknown (not installed)"


def print_version() -> int:
    """Print ``coffeechat VERSION``."""
    print(f"coffeechat {coffeechat_version()}")
    return 0
