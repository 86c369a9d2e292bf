"""The site in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by
Selenium), loaded from file:// as someone opens it from disk: search, filter, sort, open a model,
and nothing a catalog string holds runs. Outside CI the test skips when the browser is missing;
under CI=true a missing browser fails the run (`.ci/run` installs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_cli
from tests.site.conftest import HOSTILE_DESCRIPTION, HOSTILE_DISPLAY, HOSTILE_SUBJECT

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900")


def _missing() -> str | None:
    if shutil.which("chromium") is None:
        return "chromium is not installed (Debian's `chromium` package)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed (Debian's `chromium-driver` package)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}: under CI=true the browser test must run; .ci/run installs it")
        pytest.skip(f"{missing}; .ci/run installs it")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(shutil.which("chromium"))
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="modelreg-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    # The browser's console, and its network events: every request any page made.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# Each read is one script run in the page, so a re-render between finding an element and reading
# it cannot leave a stale reference behind.
def _rows(browser: Any) -> list[str]:
    return list(browser.execute_script(
        "return [...document.querySelectorAll('#models tbody tr')].map(row => row.dataset.name);"))


def _text(browser: Any, selector: str) -> str | None:
    found = browser.execute_script(
        "const e = document.querySelector(arguments[0]); return e === null ? null : e.innerText.trim();", selector)
    return None if found is None else str(found)


def _attr(browser: Any, selector: str, name: str) -> str | None:
    found = browser.execute_script(
        "const e = document.querySelector(arguments[0]); return e === null ? null : e.getAttribute(arguments[1]);",
        selector, name)
    return None if found is None else str(found)


def _texts(browser: Any, selector: str) -> list[str]:
    return [str(text) for text in browser.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim());", selector)]


def _wait(browser: Any, condition: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda driver: condition())


def _select(browser: Any, selector: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("css selector", selector)).select_by_value(value)


def test_browsing_the_site_in_a_real_browser(browser: Any, catalog: Path, history: tuple[str, str],
                                             tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys

    first, second = history
    out = tmp_path / "site"
    assert run_cli("site", "--catalog", str(catalog), "-o", str(out)).code == 0
    base = out.as_uri()

    browser.get(f"{base}/models.html")
    _wait(browser, lambda: _text(browser, "#count"))
    assert _text(browser, "#count") == "4 of 4 models"
    assert _rows(browser) == ["acme/chat-large", "acme/chat-xl", "acme/coder", "acme/embed-small"]

    search = browser.find_element("css selector", "#q")
    search.send_keys("coder")
    assert (_text(browser, "#count"), _rows(browser)) == ("1 of 4 models", ["acme/coder"])
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    assert _text(browser, "#count") == "4 of 4 models"

    # A capability keeps the models of the node and of everything below it (coder is in code-generation).
    _select(browser, "#capability", "generation.text-generation")
    assert (_text(browser, "#count"), _rows(browser)) == (
        "3 of 4 models", ["acme/chat-large", "acme/chat-xl", "acme/coder"])

    sort, header = "button[data-sort=context_window]", "th:has(> button[data-sort=context_window])"
    browser.find_element("css selector", sort).click()
    assert _rows(browser) == ["acme/chat-xl", "acme/chat-large", "acme/coder"]
    assert _attr(browser, header, "aria-sort") == "ascending"
    browser.find_element("css selector", sort).click()
    assert _rows(browser) == ["acme/chat-large", "acme/coder", "acme/chat-xl"]
    assert _attr(browser, header, "aria-sort") == "descending"
    assert _texts(browser, "#models tbody tr:last-child td") == [
        "acme/chat-xl", "acme", "generation.text-generation", "streaming", "8,192", "—", "—", "active"]
    assert browser.current_url.endswith("/models.html#capability=generation.text-generation&sort=-context_window")

    _select(browser, "#feature", "tool_calling")
    assert (_text(browser, "#count"), _rows(browser)) == ("2 of 4 models", ["acme/chat-large", "acme/coder"])
    shot = tmp_path / "models.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000

    browser.find_element("link text", "acme/coder").click()
    _wait(browser, lambda: _text(browser, "#model h1") == "acme/coder")
    assert browser.current_url == f"{base}/model.html#acme%2Fcoder"
    assert browser.title == "acme/coder · modelreg"
    assert _texts(browser, "#pools li") == ["#2 of 3 in generation", "#2 of 3 in generation.text-generation",
                                            "#1 of 1 in generation.text-generation.code-generation"]
    assert _texts(browser, "#history dd") == [
        "2024-01-02 03:04:05 UTC", f"2024-01-02 03:04:05 UTC {first[:12]} Test Author: catalog (added)", "1"]
    assert browser.save_screenshot(str(tmp_path / "model.png"))

    # Markup in a description, a display name and a commit subject is shown as text and never runs.
    browser.get(f"{base}/model.html#acme%2Fchat-large")
    _wait(browser, lambda: _text(browser, "#model h1") == "acme/chat-large")
    assert _text(browser, "#model .description") == HOSTILE_DESCRIPTION
    assert _text(browser, "#model p.display") == HOSTILE_DISPLAY
    assert _texts(browser, "#history dd")[1] == f"2024-02-03 04:05:06 UTC {second[:12]} Test Author: {HOSTILE_SUBJECT}"
    assert browser.execute_script("return [window.pwned === undefined, document.images.length, "
                                  "document.querySelectorAll('#injected, #model script').length, "
                                  "document.scripts.length]") == [True, 0, 0, 2]

    browser.get(f"{base}/index.html")
    _wait(browser, lambda: _text(browser, "li[data-path='generation'] > a.count") == "3 models")
    browser.find_element("css selector", "li[data-path='embedding.text-embedding'] > a.count").click()
    _wait(browser, lambda: _rows(browser) == ["acme/embed-small"])
    assert browser.execute_script("return document.querySelector('#capability').value") == "embedding.text-embedding"

    browser.get(f"{base}/pools.html#pool-generation.text-generation")
    # The script draws the pools after the page has loaded: wait for them, then check them.
    pool = "details#pool-generation\\.text-generation li"
    _wait(browser, lambda: bool(_texts(browser, pool)))
    assert _texts(browser, pool) == [
        "acme/chat-large active acme · priority 1", "acme/coder active acme · priority 5",
        "acme/chat-xl active acme · priority 50"]

    browser.get(f"{base}/changes.html")
    _wait(browser, lambda: bool(_text(browser, "p.summary")))
    assert _text(browser, "p.summary") == "1 model added, 1 changed; 2 pools changed"

    # Nothing was fetched but the site's own files, and the browser reported no error (a script
    # refused by the Content-Security-Policy would be one).
    requests = [request for entry in browser.get_log("performance") if (request := _request(entry))]
    # Made by the site's pages (the browser's own start page makes requests of its own).
    from_site = {url for page, url in requests if page.startswith(f"{base}/")}
    assert {url.removeprefix(f"{base}/").split("#")[0] for url in from_site} == {
        "models.html", "model.html", "index.html", "pools.html", "changes.html", "data.js", "site.js", "site.css"}
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def _request(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(the page that made it, the URL) of a request in the performance log."""
    message = json.loads(entry["message"])["message"]
    if message["method"] != "Network.requestWillBeSent":
        return None
    params = message["params"]
    return str(params.get("documentURL", "")), str(params["request"]["url"])


def test_an_unknown_model_page_says_so(browser: Any, catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert run_cli("site", "--catalog", str(catalog), "-o", str(out)).code == 0
    browser.get(f"{out.as_uri()}/model.html#acme%2Fnope")
    _wait(browser, lambda: _text(browser, "#model h1") == "Unknown model")
    assert _text(browser, "#model p") == "No model named acme/nope in this catalog. Search the models."


def test_ci_installs_the_browser_before_the_tests() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    install = ci.index("need+=(chromium chromium-driver)")
    assert 'if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then' in ci
    assert install < ci.index('apt-get install -y -qq "${need[@]}"') < ci.index("python -m pytest")


@pytest.mark.slow
@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_a_missing_browser_skips_outside_ci_and_fails_under_ci(tmp_path: Path, ci: str, outcome: str) -> None:
    # Only the virtual environment on PATH: no chromium, no chromedriver.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent), "CI": ci}
    test = f"{Path(__file__).relative_to(REPO)}::test_an_unknown_model_page_says_so"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", test], cwd=REPO,
                            env=env, capture_output=True, text=True, check=False)
    assert outcome in result.stdout.splitlines()[-1], result.stdout
    reason = "chromium is not installed (Debian's `chromium` package)"
    if ci:
        assert result.returncode == 1
        assert f"{reason}: under CI=true the browser test must run; .ci/run installs it" in result.stdout
    else:
        assert result.returncode == 0
        assert f"{reason}; .ci/run installs it" in result.stdout
