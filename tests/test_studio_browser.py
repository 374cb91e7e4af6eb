"""The studio in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium) opens the page of a live ``cadenza serve`` (the shipped model, one worker on one thread), composes a
four-bar quartet, sees the engraved score and the player, moves the cursor over the piano roll by seeking and
by playing, downloads the MIDI and reads it back, and loads nothing from anywhere but the server; writes two
bars of a composed piece again (chosen on the piano roll) and sees the revised score; and on the soundtrack
page steers a live stream by mood, valence and intensity while its bars arrive.

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
#: the longest a live stream may take to start or to play a few bars (the model loads in about 3 s)
LIVE_WAIT_S = 90
#: bars from the one shown when a control is moved to the first bar of its mood: the bridge's promise is the
#: bar written when the control arrived + 2; the page may be a bar behind the writer
MOOD_WITHIN_BARS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live ``cadenza serve`` on a free loopback port, with the shipped model, shared by this module's tests;
    yields its address."""
    tmp_path = tmp_path_factory.mktemp("serve")
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


def _get(server: str, path: str) -> Any:
    with urllib.request.urlopen(server + path, timeout=10) as response:
        return json.load(response)


def _composed(server: str, body: dict[str, Any]) -> str:
    """The id of a job posted to the API (not through the page), once it is done."""
    request = urllib.request.Request(server + "/v1/jobs", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        job_id: str = json.load(response)["id"]
    deadline = time.monotonic() + COMPOSE_WAIT_S
    while (job := _get(server, f"/v1/jobs/{job_id}"))["state"] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "done", job
    return job_id


def _piece_shown(driver: Any, job_id: str) -> bool:
    return bool(driver.find_element(By.ID, "error").text) or _js(
        driver, "const i = document.querySelector('#pages img');"
                "return studio.piece !== null && studio.piece.id === arguments[0] && studio.roll !== null"
                " && i !== null && i.complete && i.naturalWidth > 0", job_id)


def _shift_click_bar(driver: Any, number: int) -> None:
    """Shift-click the piano roll in the middle of bar ``number`` (as the roll numbers it)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    roll = driver.find_element(By.ID, "roll")
    x = _js(driver, "const r = studio.roll; const i = r.bars.findIndex(b => b[1] === arguments[0]);"
                    "const end = i + 1 < r.bars.length ? r.bars[i + 1][0] : r.duration_s;"
                    "return ((r.bars[i][0] + end) / 2 / r.duration_s - 0.5) * arguments[1].clientWidth",
            number, roll)
    ActionChains(driver).key_down(Keys.SHIFT).move_to_element_with_offset(roll, int(x), 0).click() \
        .key_up(Keys.SHIFT).perform()


def test_the_studio_writes_chosen_bars_of_a_piece_again(server: str, browser: Any) -> None:
    choices = _get(server, "/v1/studio/choices")
    original = _composed(server, {"kind": "compose", "formats": choices["formats"], "request": {
        "ensemble": "string-quartet", "key": "A minor", "meter": "4/4", "bars": 4, "seed": 5}})
    wait = WebDriverWait(browser, COMPOSE_WAIT_S, poll_frequency=0.2)
    browser.get(f"{server}/#{original}")
    wait.until(lambda d: _piece_shown(d, original))
    assert not browser.find_element(By.ID, "error").text
    bars = browser.find_element(By.ID, "revise-bars")
    assert bars.get_attribute("value") == ""

    # the first bar cannot be written again (nothing comes before it): said on the page, no job posted
    bars.send_keys("1-2")
    browser.find_element(By.ID, "revise-button").click()
    assert "bar 1 is the first" in browser.find_element(By.ID, "error").text
    assert browser.current_url.endswith(original)

    # bars chosen on the piano roll: a shift-click on bar 3, another on bar 4
    _shift_click_bar(browser, 3)
    assert bars.get_attribute("value") == "3" and _js(browser, "return studio.selection") == [3, 3]
    _shift_click_bar(browser, 4)
    assert bars.get_attribute("value") == "3-4" and _js(browser, "return studio.selection") == [3, 4]
    versions = browser.find_element(By.ID, "revise-versions")
    versions.clear()
    versions.send_keys("1")
    browser.find_element(By.ID, "revise-button").click()

    # the revise job is followed and its piece shown as a composed one: score, player, roll, report
    wait.until(lambda d: d.current_url.split("#")[1] != original)
    revised = browser.current_url.split("#")[1]
    wait.until(lambda d: _piece_shown(d, revised) and _js(d, "return audio.readyState >= 1"))
    assert not browser.find_element(By.ID, "error").text
    job = _get(server, f"/v1/jobs/{revised}")
    assert job["kind"] == "revise" and job["state"] == "done"
    assert job["request"]["request"] == {"bars": "3-4", "versions": 1, "seed": 1}
    assert job["report"]["revised"]["bars"] == [3, 4] and job["report"]["result"]["bars"] == 4
    assert f"{revised[:8]}: done" in browser.find_element(By.ID, "job-state").text
    assert "bars 3-4 written again" in browser.find_element(By.ID, "summary").text
    assert _js(browser, "return studio.selection") == [3, 4]  # the bars written again, shown on the roll
    assert browser.find_element(By.ID, "revise-bars").get_attribute("value") == "3-4"
    assert browser.find_element(By.ID, "revise-seed").get_attribute("value") == "2"  # the next try writes anew
    image = browser.find_element(By.CSS_SELECTOR, "#pages img")
    assert image.get_attribute("alt") == "The engraved score, page 1 of 1"
    assert _js(browser, "return document.querySelector('#pages img').naturalWidth") > 500
    loaded = _js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert f"{server}/v1/jobs/{revised}/score.svg" in loaded
    assert f"{server}/v1/uploads" in loaded  # the piece's MIDI went up as the job's source

    # the bars before the chosen ones are the piece's own; the chosen ones are new
    before, after = _get(server, f"/v1/jobs/{original}/roll"), _get(server, f"/v1/jobs/{revised}/roll")
    assert _js(browser, "return studio.roll.notes.length") == len(after["notes"]) == job["report"]["result"]["notes"]
    bar3 = before["bars"][2][0]
    assert after["bars"][2][0] == pytest.approx(bar3, abs=1e-3)

    def up_to_bar3(notes: list[list[float]]) -> list[tuple[float, float, float, float]]:  # held notes end there
        return [(on, pytest.approx(min(end, bar3), abs=1e-3), pitch, part) for on, end, pitch, part in notes
                if on < bar3 - 1e-3]

    assert up_to_bar3(after["notes"]) == up_to_bar3(before["notes"])
    assert [n for n in after["notes"] if n[0] >= bar3] != [n for n in before["notes"] if n[0] >= bar3]
    wait.until(lambda d: any(a.text.endswith("revise: bars 3-4 — done") for a in
                             d.find_elements(By.CSS_SELECTOR, "#history a")))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def _live(driver: Any, name: str) -> Any:
    return driver.find_element(By.ID, f"live-{name}")


def _mood_moved(driver: Any, move: Any, mood: str) -> int:
    """Move a control (``move()``) while bars arrive; once the page says ``mood`` is in force, the bar it
    is in force from, checked to be within :data:`MOOD_WITHIN_BARS` of the bar shown when it moved and no
    later than the bridge promised in its ack."""
    shown = int(_live(driver, "bar").text)
    assert _live(driver, "mood-now").get_attribute("data-mood") != mood
    move()
    WebDriverWait(driver, LIVE_WAIT_S, poll_frequency=0.1).until(
        lambda d: _live(d, "error").text or _live(d, "mood-now").get_attribute("data-mood") == mood)
    assert not _live(driver, "error").text
    since = int(_live(driver, "mood-now").get_attribute("data-bar"))
    ack = _live(driver, "asked").get_attribute("data-ack-bar")
    assert ack, "the control was not acknowledged before it was heard"
    assert shown < since <= min(shown + MOOD_WITHIN_BARS, int(ack) + 2), (shown, ack, since)
    row = driver.find_element(By.CSS_SELECTOR, f"#live-log tr[data-bar='{since}']")
    assert row.get_attribute("class") == "cue-change" and row.find_elements(By.TAG_NAME, "td")[6].text.startswith(mood)
    return since


def test_the_soundtrack_page_steers_a_live_stream_by_mood(server: str, browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.get(server + "/soundtrack")
    WebDriverWait(browser, 30, poll_frequency=0.2).until(lambda d: _live(d, "start").is_enabled())
    assert Select(_live(browser, "mood")).first_selected_option.get_attribute("value") == "calm"
    assert _live(browser, "valence").get_attribute("value") == "0.8"  # calm's centre
    Select(_live(browser, "speed")).select_by_value("4")  # four times real time: a bar in about a second
    _live(browser, "sound").click()
    _live(browser, "start").click()
    wait = WebDriverWait(browser, LIVE_WAIT_S, poll_frequency=0.1)
    wait.until(lambda d: _live(d, "error").text or len(d.find_elements(By.CSS_SELECTOR, "#live-log tbody tr")) >= 3)
    assert not _live(browser, "error").text
    assert _live(browser, "mood-now").get_attribute("data-mood") == "calm"
    assert _live(browser, "state").text.startswith("streaming (piano, seed 1)")

    # a mood word; then valence moved to its end (tense's arousal stays: joyful); then intensity to 0 (calm)
    tense = _mood_moved(browser, lambda: Select(_live(browser, "mood")).select_by_value("tense"), "tense")
    assert _live(browser, "valence").get_attribute("value") == "-0.8"
    joyful = _mood_moved(browser, lambda: _live(browser, "valence").send_keys(Keys.END), "joyful")
    assert _live(browser, "mood-now").text == f"joyful from bar {joyful} (v+1.0 a+0.8)"
    assert Select(_live(browser, "mood")).first_selected_option.get_attribute("value") == ""
    calm = _mood_moved(browser, lambda: _live(browser, "intensity").send_keys(Keys.HOME), "calm")
    assert _live(browser, "arousal").get_attribute("value") == "-1"  # intensity is arousal on a 0..1 scale
    assert tense < joyful < calm

    # every bar shown, in order, with its key, tempo, meter and notes; the notes were played
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#live-log tbody tr")]
    numbers = [int(row[0]) for row in rows]
    assert numbers == list(range(numbers[0], numbers[0] - len(rows), -1)) and numbers[-1] == 1
    assert all(row[2] and row[3].isdigit() and "/" in row[4] and row[5].isdigit() for row in rows), rows
    assert sum(int(row[5]) for row in rows) > 0 and _js(browser, "return live.scheduled") > 0
    changes = {int(row[0]): row[7] for row in rows if row[7]}
    assert changes[tense] == "mood tense" and "valence +1.0" in changes[joyful] and changes[calm] == "intensity +0.0"

    _live(browser, "stop").click()
    wait.until(lambda d: _live(d, "start").is_enabled())
    assert _live(browser, "state").text.startswith("ended (stop)")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors  # a CSP refusal of the WebSocket would be one
