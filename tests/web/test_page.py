"""`mxtls serve` against the built-in lab: the API, the page without script, and a real browser.

One server (``mxtls serve --allow-private`` as a user starts it, aimed at the
shared lab) and one Chromium session serve every test here, so the module
costs a few seconds.  The browser is Debian's ``chromium`` driven through
``chromium-driver`` by selenium; where it cannot be installed the browser
test skips with the reason (``MXTLS_REQUIRE_PEERS=1`` turns that into a
failure).  The screenshot of the result page is a test artefact
(``MXTLS_ARTIFACTS``, default ``.artifacts/``); ``MXTLS_UPDATE_SCREENSHOT=1``
also refreshes the README's ``docs/web-result.png``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mxtls.lab.world import Lab
from mxtls.render.hints import finding_help
from tests.peers import require_peer
from tests.web.conftest import wait_done

ROOT = Path(__file__).resolve().parents[2]
MXTLS = [sys.executable, "-m", "mxtls"]
DOMAIN = "expired.lab"  # an error finding with a hint, and verdicts that say something
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
START_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def server(
    lab: Lab, lab_cli_flags: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``mxtls serve --allow-private`` aimed at the lab; its base URL."""
    data = tmp_path_factory.mktemp("serve")
    proc = subprocess.Popen(
        [
            *MXTLS,
            "serve",
            "--allow-private",
            "--port",
            "0",
            "--db",
            f"sqlite:///{data}/h.sqlite3",
            *lab_cli_flags,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    url = None
    deadline = time.monotonic() + START_TIMEOUT_S
    lines: list[str] = []
    while url is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
        url = found.group(1) if found else None
    if url is None:
        proc.kill()
        proc.wait()
        proc.stderr.close()
        raise AssertionError("mxtls serve did not start:\n" + "".join(lines))
    # The access log keeps coming: drain it, or a full pipe would stall the server.
    drain = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
    drain.start()
    try:
        yield url
    finally:
        proc.terminate()  # graceful: the lifespan closes the queue and the store
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        drain.join(5)
        proc.stderr.close()
    # A graceful stop: the lifespan ran to its end (uvicorn re-raises SIGTERM after it).
    assert any("Application shutdown complete" in line for line in lines), "".join(lines[-20:])
    access = [json.loads(line) for line in lines if line.startswith("{")]
    assert access and all("?" not in entry["path"] for entry in access)


def test_api_finds_what_the_cli_finds(server: str, lab_cli_flags: list[str]) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        accepted = client.post("/api/v1/checks", json={"domain": DOMAIN})
        assert accepted.status_code == 202
        assert set(accepted.json()) >= {"id", "url"}
        state = wait_done(client, accepted.json()["id"])
    assert state["status"] == "done" and state["result"]["schema"] == "mxtls/1"
    cli = subprocess.run(
        [*MXTLS, "check", DOMAIN, "--json", *lab_cli_flags],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode in (0, 1), cli.stderr
    expected = {(f["code"], f["severity"], f["target"]) for f in json.loads(cli.stdout)["findings"]}
    got = {(f["code"], f["severity"], f["target"]) for f in state["result"]["findings"]}
    assert got == expected
    assert ("cert.expired", "error") in {(c, s) for c, s, _ in got}


def test_the_page_without_script(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        form = client.post("/check", data={"domain": "good.lab"})
        assert form.status_code == 303
        page_url = form.headers["location"]
        deadline = time.monotonic() + 60
        while True:
            page = client.get(page_url)
            assert page.status_code == 200
            if "Will senders deliver?" in page.text:
                break
            assert '<meta http-equiv="refresh"' in page.text  # it reloads itself
            assert time.monotonic() < deadline
            time.sleep(0.3)
        assert "<script>" not in page.text  # the only script is /static/app.js
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        download = client.get(page_url + ".json")
        assert download.json()["domain"] == "good.lab"
        assert "attachment" in download.headers["content-disposition"]
        badge = client.get("/badge/good.lab.svg")
        assert badge.headers["content-type"].startswith("image/svg+xml") and "<svg" in badge.text
        history = client.get("/domain/good.lab")
        assert "History of" in history.text and "Stored checks" in history.text
        bad = client.post("/check", data={"domain": "not a domain"})
        assert bad.status_code == 422 and 'role="alert"' in bad.text


def _browser(profile: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1100,1800",
    ):
        options.add_argument(flag)
    from selenium.common.exceptions import WebDriverException

    # Chromium's start is the environment, not the page under test: on a
    # loaded 2-core machine it once missed chromedriver's connection window
    # ("chrome not reachable").  One more try, with a fresh profile.
    for attempt in (1, 2):
        if attempt == 2:
            options.arguments[:] = [
                a if not a.startswith("--user-data-dir=") else f"--user-data-dir={profile}/2"
                for a in options.arguments
            ]
        try:
            return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        except WebDriverException as exc:
            if attempt == 2:
                raise
            print(f"Chromium did not start ({exc.msg}); trying once more")
    raise AssertionError("unreachable")


def test_a_person_checks_a_domain_in_chromium(server: str) -> None:
    require_peer(
        "Chromium with chromium-driver",
        shutil.which("chromium") is not None and shutil.which("chromedriver") is not None,
        "apt-get install chromium chromium-driver (scripts/install-system does, as root)",
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    artefacts = Path(os.environ.get("MXTLS_ARTIFACTS", ROOT / ".artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mxtls-chromium-") as profile:
        driver = _browser(profile)
        try:
            wait = WebDriverWait(driver, 60)
            driver.get(server + "/")
            box = driver.find_element(By.ID, "domain")
            assert driver.find_element(By.CSS_SELECTOR, "label[for=domain]").text == "Mail domain"
            box.send_keys(DOMAIN)
            driver.find_element(By.CSS_SELECTOR, "form.check button").click()
            wait.until(ec.presence_of_element_located((By.ID, "verdict-title")))
            permalink = driver.current_url
            assert re.search(r"/check/[A-Za-z0-9_-]{16}$", permalink)
            body = driver.find_element(By.TAG_NAME, "body").text
            # What a person reads: the verdicts first, in words, then a finding and its hint.
            assert "Will senders deliver?" in body
            assert "Opportunistic senders" in body
            hint = finding_help("cert.expired").hint
            assert hint and hint in body
            headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
            assert headings.index("Will senders deliver?") < headings.index("Findings")
            driver.save_screenshot(str(artefacts / "web-result.png"))
            if os.environ.get("MXTLS_UPDATE_SCREENSHOT") == "1":
                shutil.copy(artefacts / "web-result.png", ROOT / "docs" / "web-result.png")
            # The code links to its explanation.
            driver.find_element(By.LINK_TEXT, "cert.expired").click()
            wait.until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
            assert "/explain/cert.expired" in driver.current_url
            assert "What to do" in driver.find_element(By.TAG_NAME, "body").text
            # The permalink shows the same result again.
            driver.get(permalink)
            wait.until(ec.presence_of_element_located((By.ID, "verdict-title")))
            assert DOMAIN in driver.find_element(By.TAG_NAME, "h1").text
            assert hint in driver.find_element(By.TAG_NAME, "body").text
        finally:
            driver.quit()
