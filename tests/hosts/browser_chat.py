"""A person's chat turn in Open WebUI, in a real browser: Debian's headless Chromium driven with Selenium over
Debian's chromedriver (Selenium never downloads a driver itself). Used by the browser tests in front of the
stand-ins, the real vLLM and the real MLX-LM.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("REASONING_STACK_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def open_browser():
    """Headless Chromium; fails under CI (skips elsewhere) when it is not installed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are not installed; scripts/setup installs them")
        pytest.skip("chromium and chromium-driver are not installed; scripts/setup installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})  # console errors, for a failure's message
    return webdriver.Chrome(service=Service(driver), options=options)


def waiter(browser, seconds: float = 90):
    """A wait that retries while the page re-renders (an element found a moment ago may be gone)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=[StaleElementReferenceException])


# Seconds for the sign-in page's form to show, then again after a reload: the page loads Open WebUI's whole bundle,
# which on the 2-core CI machine, beside three real vLLM servers and the other lanes, once took over 90 s.
SIGN_IN_PAGE_WAITS = (120, 240)
# Seconds for the chat page after "Sign in", then again after a reload (and a second "Sign in" where the form shows
# again): the CI run on the 2-core machine once waited out 90 s here (the chat page loads the models and the user's
# chats), and once 300 s without a reload, the page's state not on record (the failure now says it in one line).
SIGNED_IN_WAITS = (120, 180)


def sign_in(browser, url: str, email: str, password: str) -> None:
    """Sign in on Open WebUI's page and dismiss "What's New" (shown once after the first sign-in). A chat page that
    has not come 120 s after "Sign in" is reloaded, as a person would, and the form filled again if it shows."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    wait = waiter(browser)
    for attempt, seconds in enumerate(SIGN_IN_PAGE_WAITS):
        browser.get(f"{url}/auth")
        try:
            waiter(browser, seconds).until(lambda b: b.find_elements(By.ID, "email"))
            break
        except TimeoutException:  # the page stayed blank: a person reloads it
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(ARTIFACTS / f"sign-in-page-not-shown-{attempt + 1}.png"))
            if attempt + 1 == len(SIGN_IN_PAGE_WAITS):
                raise
    seen = []
    for attempt, seconds in enumerate(SIGNED_IN_WAITS):
        if attempt:  # the page came to nothing (once: 300 s on a loaded CI machine): a person reloads it
            browser.get(f"{url}/")
            with contextlib.suppress(TimeoutException):
                waiter(browser, seconds).until(
                    lambda b: b.find_elements(By.ID, "chat-input") or b.find_elements(By.ID, "email"))
        if not browser.find_elements(By.ID, "chat-input") and browser.find_elements(By.ID, "email"):
            _fill_in_and_sign_in(browser, email, password)
        try:
            waiter(browser, seconds).until(lambda b: b.find_elements(By.ID, "chat-input"))
            break
        except TimeoutException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(ARTIFACTS / f"sign-in-not-done-{attempt + 1}.png"))
            seen.append(page_state(browser))
            if attempt + 1 == len(SIGNED_IN_WAITS):
                raise AssertionError(
                    f"no chat page {sum(SIGNED_IN_WAITS)} s after signing in, reloaded once; "
                    + "; then ".join(seen) + f"; {api_answers(url, email, password)}; the page shows:\n"
                    f"{body_text(browser)}") from None

    with contextlib.suppress(TimeoutException):  # when it is not shown at all, there is nothing to dismiss
        waiter(browser, 10).until(_release_notes)
    wait.until(_no_release_notes)


def _fill_in_and_sign_in(browser, email: str, password: str) -> None:
    """Type the email and password into the form (emptied first) and click "Sign in" when it shows."""
    from selenium.webdriver.common.by import By

    for field, value in (("email", email), ("password", password)):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    button = next((b for b in browser.find_elements(By.TAG_NAME, "button") if b.text == "Sign in"), None)
    if button is not None:
        button.click()


def page_state(browser) -> str:
    """One line on what a page shows: its address, the start of its text and the browser's console errors."""
    text = " ".join(body_text(browser).split())[:160]
    errors = [entry.get("message", "")[:160] for entry in console_log(browser) if entry.get("level") == "SEVERE"]
    return f"{browser.current_url} showed {text!r} with console errors {errors[:3]}"


def console_log(browser) -> list[dict]:
    """The browser's console entries since last asked (empty where the driver keeps none)."""
    try:
        return browser.get_log("browser")
    except Exception:  # noqa: BLE001 - a diagnostic: a driver without the log must not hide the failure itself
        return []


def api_answers(url: str, email: str, password: str) -> str:
    """How long Open WebUI's own API takes to sign in and list the models the chat page loads: tells a slow or
    stuck server from a page that came to nothing."""
    import json
    import time

    from real_engines import http

    def call(method: str, path: str, body: dict | None = None, token: str = "") -> tuple[float, dict]:
        started = time.monotonic()
        status, _headers, raw = http(method, f"{url}{path}", body, key=token)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {raw[:160]!r}")
        return time.monotonic() - started, json.loads(raw)

    try:
        signin_s, session = call("POST", "/api/v1/auths/signin", {"email": email, "password": password})
        models_s, models = call("GET", "/api/models", token=session["token"])
    except Exception as failure:  # noqa: BLE001 - a diagnostic: says what the API did instead
        return f"Open WebUI's API then: {type(failure).__name__}: {failure}"
    return (f"Open WebUI's API then: sign-in {signin_s:.1f} s, /api/models {models_s:.1f} s "
            f"({len(models.get('data', []))} models)")


def _release_notes(browser):
    """The "What's New" dialog's button, when the dialog shows."""
    from selenium.webdriver.common.by import By

    return next((x for x in browser.find_elements(By.TAG_NAME, "button") if "Let's Go" in x.text), None)


def _no_release_notes(browser) -> bool:
    """True when "What's New" is not showing; when it is, it is dismissed and False returned (a wait retries)."""
    button = _release_notes(browser)
    if button is not None:
        button.click()  # a re-render in between raises a stale element, which the wait retries
    return button is None


def ask(browser, question: str) -> None:
    """Type the question into the chat box and send it. On a loaded machine "What's New" may show only after
    sign_in stopped looking for it, covering the box: it is dismissed, and the typing waits until the box takes it;
    a page that never takes it (once: no stylesheet) is reloaded once."""
    from selenium.common.exceptions import ElementNotInteractableException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def typed(b) -> bool:
        if not _no_release_notes(b):
            return False
        try:
            b.find_element(By.ID, "chat-input").send_keys(question)
        except ElementNotInteractableException:
            return False
        return True

    for attempt in range(2):
        try:
            waiter(browser).until(typed)
            break
        except TimeoutException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(ARTIFACTS / f"ask-failed-{attempt + 1}.png"))
            if attempt == 1:
                raise AssertionError(f"the chat box took no typing for 90 s, nor after a reload; the page shows:\n"
                                     f"{body_text(browser)}") from None
            # On a loaded machine the page once came without its stylesheet (unstyled, the box out of reach, a
            # new CI machine): a person reloads it.
            browser.refresh()
            with contextlib.suppress(TimeoutException):
                waiter(browser, 120).until(lambda b: b.find_elements(By.ID, "chat-input"))
    browser.find_element(By.ID, "chat-input").send_keys(Keys.ENTER)


def thought_toggle(browser):
    """The "Thought for…" toggle of the answer, found afresh (the page re-renders while the answer streams)."""
    from selenium.webdriver.common.by import By

    found = [x for x in browser.find_elements(By.CSS_SELECTOR, "#response-content-container button[aria-expanded]")
             if x.text.startswith("Thought for")]
    return found[0] if found else None


def body_text(browser) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.TAG_NAME, "body").text


def see_reasoning_collapsed(browser, answer: str, reasoning: str, screenshot: str) -> None:
    """After a question: the answer shows with its reasoning collapsed under "Thought for…", and a click
    expands it (screenshots ``<screenshot>-collapsed.png`` and ``-expanded.png`` in test-artifacts/)."""
    from selenium.common.exceptions import TimeoutException

    wait = waiter(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        wait.until(lambda b: thought_toggle(b) is not None and answer in body_text(b))
    except TimeoutException:
        browser.save_screenshot(str(ARTIFACTS / f"{screenshot}-failed.png"))
        raise AssertionError(f"no answer with a 'Thought for' toggle; the page shows:\n{body_text(browser)}"
                             ) from None
    browser.save_screenshot(str(ARTIFACTS / f"{screenshot}-collapsed.png"))
    wait.until(lambda b: thought_toggle(b).get_attribute("aria-expanded") == "false")
    visible = body_text(browser)
    assert answer in visible and reasoning not in visible  # collapsed: the thinking is not shown
    wait.until(lambda b: thought_toggle(b).click() or True)
    wait.until(lambda b: reasoning in body_text(b))
    wait.until(lambda b: thought_toggle(b).get_attribute("aria-expanded") == "true")
    browser.save_screenshot(str(ARTIFACTS / f"{screenshot}-expanded.png"))
    print(f"\nscreenshots: {ARTIFACTS}/{screenshot}-collapsed.png, -expanded.png")


def saved_answer(webui, email: str, password: str) -> tuple[str, list[str]]:
    """What Open WebUI saved of the first chat's answer: its content and its reasoning items' texts."""
    _status, admin = webui.call("POST", "/api/v1/auths/signin", {"email": email, "password": password})
    _status, chats = webui.call("GET", "/api/v1/chats/", token=admin["token"])
    _status, chat = webui.call("GET", f"/api/v1/chats/{chats[0]['id']}", token=admin["token"])
    answer = next(m for m in chat["chat"]["history"]["messages"].values() if m["role"] == "assistant")
    thinking = [item["content"][0]["text"] for item in answer.get("output", []) if item["type"] == "reasoning"]
    return answer["content"], thinking



def model_controls_button(browser):
    """The chat box's "Model controls" button (Open WebUI 0.12.4 shows it when the model's entry has menus), or None."""
    from selenium.webdriver.common.by import By

    buttons = browser.find_elements(By.CSS_SELECTOR, "button[aria-label='Model controls']")
    return next((b for b in buttons if b.is_displayed()), None)


def choose(browser, menu: str, option: str) -> None:
    """Pick ``option`` in the model's ``menu`` as a person does: the chat box's "Model controls" button, the menu,
    then the option (a screenshot ``model-control-chosen.png`` in test-artifacts/)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def shown_with_text(text: str):
        return lambda b: next((x for x in b.find_elements(By.XPATH, f"//*[normalize-space(text())='{text}']")
                               if x.is_displayed()), None)

    wait = waiter(browser)
    wait.until(lambda b: model_controls_button(b)).click()
    wait.until(lambda b: next((x for x in b.find_elements(By.CSS_SELECTOR, f"button[aria-label='{menu}']")
                               if x.is_displayed()), None)).click()
    wait.until(shown_with_text(option)).click()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "model-control-chosen.png"))
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close the menu, as a person would
