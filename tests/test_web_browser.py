"""The dashboard in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``).

Each test runs the real ``coffeechat serve`` on a home recorded by the command line, opens
the printed URL in Chromium and acts as a person would: click, type, press keys. Every page
is photographed into ``tests/out/screenshots/`` (the run prints the folder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import (
    SCREENSHOTS,
    chromium,
    sample_home,
    screenshot,
    serving,
    viewport,
    wait_for,
)
from conftest import log_bytes, run_coffeechat
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

THANK_YOU_DONE = '[data-kind="thank-you"] form[action$="/done"] button'


@pytest.fixture(scope="module", autouse=True)
def say_where_the_screenshots_are(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the screenshots' folder at the end of the run."""
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is not None and SCREENSHOTS.exists():
        with capture.global_and_fixture_disabled():
            print(f"\nscreenshots of the dashboard: {SCREENSHOTS}")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium(tmp_path / "chromium-profile")
    try:
        yield driver
    finally:
        driver.quit()


def errors_in_console(driver: Any) -> list[str]:
    """Return what the page logged as errors (a script failing, a policy refusing)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def without_ids(text: str) -> str:
    """Return text with event ids (``[PWV18C5E]``) left out and spaces collapsed."""
    return " ".join(re.sub(r"\[[0-9A-Z]{8}\]", "[id]", text).split())


def events_since(home: Path, before: dict[str, bytes]) -> list[dict[str, Any]]:
    """Return the events appended since ``before``, without what names one home's copy
    (event ids, the device, the batch id)."""
    events = []
    for name, data in log_bytes(home).items():
        for line in data[len(before.get(name, b"")) :].splitlines():
            event = json.loads(line)
            for key in ("id", "device", "batch"):
                event.pop(key, None)
            events.append(event)
    return events


def test_done_on_the_thank_you_leaves_the_page_and_appends_what_coffeechat_done_appends(
    browser: Any, tmp_path: Path
) -> None:
    home = sample_home(tmp_path / "web")
    twin = sample_home(tmp_path / "cli")  # the same journey, for the command line's done
    with serving(home) as served:
        browser.get(served.url)
        browser.find_element(By.CSS_SELECTOR, 'nav a[href="/today"]').click()
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, THANK_YOU_DONE))
        item = browser.find_element(By.CSS_SELECTOR, '[data-kind="thank-you"]')
        reminder = item.get_attribute("data-reminder")
        assert "Send your thank-you to Ada Lovelace" in item.text
        before = log_bytes(home)
        browser.find_element(By.CSS_SELECTOR, THANK_YOU_DONE).click()
        wait_for(
            browser,
            lambda d: not d.find_elements(By.CSS_SELECTOR, f'[data-reminder="{reminder}"]'),
            message="the thank-you did not leave the page",
        )
        flash = wait_for(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#flash .flash"))
        said = flash.text
        assert browser.current_url == f"{served.base}/today"  # no reload, no token, no flash id
        web = events_since(home, before)
        screenshot(browser, "today-after-done")
        assert errors_in_console(browser) == []
    # The twin's reminder has an id of its own (ids derive from event ids): find it as a
    # person would, in the agenda, then run the command line's done on it.
    agenda = run_coffeechat(twin, "agenda", "--json").json()["reminders"]
    (twin_reminder,) = [r["id"] for r in agenda if r["kind"] == "thank-you"]
    cli_before = log_bytes(twin)
    result = run_coffeechat(twin, "done", twin_reminder)
    assert result.status == 0, result.stderr
    cli = events_since(twin, cli_before)
    assert web, "the click appended nothing"
    for events, own in ((web, reminder), (cli, twin_reminder)):
        for event in events:
            if event.get("reminder") == own:
                event["reminder"] = "the thank-you"
    assert web == cli  # the same events, field for field (but ids and the device)
    # and the page says what the command line printed (but the event ids)
    assert without_ids(said) == without_ids(result.stdout) and said.startswith("done: ")


def test_the_board_updates_live_when_the_cli_appends_and_keeps_what_the_reader_set(
    browser: Any, tmp_path: Path
) -> None:
    home = sample_home(tmp_path / "home")
    with serving(home) as served:
        browser.get(served.url)
        wait_for(browser, lambda d: d.find_element(By.ID, "live").is_displayed())
        browser.execute_script("document.body.dataset.marker = 'set before the update'")
        query = browser.find_element(By.ID, "q")
        query.send_keys("hopper")  # the filter, as typed (not submitted)
        wait_for(
            browser,
            lambda d: (
                not d.find_element(By.CSS_SELECTOR, '[data-handle="ada-lovelace"]').is_displayed()
            ),
        )
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-handle="ada-hopper"]')

        result = run_coffeechat(home, "add", "Ada Hopper", "--company", "Navy Labs")
        assert result.status == 0, result.stderr
        card = wait_for(
            browser,
            lambda d: d.find_elements(By.CSS_SELECTOR, '[data-handle="ada-hopper"]'),
            message="the board did not show the contact added from the command line",
        )[0]
        assert card.is_displayed() and "Navy Labs" in card.text
        assert browser.execute_script("return document.body.dataset.marker") == (
            "set before the update"
        )
        assert browser.find_element(By.ID, "q").get_attribute("value") == "hopper"
        hidden = browser.find_elements(By.CSS_SELECTOR, '[data-handle="ada-lovelace"]')
        assert not any(card.is_displayed() for card in hidden)  # still filtered
        # a step recorded elsewhere moves a card to its new column, still without a reload
        assert run_coffeechat(home, "reach", "ada-hopper").status == 0
        wait_for(
            browser,
            lambda d: d.find_elements(By.CSS_SELECTOR, '.stage-reached [data-handle="ada-hopper"]'),
            message="the card did not move to Reached",
        )
        assert browser.execute_script("return document.body.dataset.marker") == (
            "set before the update"
        )
        assert errors_in_console(browser) == []


def test_keyboard_alone_reaches_every_page_and_a_done_button(browser: Any, tmp_path: Path) -> None:
    home = sample_home(tmp_path / "home")
    with serving(home) as served:
        browser.get(served.url)
        keys = ActionChains(browser)
        keys.send_keys(Keys.TAB).perform()
        assert browser.switch_to.active_element.text == "Skip to content"
        reached = []
        for _ in range(4):
            keys.send_keys(Keys.TAB).perform()
            reached.append(browser.switch_to.active_element.get_attribute("pathname"))
        assert reached == ["/", "/", "/today", "/insights"], reached  # brand, then the nav
        browser.get(f"{served.base}/today")
        for _ in range(40):  # tab to the first Done button and press Enter
            keys.send_keys(Keys.TAB).perform()
            active = browser.switch_to.active_element
            if active.tag_name == "button" and active.text == "Done":
                break
        else:
            pytest.fail("no Done button is reachable with the Tab key")
        item = active.find_element(By.XPATH, "ancestor::li[@data-reminder]")
        reminder = item.get_attribute("data-reminder")
        keys.send_keys(Keys.ENTER).perform()
        wait_for(
            browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'[data-reminder="{reminder}"]')
        )
        # the focus goes to the message that says what was recorded
        assert "done:" in browser.switch_to.active_element.text


def test_without_javascript_the_forms_post_and_come_back(tmp_path: Path) -> None:
    home = sample_home(tmp_path / "home")
    driver = chromium(tmp_path / "profile", javascript=False)
    try:
        with serving(home) as served:
            driver.get(served.url)
            assert "Ada Lovelace" in driver.find_element(By.ID, "content").text
            driver.get(f"{served.base}/today")
            reminder = driver.find_element(
                By.CSS_SELECTOR, '[data-kind="thank-you"]'
            ).get_attribute("data-reminder")
            before = log_bytes(home)
            driver.find_element(By.CSS_SELECTOR, THANK_YOU_DONE).click()  # a plain form POST
            wait_for(driver, lambda d: "said=" in d.current_url)
            assert driver.current_url.startswith(f"{served.base}/today?said=")
            said = driver.find_element(By.ID, "flash").text
            assert said.startswith("done: ") and "Ada Lovelace" in said
            assert not driver.find_elements(By.CSS_SELECTOR, f'[data-reminder="{reminder}"]')
            assert log_bytes(home) != before
            # the filter is a GET form
            driver.get(served.base + "/")
            box = driver.find_element(By.ID, "q")
            box.send_keys("nasa")
            box.send_keys(Keys.ENTER)
            wait_for(driver, lambda d: "q=nasa" in d.current_url)
            handles = {
                e.get_attribute("data-handle")
                for e in driver.find_elements(By.CSS_SELECTOR, ".card")
            }
            assert handles == {"katherine-johnson", "margaret-hamilton"}
            screenshot(driver, "board-without-javascript")
    finally:
        driver.quit()


@pytest.mark.parametrize(
    ("width", "height", "mobile", "suffix"),
    [(1280, 900, False, ""), (390, 844, True, "-phone")],
    ids=["desktop", "phone"],
)
def test_every_page_renders_without_errors_and_is_photographed(
    browser: Any, tmp_path: Path, width: int, height: int, mobile: bool, suffix: str
) -> None:
    home = sample_home(tmp_path / "home")
    viewport(browser, width, height, mobile=mobile)
    with serving(home) as served:
        browser.get(served.url)
        pages = {
            "board": "/",
            "today": "/today",
            "contact": "/contacts/ada-lovelace",
            "insights": "/insights",
            "draft": "/contacts/ada-lovelace/draft",
        }
        for name, path in pages.items():
            browser.get(served.base + path)
            wait_for(browser, lambda d: d.find_element(By.ID, "live").is_displayed())
            heading = browser.find_element(By.TAG_NAME, "h1").text
            assert heading, name
            # nothing wider than the screen: no sideways scrolling on a phone
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (name, overflow)
            screenshot(browser, f"{name}{suffix}")
        svgs = browser.execute_script("return document.querySelectorAll('.chart svg').length")
        assert svgs == 0  # the draft page is last: charts were on the insights page only
        assert errors_in_console(browser) == []
    assert all((SCREENSHOTS / f"{name}{suffix}.png").stat().st_size > 5000 for name in pages)
