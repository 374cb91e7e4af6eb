"""The studio's page and endpoints, without a browser (``test_studio_browser.py`` drives the page itself): the
page and every file it loads come from the package, its form offers only what a compose job accepts (read
from the composer's tables), and a finished piece is served as a piano roll and an engraved score."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
torch = pytest.importorskip("torch")
pytest.importorskip("verovio")  # imported here, in the main thread: the app engraves in its other threads

from fastapi.testclient import TestClient  # noqa: E402

from cadenza import read_score  # noqa: E402
from cadenza.compose.ensembles import ENSEMBLES  # noqa: E402
from cadenza.compose.request import MOOD_CENTRES, MOODS  # noqa: E402
from cadenza.errors import UsageError  # noqa: E402
from cadenza.listen.labels import EPOCHS, KEYS, METERS, mood_quadrant  # noqa: E402
from cadenza.serve import ServeConfig  # noqa: E402
from cadenza.serve.app import create_app  # noqa: E402
from cadenza.serve.jobs import FORMATS, check_job  # noqa: E402
from cadenza.serve.live import live_options  # noqa: E402
from cadenza.serve.store import SqliteJobStore  # noqa: E402
from cadenza.serve.studio import STATIC, _engraved  # noqa: E402
from cadenza.serve.worker import work_one  # noqa: E402
from cadenza.soundtrack.bridge import LiveConfig  # noqa: E402
from cadenza.soundtrack.stream import CONTROLS, check_control  # noqa: E402
from tests import serve_fixtures  # noqa: E402

config, store, client = serve_fixtures.config, serve_fixtures.store, serve_fixtures.client  # pytest fixtures

QUARTET = {"kind": "compose", "request": {"key": "G major", "meter": "3/4", "bars": 3, "seed": 2,
                                          "ensemble": "string-quartet"}, "formats": ["mid", "musicxml"]}




class _Links(HTMLParser):
    """Every URL an HTML page loads or links to (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


#: the studio's pages, what each loads from the package, and the pages they link to
PAGES = {"/": ["static/api.js", "static/favicon.svg", "static/favicon.svg", "static/revise.js", "static/studio.css",
               "static/studio.js"],
         "/soundtrack": ["static/api.js", "static/favicon.svg", "static/favicon.svg", "static/soundtrack.js",
                         "static/studio.css"]}
PAGE_LINKS = {"./": "/", "soundtrack": "/soundtrack", "docs": "/docs"}


@pytest.mark.parametrize("route", list(PAGES))
def test_the_page_and_every_file_it_loads_come_from_the_package(client: TestClient, route: str) -> None:
    page = client.get(route)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    links = _Links()
    links.feed(page.text)
    assets = [url for url in links.urls if url not in PAGE_LINKS]
    assert sorted(assets) == PAGES[route]
    for url in set(assets):
        served = client.get(f"/{url}")
        assert served.status_code == 200 and served.content == (STATIC / url.removeprefix("static/")).read_bytes()
    assert sorted(set(links.urls) & set(PAGE_LINKS)) == sorted(PAGE_LINKS)  # each page links to the others
    for link in PAGE_LINKS.values():
        assert client.get(link).status_code == 200, link  # the API's own page stays where it was
    for path in sorted(STATIC.iterdir()):  # nothing the page loads names another host
        text = path.read_text(encoding="utf-8").replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), path.name
    for escape in ("/static/..%2Fapp.py", "/static/../app.py", "/static/%2e%2e/store.py"):
        assert client.get(escape).status_code == 404, escape


def test_the_form_offers_what_the_composer_tables_hold_and_each_choice_is_accepted(client: TestClient,
                                                                                config: ServeConfig) -> None:
    choices = client.get("/v1/studio/choices").json()
    assert [e["name"] for e in choices["ensembles"]] == list(ENSEMBLES)
    assert choices["ensembles"][2] == {"name": "string-quartet", "parts": ["Violin I", "Violin II", "Viola",
                                                                          "Violoncello"]}
    assert choices["keys"] == list(KEYS) and choices["moods"] == list(MOODS) and choices["epochs"] == list(EPOCHS)
    assert choices["meters"] == [m for m in METERS if m != "other"]
    assert set(choices["formats"]) <= set(FORMATS) and {"mid", "musicxml", "wav"} <= set(choices["formats"])
    offered = [("ensemble", e["name"]) for e in choices["ensembles"]] + [
        (field, value) for field in ("key", "meter", "mood", "epoch") for value in choices[field + "s"]]
    for field, value in offered:  # as the page posts them
        check_job({"kind": "compose", "request": {field: value, "bars": choices["default_bars"], "seed": 1},
                   "formats": choices["formats"]}, config.data)
    assert choices["min_bars"] == 1 and check_job({"kind": "compose", "request": {"bars": choices["max_bars"]}},
                                                  config.data)


def test_the_soundtrack_controls_are_what_the_live_bridge_accepts(client: TestClient, config: ServeConfig) -> None:
    live = client.get("/v1/studio/choices").json()["live"]
    assert live["moods"] == list(MOODS) and live["default_mood"] == LiveConfig().mood == "calm"
    assert {mood: tuple(centre) for mood, centre in live["centres"].items()} == MOOD_CENTRES
    for mood, (valence, arousal) in live["centres"].items():
        assert check_control({"mood": mood}) == {"mood": mood}
        # the page names the mood of a cue steered by valence and arousal by the quadrant its centre is in
        assert mood_quadrant(valence, arousal) == mood
    for name, (low, high) in live["ranges"].items():  # each slider's ends are accepted, a step past is refused
        for value in (low, (low + high) / 2, high):
            assert check_control({name: value}) == {name: value}
        for past in (low - 0.05, high + 0.05):
            with pytest.raises(UsageError, match=name):
                check_control({name: past})
    assert set(live["ranges"]) == {"valence", "arousal", "intensity"} <= set(CONTROLS)
    # what the page sends when valence or arousal moves (intensity follows arousal) is one control
    assert check_control({"valence": 1.0, "arousal": -1.0, "intensity": 0.0}) == {"valence": 1.0, "arousal": -1.0,
                                                                                  "intensity": 0.0}
    assert 0 in live["speeds"] and 1 in live["speeds"]
    for speed in live["speeds"]:  # each speed offered opens a stream (as the page asks for one)
        options = live_options({"mood": "calm", "ensemble": "piano", "seed": "1", "speed": str(speed)}, config)
        assert options.speed == speed


def _done(client: TestClient, store: SqliteJobStore, config: ServeConfig, body: dict[str, Any]) -> str:
    job_id: str = client.post("/v1/jobs", json=body).json()["id"]
    assert work_one(store, config) == "done"
    return job_id


def test_a_finished_piece_is_served_as_a_piano_roll_and_an_engraved_score(client: TestClient, store: SqliteJobStore,
                                                                       config: ServeConfig, tmp_path: Path) -> None:
    job_id = _done(client, store, config, QUARTET)
    (tmp_path / "piece.mid").write_bytes(client.get(f"/v1/jobs/{job_id}/files/piece.mid").content)
    piece = read_score(tmp_path / "piece.mid")
    roll = client.get(f"/v1/jobs/{job_id}/roll").json()
    assert roll["parts"] == ["Violin I", "Violin II", "Viola", "Violoncello"]
    assert len(roll["notes"]) == piece.note_count > 0
    onsets = [note[0] for note in roll["notes"]]
    assert onsets == sorted(onsets) and all(end > onset for onset, end, _, _ in roll["notes"])
    assert roll["duration_s"] == pytest.approx(piece.duration_s, abs=1e-3) and max(onsets) < roll["duration_s"]
    assert [number for _, number in roll["bars"]] == [1, 2, 3] and roll["bars"][0][0] == 0
    # the bar lines in seconds through the tempo map, as the audio is timed (this one's tempo changes in bar 1)
    assert [start for start, _ in roll["bars"]] == pytest.approx(list(piece.seconds_at(piece.bar_starts())), abs=1e-3)
    assert roll["lowest_pitch"] == min(n[2] for n in roll["notes"])

    score = client.get(f"/v1/jobs/{job_id}/score.svg")
    assert score.status_code == 200 and score.headers["content-type"].startswith("image/svg+xml"), score.text
    assert score.headers["x-page-count"] == "1" and score.text.lstrip().startswith("<svg")
    assert all(name in score.text for name in ("Violin I", "Viola", "Violoncello"))
    assert score.text.count('class="measure"') == 3
    assert client.get(f"/v1/jobs/{job_id}/score.svg?page=2").status_code == 404
    assert client.get(f"/v1/jobs/{job_id}/score.svg?page=0").status_code == 400
    # a piece written as MIDI only is engraved from the MIDI
    midi_only = _done(client, store, config, {**QUARTET, "formats": ["mid"]})
    again = client.get(f"/v1/jobs/{midi_only}/score.svg")
    assert again.status_code == 200 and again.text.count('class="measure"') == 3


def test_a_job_without_a_piece_is_refused_in_one_line(client: TestClient, store: SqliteJobStore,
                                                      config: ServeConfig) -> None:
    queued = client.post("/v1/jobs", json=QUARTET).json()["id"]
    for route in ("roll", "score.svg"):
        refused = client.get(f"/v1/jobs/{queued}/{route}")
        assert refused.status_code == 409 and refused.json() == {
            "error": f"job {queued} is queued: it has no piece yet"}
        assert client.get(f"/v1/jobs/{'f' * 32}/{route}").status_code == 404
    assert work_one(store, config) == "done"
    piece = client.get(f"/v1/jobs/{queued}/files/piece.mid").content
    upload = client.post("/v1/uploads", files={"file": ("piece.mid", piece)}).json()["id"]
    analysed = _done(client, store, config, {"kind": "analyse", "source": upload})
    refused = client.get(f"/v1/jobs/{analysed}/roll")
    assert refused.status_code == 404 and "wrote no piece" in refused.json()["error"]


def test_without_verovio_the_score_is_a_501_naming_the_install(client: TestClient, store: SqliteJobStore,
                                                              config: ServeConfig,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    job_id = _done(client, store, config, QUARTET)
    _engraved.cache_clear()
    monkeypatch.setitem(sys.modules, "verovio", None)  # import verovio now fails, as where it is not installed
    refused = client.get(f"/v1/jobs/{job_id}/score.svg")
    assert refused.status_code == 501
    assert refused.json() == {"error": "the engraved score needs the verovio package: pip install verovio"}
    assert client.get(f"/v1/jobs/{job_id}/roll").status_code == 200  # the rest of the page still works


def test_the_page_is_open_and_its_endpoints_need_the_api_key(config: ServeConfig, store: SqliteJobStore) -> None:
    keyed = ServeConfig(data=config.data, checkpoint=config.checkpoint, api_key="s3cret-key")
    with TestClient(create_app(keyed, store)) as client:
        assert client.get("/").status_code == 200 and client.get("/static/studio.js").status_code == 200
        assert client.get("/v1/studio/choices").status_code == 401
        assert client.get("/v1/studio/choices", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        assert client.get(f"/v1/jobs/{'f' * 32}/roll").status_code == 401
