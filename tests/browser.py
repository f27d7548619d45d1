"""The dashboard for tests: a real ``coffeechat serve`` process and a real headless Chromium.

:class:`Served` runs ``coffeechat --home HOME serve --no-open --port 0`` as a subprocess
(the clock fixed through ``COFFEECHAT_NOW``, like every CLI test) and reads the URL it
prints first. :func:`chromium` starts Debian's ``chromium`` through Debian's
``chromium-driver`` (``/usr/bin/chromedriver``, given to selenium as the driver's path, so
that selenium never looks for a driver or a browser online), headless, with a fresh
profile. Without Chromium the browser tests skip, naming the packages, unless ``CI`` is
set: there they fail, since ``.ci/run`` installs them.

Screenshots go to ``tests/out/screenshots/`` (ignored by git); the run prints the folder.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import COMMAND, DEFAULT_NOW, DEFAULT_TZ

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
APT_PACKAGES = "chromium chromium-driver"
SCREENSHOTS = Path(__file__).resolve().parent / "out" / "screenshots"
FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=en-GB",
)
START_TIMEOUT = 20.0


# --- the server --------------------------------------------------------------------------------


@dataclass
class Served:
    """One running ``coffeechat serve``: its process, the URL it printed, its address."""

    process: subprocess.Popen[str]
    url: str
    host: str = field(init=False)
    port: int = field(init=False)
    token: str = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        assert parts.hostname is not None and parts.port is not None, self.url
        self.host, self.port = parts.hostname, parts.port
        self.token = parts.query.removeprefix("token=")

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT`` (no token)."""
        return f"http://{self.host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        """Send one HTTP request over a real socket; return status, headers, body text.

        ``headers`` may replace ``Host`` (to test the check against DNS rebinding).
        """
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            chosen = dict(headers or {})
            skip_host = "Host" in chosen
            connection.putrequest(method, path, skip_host=skip_host)
            if body is not None:
                chosen.setdefault("Content-Type", "application/x-www-form-urlencoded")
                chosen["Content-Length"] = str(len(body.encode()))
            for name, value in chosen.items():
                connection.putheader(name, value)
            connection.endheaders(body.encode() if body is not None else None)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            connection.close()


def start_serve(home: Path, *arguments: str, now: str | None = DEFAULT_NOW) -> Served:
    """Start ``coffeechat serve`` on ``home`` and return it once it has printed its URL."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COFFEECHAT_")
    }
    environment["TZ"] = DEFAULT_TZ
    if now is not None:
        environment["COFFEECHAT_NOW"] = now
    process = subprocess.Popen(
        [COMMAND, "--home", str(home), "serve", "--no-open", "--port", "0", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the first line is the URL (blocks until printed)
    if not line.startswith("http://"):
        process.kill()
        _, errors = process.communicate(timeout=10)
        raise AssertionError(f"serve did not print its URL first: {line!r} {errors}")
    return Served(process, line.strip())


def stop_serve(served: Served) -> str:
    """Stop the server (SIGTERM, as systemd or Ctrl-C would) and return its stderr."""
    served.process.terminate()
    try:
        _, errors = served.process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        _, errors = served.process.communicate()
        raise AssertionError(f"serve did not stop on SIGTERM: {errors}") from None
    return errors


@contextmanager
def serving(home: Path, *arguments: str, now: str | None = DEFAULT_NOW) -> Iterator[Served]:
    """Run ``coffeechat serve`` on ``home`` for the block; fail if it wrote a traceback."""
    served = start_serve(home, *arguments, now=now)
    try:
        yield served
    finally:
        errors = stop_serve(served)
        assert "Traceback" not in errors, errors


# --- the browser ---------------------------------------------------------------------------------


def require_chromium() -> None:
    """Skip (or, in CI, fail) when Debian's Chromium or its driver is missing."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: apt-get install {APT_PACKAGES}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run installs them)")
        pytest.skip(message)


def chromium(
    profile: Path, width: int = 1280, height: int = 900, *, javascript: bool = True
) -> Any:
    """Start headless Chromium through chromedriver with a fresh profile in ``profile``
    (``javascript=False``: as a reader who turned scripts off)."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    service = Service(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(service=service, options=options)
    viewport(driver, width, height)
    return driver


def wait_for(driver: Any, condition: Any, timeout: float = 15.0, message: str = "") -> Any:
    """Wait until ``condition(driver)`` is truthy and return it (selenium's wait)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition, message)


def viewport(driver: Any, width: int, height: int, *, mobile: bool = False) -> None:
    """Set the page's viewport to exactly ``width`` x ``height`` CSS pixels (``mobile``: as
    a phone does, which also honours the page's viewport meta tag)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    driver.viewport = (width, height, mobile)


def screenshot(driver: Any, name: str, *, full: bool = True) -> Path:
    """Save a PNG of the page as ``tests/out/screenshots/NAME.png`` (the whole page when
    ``full``) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width, height, mobile = getattr(driver, "viewport", (1280, 900, False))
    if full:
        whole = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        viewport(driver, width, min(max(int(whole), height), 6000), mobile=mobile)
    try:
        driver.save_screenshot(str(path))
    finally:
        if full:
            viewport(driver, width, height, mobile=mobile)
    return path


# --- a home worth looking at ----------------------------------------------------------------

# A network at every stage, recorded with the real command line at the tests' fixed clock
# (Thursday 26 November 2026, 14:30 in Paris): Ada is met and owes her thank-you.
SAMPLE_JOURNEY: tuple[tuple[str, ...], ...] = (
    (
        "add",
        "Ada Lovelace",
        "--company",
        "Analytical Engines",
        "--role",
        "Research engineer",
        "--industry",
        "Computing",
        "--tz",
        "Europe/London",
        "--email",
        "ada@example.org",
        "--learn",
        "how she moved from mathematics into engineering",
    ),
    ("reach", "ada", "--at", "2026-11-10T10:00"),
    ("reply", "ada", "--at", "2026-11-11T09:00"),
    (
        "met",
        "ada",
        "--at",
        "2026-11-24T15:30",
        "--learned",
        "research engineering is half writing",
        "--fit",
        "4",
        "--asked",
        "an introduction to someone in policy",
    ),
    (
        "add",
        "Grace Hopper",
        "--company",
        "US Navy",
        "--role",
        "Rear admiral",
        "--industry",
        "Public sector",
        "--learn",
        "how to get a new idea adopted",
    ),
    ("reach", "grace", "--at", "2026-11-17T09:30"),
    ("reply", "grace", "--at", "2026-11-18T11:00"),
    ("schedule", "grace", "2026-12-01T15:00", "--mode", "video"),
    (
        "add",
        "Alan Turing",
        "--company",
        "Bletchley Park",
        "--role",
        "Cryptanalyst",
        "--industry",
        "Public sector",
        "--learn",
        "what a week of codebreaking looks like",
    ),
    ("plan", "alan"),
    (
        "add",
        "Katherine Johnson",
        "--company",
        "NASA",
        "--role",
        "Mathematician",
        "--industry",
        "Space",
    ),
    ("reach", "katherine", "--at", "2026-11-18T10:00"),
    ("reply", "katherine", "--at", "2026-11-24T09:00"),
    (
        "add",
        "Tim Berners-Lee",
        "--company",
        "CERN",
        "--role",
        "Software engineer",
        "--industry",
        "Research",
    ),
    ("reach", "tim", "--at", "2026-11-23T09:00"),
    ("add", "Barbara Liskov", "--company", "MIT", "--role", "Professor", "--industry", "Research"),
    ("reach", "barbara", "--at", "2026-10-20T09:00"),
    (
        "add",
        "Margaret Hamilton",
        "--company",
        "NASA",
        "--role",
        "Software engineer",
        "--industry",
        "Space",
    ),
    ("reach", "margaret", "--at", "2026-10-06T09:00"),
    ("reply", "margaret", "--at", "2026-10-07T09:00"),
    (
        "met",
        "margaret",
        "--at",
        "2026-10-14T10:00",
        "--learned",
        "test the abort paths first",
        "--fit",
        "5",
        "--asked",
        "an introduction to the flight software team",
    ),
    ("thank", "margaret", "--at", "2026-10-14T18:00"),
    ("add", "Hedy Lamarr", "--company", "MGM", "--role", "Inventor", "--industry", "Film"),
    ("reach", "hedy", "--at", "2026-09-01T09:00"),
    ("reply", "hedy", "--at", "2026-09-02T09:00"),
    ("met", "hedy", "--at", "2026-09-10T10:00", "--learned", "patents take years", "--fit", "2"),
    ("thank", "hedy", "--at", "2026-09-10T18:00"),
    ("touch", "hedy", "--at", "2026-11-02T10:00", "--note", "sent her the article"),
    (
        "add",
        "Claude Shannon",
        "--company",
        "Bell Labs",
        "--role",
        "Researcher",
        "--industry",
        "Research",
    ),
    ("reach", "claude", "--at", "2026-11-05T09:00"),
    ("reply", "claude", "--at", "2026-11-06T09:00", "--declined"),
    (
        "add",
        "Frances Allen",
        "--company",
        "IBM",
        "--role",
        "Compiler researcher",
        "--industry",
        "Computing",
    ),
    ("add", "Charles Babbage", "--company", "Difference Engines"),
    ("archive", "charles"),
)


def sample_home(home: Path, now: str = DEFAULT_NOW) -> Path:
    """Record :data:`SAMPLE_JOURNEY` into ``home`` with the command line's ``main`` (one
    interpreter for every command, so that it takes a second, not ten); return ``home``."""
    script = (
        "import json, sys\n"
        "from coffeechat.daemon.cli import main\n"
        "for arguments in json.loads(sys.argv[2]):\n"
        "    status = main(['--home', sys.argv[1], *arguments])\n"
        "    if status:\n"
        "        sys.exit(f'{arguments}: exit {status}')\n"
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("COFFEECHAT_")
    }
    environment.update(TZ=DEFAULT_TZ, COFFEECHAT_NOW=now)
    completed = subprocess.run(
        [sys.executable, "-c", script, str(home), json.dumps(SAMPLE_JOURNEY)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return home
