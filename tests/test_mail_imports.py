"""Mail stays out of the commands that do not send it (refs #12).

Recording commands must start fast: they never load the mailer, ``smtplib`` or the
``email`` package. ``draft`` makes a message but sends nothing (no ``smtplib``); ``send``
only queues (no ``smtplib`` either): the daemon sends.
"""

from __future__ import annotations

from pathlib import Path

from test_startup import modules_loaded_by as loaded_by

MAILING = {"coffeechat.daemon.mailer", "smtplib", "email.message", "email.mime"}


def modules_loaded_by(home: Path, *arguments: str) -> set[str]:
    """Run the command line in a fresh interpreter; return every module it loaded."""
    environment = {"TZ": "Europe/Paris", "COFFEECHAT_NOW": "2026-11-26T14:30:00+01:00"}
    return loaded_by(home, *arguments, every=True, env={**environment, "PATH": "/usr/bin:/bin"})


def test_recording_commands_load_nothing_of_mail(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('[mail]\nfrom = "s@example.org"\nsmtp = "smtp://127.0.0.1"\n')
    for arguments in (
        ("add", "Ada Lovelace", "--email", "ada@example.org", "--learn", "engines"),
        ("note", "ada", "likes tea"),
        ("reach", "ada"),
    ):
        loaded = modules_loaded_by(home, *arguments)
        assert not loaded & MAILING, (arguments, loaded & MAILING)
        assert not any(name.startswith("coffeechat.plugins.mail") for name in loaded)
    # The probe sees them when they are loaded: draft makes a message (email.message).
    drafted = modules_loaded_by(home, "draft", "ada")
    assert "email.message" in drafted
    assert "smtplib" not in drafted and "coffeechat.daemon.mailer" not in drafted
    queued = modules_loaded_by(home, "send", "ada", "--now")
    assert "smtplib" not in queued
