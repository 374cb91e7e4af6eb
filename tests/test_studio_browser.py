"""The studio in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium) opens the page of a live ``cadenza serve`` (the shipped model, one worker on one thread), composes a
four-bar quartet, sees the engraved score and the player, moves the cursor over the piano roll by seeking and
by playing, downloads the MIDI and reads it back, and loads nothing from anywhere but the server.

Skipped where Chromium, its driver or Selenium is missing (``.ci/run`` installs them). With
``CADENZA_STUDIO_SCREENSHOT=docs/studio.png`` it also writes the README's screenshot there.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("verovio")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from cadenza import read_score  # noqa: E402

BROWSER = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (BROWSER and DRIVER), reason="needs chromium and chromedriver "
                                "(apt-get install chromium chromium-driver)")
#: the longest the page may take to compose and show a four-bar piece (about 15 s here, on a busy machine)
COMPOSE_WAIT_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    """A live ``cadenza serve`` on a free loopback port, with the shipped model; yields its address."""
    port, log = _free_port(), tmp_path / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "cadenza", "serve", "--port", str(port), "--data",
                                str(tmp_path / "data"), "--workers", "1", "--threads", "1"],
                               stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{base}/v1/status", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _js(driver: Any, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def test_the_studio_composes_shows_plays_and_downloads_a_piece(server: str, browser: Any, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, COMPOSE_WAIT_S, poll_frequency=0.2)
    browser.get(server + "/")
    WebDriverWait(browser, 30, poll_frequency=0.2).until(
        lambda d: d.find_elements(By.ID, "ensemble") and len(Select(d.find_element(By.ID, "ensemble")).options) > 1)
    form = {"ensemble": "string-quartet", "key": "D major", "meter": "3/4", "mood": "joyful"}
    for name, value in form.items():
        Select(browser.find_element(By.ID, name)).select_by_value(value)
    for name, value in {"bars": "4", "seed": "3", "prompt": "a waltz"}.items():
        field = browser.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, "compose").click()

    # progress, then the piece: the engraved score, the player (the WAV loaded), the piano roll
    wait.until(lambda d: d.find_element(By.ID, "error").text or
               _js(d, "const i = document.querySelector('#pages img');"
                      "return i !== null && i.complete && i.naturalWidth > 0 && audio.readyState >= 1"
                      " && studio.roll !== null"))
    assert not browser.find_element(By.ID, "error").text
    job_id = browser.current_url.split("#")[1]
    with urllib.request.urlopen(f"{server}/v1/jobs/{job_id}", timeout=10) as response:
        job = json.load(response)
    assert job["state"] == "done" and job["report"]["plan"]["ensemble"] == "string-quartet"
    assert job["request"]["request"] == {**form, "bars": 4, "seed": 3, "prompt": "a waltz"}
    score_image = browser.find_element(By.CSS_SELECTOR, "#pages img")
    assert score_image.get_attribute("alt") == "The engraved score, page 1 of 1"
    assert _js(browser, "return document.querySelector('#pages img').naturalWidth") > 500
    duration_s = job["report"]["result"]["duration_s"]
    assert _js(browser, "return audio.duration") == pytest.approx(duration_s + 1.0, abs=0.1)  # the release tail
    assert _js(browser, "return studio.roll.notes.length") == job["report"]["result"]["notes"]
    rows = {r.find_element(By.TAG_NAME, "th").text: [c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in browser.find_elements(By.CSS_SELECTOR, "#adherence tbody tr")}
    adherence = job["report"]["adherence"]
    assert {label.replace(" ", "_") for label in rows} == set(adherence)
    for label in ("key", "meter", "mood"):
        heard = adherence[label]
        assert rows[label] == [form[label], heard["heard"], "yes" if heard["met"] else "no"]
    assert browser.find_element(By.ID, "originality").text.startswith(job["report"]["originality"]["verdict"])
    assert f"{job_id[:8]}: done" in browser.find_element(By.ID, "job-state").text
    assert _js(browser, "return document.getElementById('progress').value") == 1
    wait.until(lambda d: any("string-quartet" in a.text and a.get_attribute("href").endswith(job_id)
                             for a in d.find_elements(By.CSS_SELECTOR, "#history a")))

    # the cursor follows the audio: a seek puts it where the roll shows that moment; playing moves it on
    width = _js(browser, "return document.getElementById('roll').clientWidth")
    _js(browser, "audio.currentTime = arguments[0]", duration_s / 2)
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda d: float(d.find_element(By.ID, "cursor").get_attribute("data-seconds")) > 0)
    left = _js(browser, "return parseFloat(document.getElementById('cursor').style.left)")
    assert left == pytest.approx(width / 2, abs=3)
    _js(browser, "audio.currentTime = 0; audio.play()")
    wait.until(lambda d: _js(d, "return audio.currentTime") > 1.0)
    _js(browser, "audio.pause()")
    played_s = _js(browser, "return audio.currentTime")
    WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda d: float(d.find_element(By.ID, "cursor").get_attribute("data-seconds")) > 0.5)
    assert float(browser.find_element(By.ID, "cursor").get_attribute("data-seconds")) == pytest.approx(played_s,
                                                                                                       abs=0.1)
    moved = _js(browser, "return parseFloat(document.getElementById('cursor').style.left)")
    assert moved == pytest.approx(played_s / duration_s * width, abs=3)

    # the MIDI downloads and reads back as the piece asked for
    browser.find_element(By.LINK_TEXT, "MIDI").click()
    midi = browser.downloads / "piece.mid"
    wait.until(lambda d: midi.is_file() and not list(browser.downloads.glob("*.crdownload")))
    score = read_score(midi)
    assert score.bar_count == 4 and len(score.parts) == 4
    assert [str(t) for t in score.time_signatures] == ["3/4"]

    # everything came from the server (no CDN), and the page logged no error (a CSP refusal would be one)
    loaded = _js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith((server + "/", "blob:", "data:")) for url in loaded), loaded
    assert {"studio.js", "studio.css", "favicon.svg", "roll", "score.svg"} <= {u.split("/")[-1] for u in loaded}
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors

    _screenshot(browser, tmp_path)


def _screenshot(browser: Any, tmp_path: Path) -> None:
    """The studio as shown, kept small (a 64-colour PNG); also written to $CADENZA_STUDIO_SCREENSHOT."""
    from PIL import Image

    _js(browser, "window.scrollTo(0, 0)")
    image = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    assert image.size[0] >= 1000
    small = image.quantize(64, method=Image.Quantize.MEDIANCUT)
    path = tmp_path / "studio.png"
    small.save(path, optimize=True)
    assert path.stat().st_size < 400_000
    target = os.environ.get("CADENZA_STUDIO_SCREENSHOT")
    if target:
        shutil.copyfile(path, target)
