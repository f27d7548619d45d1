"""The sd_notify client against real ``AF_UNIX`` datagram sockets, as systemd listens.

Each test binds a socket (a filesystem one and an abstract one), points ``NOTIFY_SOCKET`` at
it through the ``environ`` argument and reads back the exact datagrams.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coffeechat.daemon.notify import Notifier

RECEIVE_TIMEOUT = 5.0


@dataclass
class Listener:
    """A bound datagram socket standing in for systemd, and the NOTIFY_SOCKET that names it."""

    sock: socket.socket
    notify_socket: str

    def receive(self) -> bytes:
        """Return the next datagram, failing the test if none arrives in time."""
        return self.sock.recv(65536)

    def assert_nothing_more(self) -> None:
        """Fail if another datagram is waiting."""
        self.sock.setblocking(False)
        try:
            extra = self.sock.recv(65536)
        except BlockingIOError:
            return
        finally:
            self.sock.settimeout(RECEIVE_TIMEOUT)
        pytest.fail(f"unexpected datagram {extra!r}")

    def notifier(self, **environment: str) -> Notifier:
        """Return a notifier built from an environment naming this socket."""
        return Notifier.from_environment({"NOTIFY_SOCKET": self.notify_socket, **environment})


def bind_listener(address: str | bytes, notify_socket: str) -> Iterator[Listener]:
    """Bind a datagram socket at *address* and yield it as a listener, closing it afterwards."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(RECEIVE_TIMEOUT)
        yield Listener(sock, notify_socket)


@pytest.fixture
def short_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder with a short path: ``sun_path`` holds at most 107 bytes."""
    return tmp_path_factory.mktemp("sd")


@pytest.fixture
def path_listener(short_dir: Path) -> Iterator[Listener]:
    """A listener on a socket file, named by its absolute path."""
    path = str(short_dir / "notify.sock")
    yield from bind_listener(path, path)


@pytest.fixture
def abstract_listener() -> Iterator[Listener]:
    """A listener on an abstract socket, named ``@coffeechat-test-<uuid>``."""
    name = f"coffeechat-test-{uuid.uuid4()}"
    yield from bind_listener("\0" + name, "@" + name)


@pytest.fixture(params=["path", "abstract"])
def listener(request: pytest.FixtureRequest) -> Listener:
    """Each kind of listener in turn."""
    fixture: Listener = request.getfixturevalue(f"{request.param}_listener")
    return fixture


def test_ready_with_socket_sends_ready_datagram(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.enabled
    assert notifier.ready() is True
    assert listener.receive() == b"READY=1"
    listener.assert_nothing_more()
    assert notifier.failures == 0


def test_ready_with_status_sends_both_fields_in_one_datagram(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.ready("Replayed 42 events") is True
    assert listener.receive() == b"READY=1\nSTATUS=Replayed 42 events"
    listener.assert_nothing_more()


def test_status_with_newline_sends_one_status_line(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.status("3 reminders due\nnext at 14:30\r\nmail down") is True
    assert listener.receive() == b"STATUS=3 reminders due next at 14:30 mail down"
    listener.assert_nothing_more()


def test_reloading_with_socket_sends_monotonic_usec(listener: Listener) -> None:
    notifier = listener.notifier()

    before = time.monotonic_ns() // 1000
    assert notifier.reloading() is True
    after = time.monotonic_ns() // 1000

    lines = listener.receive().decode().split("\n")
    assert lines[0] == "RELOADING=1"
    assert len(lines) == 2
    name, _, value = lines[1].partition("=")
    assert name == "MONOTONIC_USEC"
    assert value.isdigit()
    assert before <= int(value) <= after


def test_stopping_with_socket_sends_stopping_datagram(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.stopping() is True
    assert listener.receive() == b"STOPPING=1"


def test_watchdog_with_socket_sends_watchdog_ping(listener: Listener) -> None:
    notifier = listener.notifier(WATCHDOG_USEC="2000000")

    assert notifier.watchdog() is True
    assert notifier.watchdog() is True
    assert listener.receive() == b"WATCHDOG=1"
    assert listener.receive() == b"WATCHDOG=1"
    listener.assert_nothing_more()


def test_send_with_fields_sends_one_line_per_field_in_order(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.send(EXTEND_TIMEOUT_USEC=30_000_000, STATUS="replaying\nlog", ERRNO=0) is True
    assert listener.receive() == b"EXTEND_TIMEOUT_USEC=30000000\nSTATUS=replaying log\nERRNO=0"


def test_send_raw_with_text_sends_it_unchanged(listener: Listener) -> None:
    notifier = listener.notifier()

    assert notifier.send_raw("STATUS=café\nMAINPID=4242") is True
    assert listener.receive() == "STATUS=café\nMAINPID=4242".encode()


def test_send_with_bad_field_name_raises_value_error(listener: Listener) -> None:
    notifier = listener.notifier()

    with pytest.raises(ValueError, match="field name"):
        notifier.send(**{"STATUS=x\nREADY": "1"})
    listener.assert_nothing_more()


def test_from_environment_with_process_environment_uses_os_environ(
    path_listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", path_listener.notify_socket)
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)

    notifier = Notifier.from_environment()

    assert notifier.watchdog_interval == 1.5
    assert notifier.ready() is True
    assert path_listener.receive() == b"READY=1"


def test_watchdog_interval_with_watchdog_usec_is_half_in_seconds(listener: Listener) -> None:
    notifier = listener.notifier(WATCHDOG_USEC="2000000")

    assert notifier.watchdog_usec == 2_000_000
    assert notifier.watchdog_interval == 1.0


def test_watchdog_interval_with_own_watchdog_pid_is_half_in_seconds(listener: Listener) -> None:
    notifier = listener.notifier(WATCHDOG_USEC="2000000", WATCHDOG_PID=str(os.getpid()))

    assert notifier.watchdog_interval == 1.0


def test_watchdog_interval_with_other_watchdog_pid_is_none(listener: Listener) -> None:
    notifier = listener.notifier(WATCHDOG_USEC="2000000", WATCHDOG_PID=str(os.getpid() + 1))

    assert notifier.watchdog_interval is None
    assert notifier.watchdog_usec is None


@pytest.mark.parametrize("watchdog_usec", [None, "", "0", "-5", "soon"])
def test_watchdog_interval_with_missing_or_bad_watchdog_usec_is_none(
    listener: Listener, watchdog_usec: str | None
) -> None:
    environment = {} if watchdog_usec is None else {"WATCHDOG_USEC": watchdog_usec}
    notifier = listener.notifier(**environment)

    assert notifier.enabled
    assert notifier.watchdog_interval is None


@pytest.mark.parametrize("environ", [{}, {"NOTIFY_SOCKET": ""}], ids=["unset", "empty"])
def test_notifier_with_no_notify_socket_is_a_disabled_no_op(environ: dict[str, str]) -> None:
    notifier = Notifier.from_environment({**environ, "WATCHDOG_USEC": "2000000"})

    assert notifier.enabled is False
    assert notifier.watchdog_interval is None
    assert notifier.ready() is False
    assert notifier.ready("ready") is False
    assert notifier.status("busy") is False
    assert notifier.reloading() is False
    assert notifier.stopping() is False
    assert notifier.watchdog() is False
    assert notifier.send(STATUS="x") is False
    assert notifier.send_raw("READY=1") is False
    assert notifier.failures == 0
    assert notifier.last_error is None


def test_notifier_with_missing_socket_file_counts_failures(short_dir: Path) -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(short_dir / "gone.sock")})

    assert notifier.enabled
    assert notifier.ready() is False
    assert notifier.status("still here") is False
    assert notifier.watchdog() is False
    assert notifier.failures == 3
    assert isinstance(notifier.last_error, FileNotFoundError)


def test_notifier_with_closed_listener_counts_connection_refused(short_dir: Path) -> None:
    path = short_dir / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    assert path.exists()  # the file stays, nobody reads it any more
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": str(path)})

    assert notifier.stopping() is False
    assert notifier.reloading() is False
    assert notifier.failures == 2
    assert isinstance(notifier.last_error, ConnectionRefusedError)


def test_notifier_with_unbound_abstract_socket_counts_failures() -> None:
    notifier = Notifier.from_environment({"NOTIFY_SOCKET": f"@coffeechat-test-{uuid.uuid4()}"})

    assert notifier.ready() is False
    assert notifier.failures == 1
    assert notifier.last_error is not None


def test_ready_with_notify_socket_in_subprocess_environment_reaches_socket(
    path_listener: Listener,
) -> None:
    # Ask for the sender's credentials, as systemd does to check NotifyAccess=.
    path_listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    program = textwrap.dedent(
        """
        import sys
        from coffeechat.daemon.notify import Notifier
        sys.exit(0 if Notifier.from_environment().ready() else 1)
        """
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}
    }
    environment["NOTIFY_SOCKET"] = path_listener.notify_socket

    child = subprocess.Popen([sys.executable, "-c", program], env=environment)
    try:
        returncode = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert returncode == 0

    credentials = struct.Struct("=iII")  # struct ucred: pid, uid, gid
    data, ancillary, _, _ = path_listener.sock.recvmsg(65536, socket.CMSG_SPACE(credentials.size))
    assert data == b"READY=1"
    [(level, kind, payload)] = ancillary
    assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)
    pid, _, _ = credentials.unpack(payload[: credentials.size])
    assert pid == child.pid
    path_listener.assert_nothing_more()
