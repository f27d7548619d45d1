"""A real SMTP server on 127.0.0.1 for the mail tests: aiosmtpd in a thread.

It can speak STARTTLS or implicit TLS with a self-signed certificate made by ``openssl``
for the test, ask for AUTH (and refuse a wrong password), refuse a recipient or the
message with the answer given, hold a message at the end of DATA until told to answer
(what a crash test needs; the message is then lost with a client that dies, unless
``keep_on_arrival``), or hang up instead of answering.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """Make a self-signed certificate for 127.0.0.1 with ``openssl``; return (cert, key)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the STARTTLS tests need the openssl command (Debian: openssl)"
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Handler:
    """What the server does with each session (changeable while it runs)."""

    rcpt_answer: str | None = None  # e.g. "550 5.1.1 no such user"
    data_answer: str = "250 2.0.0 OK"
    hang_up: bool = False  # close the connection instead of answering DATA
    # Keep the message as soon as its DATA is in, before answering (a server that queues
    # on receipt): what a client that dies before the answer cannot know about.
    keep_on_arrival: bool = False
    hold: threading.Event = field(default_factory=threading.Event)  # set: hold DATA
    arrived: threading.Event = field(default_factory=threading.Event)  # DATA reached us
    messages: list[bytes] = field(default_factory=list)  # what was accepted (250)
    offered: list[bytes] = field(default_factory=list)  # every DATA, accepted or not
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_answer is not None:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = bytes(envelope.original_content or envelope.content)
        self.offered.append(content)
        kept = self.keep_on_arrival and self.data_answer.startswith("250")
        if kept:
            self.messages.append(content)
        self.arrived.set()
        while self.hold.is_set():  # a client that hangs up meanwhile cancels this
            await asyncio.sleep(0.02)
        if self.hang_up:
            server.transport.close()
            return "250 2.0.0 OK (never heard)"
        if self.data_answer.startswith("250") and not kept:
            self.messages.append(content)
        return self.data_answer


class SmtpServer:
    """aiosmtpd on 127.0.0.1: ``tls`` None, ``"starttls"`` or ``"implicit"``;
    ``password`` set: AUTH is required and only ``user``/``password`` pass."""

    def __init__(
        self,
        folder: Path,
        *,
        tls: str | None = None,
        user: str = "sam",
        password: str | None = None,
    ) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.user, self.password = user, password
        self.cert: Path | None = None
        options: dict[str, Any] = {}
        if tls is not None:
            self.cert, key = make_certificate(folder)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            options["ssl_context" if tls == "implicit" else "tls_context"] = context
            if tls == "starttls":
                options["require_starttls"] = True
        if password is not None:
            options["authenticator"] = self._authenticate
            options["auth_required"] = True
            # aiosmtpd sees only STARTTLS as TLS: over SMTPS (and on a plain relay on this
            # machine) AUTH must be allowed without it, which it warns about.
            options["auth_require_tls"] = tls == "starttls"
            if tls != "starttls":
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.handler.logins.append((login, password))
        if (login, password) == (self.user, self.password):
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)  # not handled: aiosmtpd answers 535

    def url(self, scheme: str = "smtp") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def received(self) -> list[EmailMessage]:
        """The messages the server accepted, parsed."""
        return [
            message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
            for raw in self.handler.messages
        ]

    def stop(self) -> None:
        self.handler.hold.clear()
        self.controller.stop()
