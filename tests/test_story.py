"""Personal soundtracks: a story and a profile are read strictly; the profile's likes and dislikes choose
the ensemble, epoch and tempo range; each event becomes one movement, in date order, sharing themes, and the
suite is written whole and movement by movement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from cadenza.cli import main  # noqa: E402
from cadenza.compose import prompt_embed  # noqa: E402
from cadenza.compose.ensembles import ENSEMBLES  # noqa: E402
from cadenza.errors import InputError  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402
from cadenza.soundtrack.story import load_profile, load_story, slug, story_timeline  # noqa: E402

STORY = """
title = "Lisbon years"
[[events]]
date = "2019-06-02"
title = "Anna is born"
mood = "happy"
theme = "Anna"
duration = "4bars"
[[events]]
date = 2015
title = "Moving to Lisbon"
text = "We moved to Lisbon and everything felt new"
theme = "home"
duration = "4bars"
[[events]]
date = "2017-03"
title = "Grandpa"
text = "a slow sad farewell, baroque"
duration = "2bars"
[[events]]
date = 2024-12-24
title = "Back home"
valence = 0.1
arousal = 0.0
theme = "home"
duration = "4bars"
"""
PROFILE = """
name = "Ana"
[likes]
ensembles = ["band", "string-quartet"]
epochs = ["baroque", "romantic"]
tempo = [70, 120]
[dislikes]
ensembles = ["band"]
epochs = "baroque"
"""


@pytest.fixture(autouse=True)
def explicit_words_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedding stage off (fast and the same everywhere), unless a test turns it back on."""
    monkeypatch.setenv(prompt_embed.DISABLE_ENV, "0")


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


def _files(tmp_path: Path, story: str = STORY, profile: str = PROFILE) -> tuple[Path, Path]:
    (tmp_path / "story.toml").write_text(story)
    (tmp_path / "me.toml").write_text(profile)
    return tmp_path / "story.toml", tmp_path / "me.toml"


def test_a_story_is_read_and_sorted_by_date(tmp_path: Path) -> None:
    story = load_story(_files(tmp_path)[0])
    assert story.title == "Lisbon years"
    assert [e.date for e in story.events] == ["2015", "2017-03", "2019-06-02", "2024-12-24"]  # a TOML date too
    assert story.events[2].mood == "joyful" and story.events[2].bars == 4  # "happy" is a word for joyful
    assert story.events[3].valence == 0.1 and story.events[1].text == "a slow sad farewell, baroque"
    as_json = load_story({"events": [{"date": "1999-12", "title": "b", "mood": [-0.5, 0.5]},
                                      {"date": "1999", "title": "a", "mood": "calm", "duration": 90}]})
    assert [e.title for e in as_json.events] == ["a", "b"] and as_json.events[0].duration_s == 90
    assert as_json.events[1].valence == -0.5 and as_json.events[1].arousal == 0.5
    assert slug("Anna's first steps, São Paulo!") == "anna-s-first-steps-sao-paulo"


@pytest.mark.parametrize(("doc", "message"), [
    ('title = "x"\n', "no events"),
    ('events = []\n', "no events"),
    ('colour = 1\n[[events]]\ndate = "2000"\ntitle = "a"\nmood = "calm"\n', "unknown field 'colour'"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nmood = "calm"\nplace = "x"\n', "unknown field 'place'"),
    ('[[events]]\ndate = "2000-13"\ntitle = "a"\nmood = "calm"\n', "no date"),
    ('[[events]]\ndate = "2000-02-30"\ntitle = "a"\nmood = "calm"\n', "no date"),
    ('[[events]]\ndate = "last spring"\ntitle = "a"\nmood = "calm"\n', "not like 2015"),
    ('[[events]]\ntitle = "a"\nmood = "calm"\n', "give a date"),
    ('[[events]]\ndate = "2000"\nmood = "calm"\n', "give a title"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\n', "give a mood"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nmood = "purple"\n', "unknown mood"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nvalence = 0.5\n', "go together"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nvalence = 2\narousal = 0\n', "-1 to 1"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nmood = "calm"\nduration = "soon"\n', "not like 90s"),
    ('[[events]]\ndate = "2000"\ntitle = "a"\nmood = "calm"\nduration = 0\n', "1 s to 24 h"),
    ('ensemble = "kazoo"\n[[events]]\ndate = "2000"\ntitle = "a"\nmood = "calm"\n', "unknown ensemble"),
    ('[[events]\n', "not valid TOML"),
])
def test_bad_stories_are_one_line_input_errors(tmp_path: Path, doc: str, message: str) -> None:
    (tmp_path / "s.toml").write_text(doc)
    with pytest.raises(InputError, match=message) as caught:
        load_story(tmp_path / "s.toml")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("doc", "message"), [
    ('[likes]\nensembles = ["kazoo"]\n', "unknown ensemble"),
    ('[likes]\nepochs = ["jurassic"]\n', "unknown epoch"),
    ('[likes]\ncomposers = ["Nobody Atall"]\n', "unknown composer"),
    ('[likes]\ntempo = "brisk"\n', "unknown tempo"),
    ('[likes]\ntempo = [130, 70]\n', "bpm range"),
    ('[likes]\ntempo = ["slow", "fast"]\n', "no one range"),
    ('[likes]\ntempo = "fast"\n[dislikes]\ntempo = [100, 300]\n', "whole liked range"),
    ('[dislikes]\ntempo = "medium"\n', "two ranges"),
    ('[likes]\ncolours = ["blue"]\n', "unknown field 'colours'"),
    ('age = 40\n', "unknown field 'age'"),
])
def test_bad_profiles_are_one_line_input_errors(tmp_path: Path, doc: str, message: str) -> None:
    (tmp_path / "p.toml").write_text(doc)
    with pytest.raises(InputError, match=message):
        load_profile(tmp_path / "p.toml")


def test_the_profile_chooses_and_is_never_contradicted(tmp_path: Path) -> None:
    story_file, profile_file = _files(tmp_path)
    timeline, reading = story_timeline(story_file, profile_file)
    assert timeline.ensemble == "string-quartet"  # band is liked first, but also disliked
    assert reading.applied["epoch"]["value"] == "romantic" and reading.applied["tempo_range"]["bpm"] == [70, 120]
    segments = {s.name: s for s in timeline.segments}
    assert [s.name for s in timeline.segments] == ["Moving to Lisbon", "Grandpa", "Anna is born", "Back home"]
    assert segments["Anna is born"].tempo_bpm == 120  # joyful's 155 bpm, clamped to the top of the range
    assert segments["Grandpa"].tempo_bpm == 70 and segments["Grandpa"].mood == "sad"  # "slow": 66 -> 70
    assert segments["Back home"].tempo_bpm is None  # valence/arousal near 0: 100 bpm, inside the range
    assert all(s.epoch == "romantic" for s in timeline.segments)  # the text's baroque is disliked: dropped
    grandpa = reading.events[1]
    assert any("baroque" in n and "dislikes" in n for n in grandpa.notes)
    assert any("66 bpm" in n and "70 bpm" in n for n in grandpa.notes)
    lisbon = reading.events[0]  # no mood word, and no embedding stage here: calm, said so
    assert segments["Moving to Lisbon"].mood == "calm" and lisbon.mood_from == "default"
    assert any("no mood" in n and "calm" in n for n in lisbon.notes)
    # disliking every liked ensemble and the story's own falls back to one that is not disliked
    (tmp_path / "p2.toml").write_text('[likes]\nensembles = "piano"\ntempo = "slow"\n'
                                      '[dislikes]\nensembles = ["piano", "satb", "band"]\n')
    story = 'ensemble = "band"\n[[events]]\ndate = "2000"\ntitle = "a"\nmood = "joyful"\n'
    (tmp_path / "s2.toml").write_text(story)
    timeline, reading = story_timeline(tmp_path / "s2.toml", tmp_path / "p2.toml")
    assert timeline.ensemble not in ("piano", "satb", "band") and timeline.ensemble in ENSEMBLES
    assert timeline.segments[0].tempo_bpm == 76  # "slow" is 40-76 bpm
    assert timeline.segments[0].theme == "life"  # no theme named: the one event is framed by "life"
    every = ", ".join(f'"{name}"' for name in ENSEMBLES)
    (tmp_path / "p3.toml").write_text(f'[dislikes]\ntempo = "fast"\nensembles = [{every}]\n')
    with pytest.raises(InputError, match="dislikes every ensemble"):
        story_timeline(tmp_path / "s2.toml", tmp_path / "p3.toml")
    assert load_profile(tmp_path / "p2.toml").tempo_range == (40, 76)
    (tmp_path / "p4.toml").write_text('[dislikes]\ntempo = "fast"\n')
    assert load_profile(tmp_path / "p4.toml").tempo_range == (20, 120)  # disliking fast: anything below it


def test_without_themes_the_first_and_last_events_share_one() -> None:
    events = [{"date": f"20{10 + i}", "title": f"e{i}", "mood": m} for i, m in enumerate(("calm", "sad", "joyful"))]
    timeline, reading = story_timeline({"title": "t", "events": events})
    assert [s.theme for s in timeline.segments] == ["life", None, "life"]
    assert timeline.ensemble == "piano" and any("life" in n for n in reading.notes)
    assert all(s.tempo_bpm is None for s in timeline.segments)  # no profile: the moods' own tempi


def test_a_sentence_is_read_by_its_embedding_when_the_extra_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(prompt_embed.DISABLE_ENV)
    if prompt_embed.unavailable_reason():
        pytest.skip(prompt_embed.unavailable_reason())
    timeline, reading = story_timeline({"events": [{"date": "2012-07", "title": "Our wedding",
                                                    "text": "our wedding, dancing all night"}]})
    assert timeline.segments[0].mood == "joyful" and reading.events[0].embedding == "used"
    assert any("~" in n and "mood=joyful" in n for n in reading.events[0].notes)


def test_the_cli_writes_a_suite_one_movement_per_event(untrained: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    story_file, profile_file = _files(tmp_path)
    out = tmp_path / "suite"
    assert main(["soundtrack", "--story", str(story_file), "--profile", str(profile_file), "--out", str(out),
                 "--model", str(untrained), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    sheet = json.loads((out / "cues.json").read_text())
    cues = sheet["cues"]
    dates = ["2015", "2017-03", "2019-06-02", "2024-12-24"]
    assert [c["event"]["date"] for c in cues] == dates and [c["bars"] for c in cues] == [4, 2, 4, 4]
    assert [c["theme"] for c in cues] == ["home", None, "Anna", "home"]  # Lisbon and Back home share "home"
    assert sheet["themes"] == {"home": [0, 3], "Anna": [2]} and report["themes"] == sheet["themes"]
    movements = sorted((out / "movements").glob("*.mid"))
    assert [p.name for p in movements] == ["01-moving-to-lisbon.mid", "02-grandpa.mid", "03-anna-is-born.mid",
                                           "04-back-home.mid"]
    assert [c["movement_file"] for c in cues] == [str(p) for p in movements]
    whole = read_score(out / "soundtrack.mid")
    assert whole.bar_count == 14 and [p.name for p in whole.parts] == [v.name for v in
                                                                       ENSEMBLES["string-quartet"].voices]
    assert all(69.99 <= t.bpm <= 120.01 for t in whole.tempos)  # every tempo inside the liked range (MIDI: µs)
    starts = whole.bar_starts()
    tempo_at = {t.onset_ticks: round(t.bpm) for t in whole.tempos}
    assert tempo_at[int(starts[cues[2]["start_bar"] - 1])] == 120  # joyful, clamped at the top
    for cue, path in zip(cues, movements, strict=True):
        movement = read_score(path)
        assert movement.bar_count == cue["bars"] and round(movement.tempos[0].bpm) == round(cue["tempo_bpm"])
        assert cue["event"]["title"] in movement.metadata.title
    story = report["story"]
    assert story["title"] == "Lisbon years" and story["profile"]["ensemble"]["value"] == "string-quartet"
    assert "dislike" in story["profile"]["ensemble"]["why"]
    assert [e["title"] for e in story["events"]] == ["Moving to Lisbon", "Grandpa", "Anna is born", "Back home"]
    assert story["events"][1]["movement"]["file"] == str(movements[1]) and story["events"][1]["reading"]
    assert sheet["story"]["events"][0]["theme"] == "home"


def test_cli_mistakes_exit_2_with_one_line(untrained: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    story_file, profile_file = _files(tmp_path)
    (tmp_path / "bad.toml").write_text('[[events]]\ndate = "2000-13-01"\ntitle = "a"\nmood = "calm"\n')
    (tmp_path / "badp.json").write_text('{"likes": {"ensembles": ["kazoo"]}}')
    out = str(tmp_path / "o")
    for argv in (["--story", str(tmp_path / "bad.toml")],
                 ["--story", str(story_file), "--profile", str(tmp_path / "badp.json")],
                 ["--story", str(tmp_path / "missing.toml")],
                 ["--profile", str(profile_file)],
                 ["--story", str(story_file), "--timeline", "calm:4bars"],
                 ["--story", str(story_file), "--stream"]):
        capsys.readouterr()
        assert main(["soundtrack", *argv, "--out", out, "--model", str(untrained)]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err and "\n" not in err and "Traceback" not in err, argv
    assert not (tmp_path / "o" / "soundtrack.mid").exists()
