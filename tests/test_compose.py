"""Composing: requests are read strictly, and what sampling enforces holds even for an untrained model (the
harshest test of the constraints): bar count, meter, key signature, parts, ranges and polyphony."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cadenza.cli import main  # noqa: E402
from cadenza.compose import ENSEMBLES, ComposeRequest, compose, continue_piece, resolve  # noqa: E402
from cadenza.compose.prompt import read_words  # noqa: E402
from cadenza.compose.request import parse_duration, parse_key  # noqa: E402
from cadenza.errors import UsageError  # noqa: E402
from cadenza.model.checkpoint import new_model, save_checkpoint  # noqa: E402
from cadenza.score import read_score  # noqa: E402


@pytest.fixture(scope="module")
def untrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(3)
    return save_checkpoint(new_model("tiny"), tmp_path_factory.mktemp("model") / "tiny")


def test_keys_meters_durations_and_names_are_read_strictly() -> None:
    assert parse_key("D minor").name == "D minor" and parse_key("D minor").sharps == -1
    assert parse_key("F# major").sharps == 6 and parse_key("Bb").name == "B♭ major" and parse_key("c#m").mode == "minor"
    assert parse_key("E♭ minor").sharps == -6
    assert parse_key("E-flat major").sharps == -3 and parse_key("F sharp minor").name == "F♯ minor"
    assert parse_duration("1:30") == 90 and parse_duration("90s") == 90 and parse_duration("2m") == 120
    for bad in (ComposeRequest(key="H minor"), ComposeRequest(meter="3/5"), ComposeRequest(ensemble="kazoo"),
                ComposeRequest(mood="grumpy"), ComposeRequest(composer="Nobody"), ComposeRequest(bars=0),
                ComposeRequest(mood="sad", valence=0.5, arousal=0.1), ComposeRequest(valence=0.5)):
        with pytest.raises(UsageError):
            resolve(bad)
    plan = resolve(ComposeRequest(composer="bach", tempo_bpm=60, valence=0.5, arousal=-0.5, duration_s=30,
                                  meter="3/4"))
    assert plan.labels["composer"] == "J. S. Bach" and plan.labels["mood"] == "calm"
    assert plan.labels["tempo_class"] == "adagio" and plan.bars == 10  # 30 s at 60 bpm in 3/4


def test_prompt_words_that_are_not_requests_are_left_alone() -> None:
    for text in ("a sad piece in a minor key", "a major seventh chord", "a thirty-two bar tune", "4 bar phrases",
                 "a calm beach at sunset", "the great composers", "2-3 minutes"):
        found, _ = read_words(text)
        assert not {"key", "bars", "composer", "duration_s"} & set(found), text
    assert read_words("E flat major, 1.5 minutes")[0] == {"key": "Eb major", "duration_s": 90.0}
    assert read_words("Clara Schumann")[0]["composer"] == "C. Schumann"
    assert resolve(ComposeRequest(prompt="a waltz, 30 bars", bars=8)).bars == 8  # the option wins, no clash


def test_prompt_words_become_labels_and_options_win() -> None:
    found, notes = read_words("A tender waltz for strings in D minor, 12 bars, Schubert")
    assert found["mood"] == "calm" and found["form"] == "waltz" and found["meter"] == "3/4"
    assert found["ensemble"] == "string-quartet" and found["key"] == "D minor" and found["bars"] == 12
    assert found["composer"] == "F. Schubert" and any("tender" in n for n in notes)
    plan = resolve(ComposeRequest(prompt="a sad chorale for choir in G major", key="A minor"))
    assert plan.key is not None and plan.key.name == "A minor"  # the option, not the prompt
    assert plan.labels["ensemble"] == "satb-choir" and plan.labels["mood"] == "sad"


def _max_onset_chord(notes: np.ndarray) -> int:
    return max((int((notes["onset_ticks"] == t).sum()) for t in np.unique(notes["onset_ticks"])), default=0)


@pytest.mark.parametrize("ensemble", ["string-quartet", "satb", "piano"])
def test_constraints_hold_even_for_an_untrained_model(untrained: Path, ensemble: str) -> None:
    made = compose(ComposeRequest(key="D minor", meter="3/4", ensemble=ensemble, bars=6, seed=5, tempo_bpm=84),
                   checkpoint=untrained)
    score = made.score
    voices = ENSEMBLES[ensemble].voices
    assert score.bar_count == 6 and score.length_ticks == 6 * 3 * 3360
    assert [str(t) for t in score.time_signatures] == ["3/4"]
    assert [(k.sharps, k.mode) for k in score.key_signatures] == [(-1, "minor")]
    assert [t.bpm for t in score.tempos] == [84.0]
    assert [p.name for p in score.parts] == [v.name for v in voices]
    assert score.note_count > 0
    for index, voice in enumerate(voices):
        mine = score.notes[score.notes["part"] == index]
        if len(mine):
            assert voice.low <= mine["pitch"].min() and mine["pitch"].max() <= voice.high
            assert _max_onset_chord(mine) <= voice.polyphony
            pairs = list(zip(mine["onset_ticks"].tolist(), mine["pitch"].tolist(), strict=True))
            assert len(pairs) == len(set(pairs))
            if voice.polyphony == 1:  # a single line: no overlaps
                assert (mine["onset_ticks"][1:] >= mine["onset_ticks"][:-1] + mine["duration_ticks"][:-1]).all()
    onsets = np.unique(score.notes["onset_ticks"])
    last_bar = int(score.bar_starts()[-1])
    before_last = onsets[onsets < last_bar]
    # no density asked: the music keeps moving, a new note within three beats, until the last bar's chord
    assert (np.diff(np.append(before_last, last_bar)) <= 3 * 3360).all()
    report = made.report
    assert report["adherence"]["meter"]["met"] and report["plan"]["bars"] == 6
    assert len(report["model"]["hash"]) == 16 and report["timings"]["candidates"][0]["seed"] == 5


@pytest.mark.parametrize("request_", [ComposeRequest(key="E♭ major", tempo_bpm=120, bars=5, seed=1, ensemble="any"),
                                      ComposeRequest(ensemble="band", bars=4, seed=2),
                                      ComposeRequest(bars=4, seed=3, mood="joyful", ensemble="any")])
def test_without_a_meter_or_ensemble_the_model_chooses_but_bars_hold(untrained: Path,
                                                                      request_: ComposeRequest) -> None:
    score = compose(request_, checkpoint=untrained).score
    assert score.bar_count == request_.bars
    assert len(score.time_signatures) == 1  # one meter, stated at the start, kept
    assert score.length_ticks == request_.bars * score.time_signatures[0].bar_ticks
    assert len(score.parts) <= (5 if request_.ensemble == "band" else 8)
    if request_.key:
        assert [(k.sharps, k.mode) for k in score.key_signatures] == [(-3, "major")]
        assert [t.bpm for t in score.tempos] == [120.0]


def test_the_same_seed_gives_the_same_piece(untrained: Path) -> None:
    a = compose(ComposeRequest(ensemble="piano", bars=3, seed=9), checkpoint=untrained).score
    b = compose(ComposeRequest(ensemble="piano", bars=3, seed=9), checkpoint=untrained).score
    c = compose(ComposeRequest(ensemble="piano", bars=3, seed=10), checkpoint=untrained).score
    assert a == b and a != c


def test_continuation_keeps_the_primer_and_its_frame(untrained: Path) -> None:
    primer = read_score("music21:bach/bwv66.6")
    made = continue_piece(primer, ComposeRequest(seed=2), bars=3, checkpoint=untrained)
    score = made.score
    assert score.bar_count == primer.bar_count + 3
    assert [p.name for p in score.parts] == [p.name for p in primer.parts]
    assert score.time_signatures == primer.time_signatures and score.key_signatures == primer.key_signatures
    assert np.array_equal(score.notes[score.notes["onset_ticks"] < primer.length_ticks], primer.notes)
    assert made.report["result"]["new_bars"] == 3


def test_cli_writes_the_piece_renders_and_report(untrained: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "q.mid"
    code = main(["compose", "--key", "D minor", "--meter", "3/4", "--ensemble", "string-quartet", "--bars", "4",
                 "--seed", "1", "-o", str(out), "--render", "musicxml", "--model", str(untrained), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert Path(report["files"]["piece"]) == out and out.is_file() and (tmp_path / "q.musicxml").is_file()
    assert json.loads((tmp_path / "q.cadenza.json").read_text())["seed"] == 1
    assert read_score(out).bar_count == 4
    assert main(["compose", "--meter", "7/5", "--model", str(untrained), "-o", str(tmp_path / "x.mid")]) == 2
    assert main(["compose", "--render", "gif", "--model", str(untrained), "-o", str(tmp_path / "x.mid")]) == 2
    assert main(["compose", "--model", str(untrained), "-o", str(tmp_path / "x.txt")]) == 2
    (tmp_path / "file").write_text("")
    assert main(["compose", "--model", str(untrained), "-o", str(tmp_path / "file" / "x.mid")]) == 2
    assert main(["compose", "--duration", "0", "--model", str(untrained), "-o", str(tmp_path / "x.mid")]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("density", ["low", "medium", "high"])
def test_density_holds_by_construction_even_for_an_untrained_model(untrained: Path, density: str) -> None:
    from cadenza.compose.generate import listen_blind
    from cadenza.score.ops import slice_bars

    made = compose(ComposeRequest(density=density, meter="4/4", bars=6, seed=4), checkpoint=untrained)
    onsets = np.unique(made.score.notes["onset_ticks"])
    gaps = np.diff(onsets) / 3360  # in beats (quarters)
    if density == "low":
        assert (gaps >= 1.0 - 1 / 48).all()
    if density == "medium":
        assert ((gaps >= 0.5 - 1 / 48) & (gaps <= 0.8)).all()
    if density == "high":
        assert (gaps <= 0.45).all()
    # heard in the bars that move: the last is the final chord, held (one onset in six bars' texture)
    moving = slice_bars(made.score, 0, made.score.bar_count - 1)
    assert listen_blind(moving)["density"] == density
    last_bar = made.score.notes["onset_ticks"] >= made.score.bar_starts()[-1]
    assert len(np.unique(made.score.notes["onset_ticks"][last_bar])) == 1


def test_a_mood_brings_its_key_tempo_density_and_dynamics(untrained: Path) -> None:
    sad = resolve(ComposeRequest(mood="sad", seed=1))
    assert sad.key is not None and sad.key.mode == "minor" and sad.tempo_bpm is not None and sad.tempo_bpm < 70
    assert "density" not in sad.labels and {"key", "tempo_bpm"} <= sad.implied  # its texture is the style's
    tense = resolve(ComposeRequest(mood="tense", seed=1))
    assert tense.labels["density"] == "medium" and "density" in tense.implied  # an eighth-note pulse
    kept = resolve(ComposeRequest(mood="sad", key="G major", tempo_bpm=120, density="high"))
    assert kept.key is not None and kept.key.name == "G major" and kept.labels["density"] == "high"
    made = compose(ComposeRequest(mood="joyful", bars=4, seed=2), checkpoint=untrained)
    velocities = made.score.notes["velocity"]
    assert velocities.min() >= 80 and made.report["plan"]["ensemble"] == "piano"  # loud, and two hands
    assert len(made.score.parts) == 2


def test_a_continuation_leans_to_its_key_without_writing_or_framing_it() -> None:
    from cadenza.compose.constraints import PlanConstraint

    e_minor = parse_key("E minor")
    leaning = PlanConstraint(4, [(40, 80)], scale_key=e_minor)
    assert leaning.key is None  # no key signature is written: the primer's stays
    f_natural, e, d_sharp, g = 65, 64, 63, 67
    assert leaning.pitch_bias[f_natural] < 0 < leaning.pitch_bias[e] and leaning.pitch_bias[d_sharp] == 0
    assert np.array_equal(leaning.framing_bias, leaning.pitch_bias)  # every chunk's last bar is not a cadence
    asked = PlanConstraint(4, [(40, 80)], key=e_minor)
    assert asked.framing_bias[g] > asked.pitch_bias[g]  # a requested key's piece starts and ends home
    assert not PlanConstraint(4, [(40, 80)]).pitch_bias.any()


def test_a_density_that_leaves_no_room_in_the_bar_ends_it_rather_than_restriking_a_tick_later() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose

    # these two once struck their last chord again and again a few ticks apart (2 and 15 near-onsets)
    for ensemble, seed in (("piano", 0), ("string-quartet", 3)):
        made = compose(ComposeRequest(ensemble=ensemble, density="low", seed=seed, bars=8, guard=False))
        onsets = np.unique(made.score.notes["onset_ticks"])
        assert (np.diff(onsets) >= 70).all(), ensemble


def test_strings_keep_their_eighth_rests_and_a_quartet_its_sixteenth_rests_where_voices_are_joined() -> None:
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.finish import legato_lines
    from cadenza.score.model import TICKS_PER_QUARTER as Q
    from cadenza.score.model import Part, Score, TimeSignature

    def lines_after(voices: tuple, rhythm: list[tuple[int, int]]) -> list[int]:
        notes = [(onset, length, 72 + i % 3 - 12 * part, 80, part) for part in range(2)
                 for i, (onset, length) in enumerate(rhythm)]
        score = Score.build(parts=[Part(v.name, v.program) for v in voices], notes=notes,
                            time_signatures=[TimeSignature(0, 4, 4)], length_ticks=8 * Q)
        made = legato_lines(score, voices)
        return made.notes["duration_ticks"][made.notes["part"] == 0].tolist()

    # quarters, then an eighth note and an eighth rest, a note and a sixteenth's rest, quarters again
    phrase = [(0, Q), (Q, Q), (2 * Q, Q), (3 * Q, Q // 2), (4 * Q, 3 * Q // 4), (5 * Q, Q), (6 * Q, Q), (7 * Q, Q)]
    quartet, choir = ENSEMBLES["string-quartet"].voices[:2], ENSEMBLES["satb"].voices[:2]
    orchestra = tuple(v for v in ENSEMBLES["orchestra"].voices if v.name.startswith("Violin"))
    assert lines_after(quartet, phrase) == [Q, Q, Q, Q // 2, 3 * Q // 4, Q, Q, Q]  # both rests stay
    assert lines_after(orchestra, phrase) == [Q, Q, Q, Q // 2, Q, Q, Q, Q]  # the eighth rest stays; a 16th's joined
    assert lines_after(choir, phrase) == [Q] * 8  # a singer's line is joined across both
    # a line that rests after most of its notes (eighth, eighth rest, ...) plays detached: written as quarters
    detached = [(beat * Q, Q // 2) for beat in range(8)]
    assert lines_after(quartet, detached) == [Q] * 7 + [Q // 2]


def test_a_medieval_piece_is_for_three_voices_in_their_ranges_and_heard_so() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.request import resolve

    assert resolve(ComposeRequest(epoch="medieval")).ensemble == ENSEMBLES["voices"]
    from cadenza.compose.prompt import read_words

    assert read_words("a chanson for three voices")[0]["ensemble"] == "voices"
    assert read_words("a hymn for choir and voices")[0]["ensemble"] == "satb"
    heard = []
    for seed in (3, 4, 5):  # the epoch is heard in most pieces, not in every one (7 of 8 seeds)
        made = compose(ComposeRequest(epoch="medieval", bars=8, seed=seed, guard=False))
        voices = ENSEMBLES["voices"].voices
        assert [p.name for p in made.score.parts] == ["Cantus", "Contratenor", "Tenor"]
        for index, voice in enumerate(voices):
            pitches = made.score.notes["pitch"][made.score.notes["part"] == index]
            assert len(pitches) and voice.low <= pitches.min() and pitches.max() <= voice.high
        assert made.heard["ensemble"] == "voices"
        heard.append(made.heard["epoch"])
    assert heard.count("medieval") >= 2, heard



def test_a_romantic_or_modern_piece_is_a_song_for_voice_and_piano_as_the_corpus_lieder_are() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.ensembles import ENSEMBLES, ensemble
    from cadenza.compose.prompt import read_words
    from cadenza.compose.request import resolve

    song = ENSEMBLES["song"]
    for epoch in ("romantic", "modern"):
        assert resolve(ComposeRequest(epoch=epoch)).ensemble == song
    assert read_words("a lied for voice and piano")[0]["ensemble"] == "song" and ensemble("Lied") == song
    made = compose(ComposeRequest(epoch="romantic", key="E major", bars=8, seed=2, guard=False))
    assert [p.name for p in made.score.parts] == ["Voice", "Piano", "Piano"]
    voice = made.score.notes[made.score.notes["part"] == 0]["pitch"]
    assert len(voice) >= 8 and song.voices[0].low <= voice.min() and voice.max() <= song.voices[0].high
    assert made.heard["ensemble"] == "chamber"  # how listen names a voice with piano (the corpus' Lieder)
    # the voice carries the tune: it sings in every bar, and its first bars come back as the period's a′
    starts = made.score.bar_starts()
    sung = made.score.notes[made.score.notes["part"] == 0]
    bar_of = np.searchsorted(starts, sung["onset_ticks"], side="right") - 1
    assert set(bar_of.tolist()) == set(range(8))
    for bar in (0, 1):
        assert sung["pitch"][bar_of == bar].tolist() == sung["pitch"][bar_of == bar + 4].tolist()


def test_a_song_may_open_with_a_piano_introduction_and_the_voice_enters_after_it_on_the_planned_phrases() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose

    made = compose(ComposeRequest(ensemble="song", key="D minor", bars=16, seed=1, guard=False))
    plan = made.report["plan"]
    assert plan["intro_bars"] == 2 and any("piano introduction of 2 bars" in note for note in plan["prompt_reading"])
    assert plan["cadences"] == ["half@10", "authentic@16"]  # a phrase of eight bars after it, then one of six
    assert plan["returns"] == {"bar 11": "bar 3", "bar 12": "bar 4"}
    notes, starts = made.score.notes, made.score.bar_starts()
    bar_of = np.searchsorted(starts, notes["onset_ticks"], side="right") - 1
    sung = notes["part"] == 0
    assert bar_of[sung].min() == 2 and set(bar_of[~sung].tolist()) >= {0, 1}  # the piano alone in bars 1-2
    for bar in (2, 3):  # the period's a′ opens with the tune's first two bars, sung after the introduction
        assert notes["pitch"][sung & (bar_of == bar)].tolist() == notes["pitch"][sung & (bar_of == bar + 8)].tolist()
    assert "half@10" in made.heard["cadences"]  # (how often the close is heard: the craft benchmark's measure)
    plain = compose(ComposeRequest(ensemble="song", key="D minor", bars=16, seed=3, guard=False))
    sung_first = plain.score.notes["onset_ticks"][plain.score.notes["part"] == 0].min()
    assert plain.report["plan"]["intro_bars"] == 0 and sung_first < plain.score.bar_starts()[1]  # sung at once


def test_an_output_already_there_is_replaced_with_a_warning_and_a_read_only_one_is_kept(
        untrained: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cadenza import api
    from cadenza.errors import OutputError
    from cadenza.score.write import write_score

    out = tmp_path / "piece.mid"
    api.compose(output=out, formats=["musicxml"], model=untrained, bars=2, seed=1, guard=False)
    with caplog.at_level(logging.WARNING, logger="cadenza.api"):
        api.compose(output=out, formats=["musicxml"], model=untrained, bars=2, seed=2, guard=False)
    assert "replacing what is there" in caplog.text and "piece.musicxml" in caplog.text
    (tmp_path / "piece.cadenza.json").chmod(0o444)  # the user keeps this one
    before = (tmp_path / "piece.cadenza.json").read_bytes()
    with pytest.raises(OutputError, match="read-only: not replaced"):
        api.compose(output=out, model=untrained, bars=2, seed=3, guard=False)
    assert (tmp_path / "piece.cadenza.json").read_bytes() == before
    out.chmod(0o444)  # any writer refuses it too, whoever runs it
    with pytest.raises(OutputError, match="read-only"):
        write_score(api.read_score(tmp_path / "piece.musicxml"), out)


def test_a_request_that_fails_warns_of_no_file_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The warning that names a file about to be replaced comes as it is written: a request that fails after its
    output was checked (a reference that is not there) replaces nothing and names nothing."""
    import logging

    from cadenza import api
    from cadenza.errors import CadenzaError

    out = tmp_path / "piece.mid"
    out.write_bytes(b"MThd")
    with caplog.at_level(logging.WARNING, logger="cadenza.api"), pytest.raises(CadenzaError, match=r"missing\.mid"):
        api.compose(bars=2, seed=1, output=out, like=tmp_path / "missing.mid")
    assert "replacing" not in caplog.text and out.read_bytes() == b"MThd"


def test_convert_names_a_file_it_replaces_and_keeps_a_read_only_one(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from cadenza import api
    from cadenza.errors import OutputError

    source = tmp_path / "in.abc"
    source.write_text("X:1\nT:t\nM:2/4\nL:1/8\nK:G\nGABc dedB|\n", encoding="utf-8")
    out = tmp_path / "out.mid"
    api.convert(source, out)
    with caplog.at_level(logging.WARNING, logger="cadenza.api"):
        api.convert(source, out)
    assert "replacing what is there" in caplog.text and "out.mid" in caplog.text
    out.chmod(0o444)
    before = out.read_bytes()
    with pytest.raises(OutputError, match="read-only"):
        api.convert(source, out)
    assert out.read_bytes() == before


def test_a_lead_sheets_chords_are_block_chords_on_the_beats_held_to_the_next() -> None:
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    made = compose(ComposeRequest(ensemble="lead-sheet", epoch="folk", key="G major", bars=8, seed=2, guard=False))
    score = made.score
    chords = score.notes[score.notes["part"] == 1]
    onsets = np.unique(chords["onset_ticks"])
    beat = 3360 if score.time_signatures[0].denominator == 4 else 1680 * 3
    assert len(onsets) >= 8 and (onsets % beat == 0).all()  # struck on beats, never between them
    assert set(score.bar_starts().tolist()) <= set(onsets.tolist())  # a chord at every change (folk: each bar)
    ends = chords["onset_ticks"] + chords["duration_ticks"]
    following = np.append(onsets, score.length_ticks)[np.searchsorted(onsets, chords["onset_ticks"], side="right")]
    assert (ends == following).all()  # held to the next chord: no rests, no running figure
    # each chord stands on a low bass note (the Nottingham tunes' lowest chord notes: 38-42 on average; ours
    # stood on 51 before CHORD_BASS_NATS)
    lowest = np.minimum.reduceat(chords["pitch"], np.searchsorted(chords["onset_ticks"], onsets))
    assert lowest.mean() <= 47


def test_a_lead_sheets_chords_stay_on_the_beats_where_the_tune_returns() -> None:
    """Where the strain returns, the melody strikes only the theme's onsets; the chord rule, which left the cells
    between beats open wherever the melody might come, let the chord part take two sixteenths off the beat in bar
    14 of this piece (the craft benchmark's lead sheet) when the theme forbade the melody there."""
    pytest.importorskip("torch")
    from cadenza.compose import ComposeRequest, compose
    from cadenza.listen.features import beat_ticks_of

    made = compose(ComposeRequest(ensemble="lead-sheet", epoch="folk", key="D minor", bars=16, seed=1))
    chords = made.score.notes[made.score.notes["part"] == 1]
    assert made.report["plan"]["returns"]["bar 14"] == "bar 6"
    assert len(chords) > 16 and (chords["onset_ticks"] % beat_ticks_of(made.score.time_signatures[0]) == 0).all()


def test_the_step_budget_keeps_room_for_the_last_chord_until_the_last_bar() -> None:
    from cadenza.compose.constraints import PlanConstraint

    quartet = PlanConstraint(16, [(40, 96)] * 4, polyphony=[2, 2, 2, 2], step_limit=1000)
    quartet.bars_started = 15  # the bar before the last: its bar line, the 8 notes of the last chord, the end
    assert quartet._steps_owed() == 1 + 8 + 2
    quartet.bars_started = 16  # the last bar has begun: its chord is being written; only the end is owed
    assert quartet._steps_owed() == 2
    free = PlanConstraint(16, [(21, 108)] * 2, step_limit=1000)  # parts the model declares: 128 notes at once
    assert free._steps_owed() == 16 + 16 + 2



def test_a_key_left_open_is_drawn_for_the_style_and_planned_from_the_first_bar() -> None:
    from collections import Counter

    from cadenza.compose.keys import key_table, style_key

    drawn = Counter(abs(style_key("classical", seed)[0].sharps) for seed in range(300))
    assert sum(n for sharps, n in drawn.items() if sharps <= 4) >= 0.9 * 300  # C# major is a rarity, not a coin toss
    modes = Counter(style_key("classical", seed)[0].mode for seed in range(300))
    assert 0.6 < modes["major"] / 300 < 0.95  # classical works: about three in four in major
    assert key_table("no-such-epoch")[0] == "all" and key_table("baroque")[0] == "epoch=baroque"
    made = compose(ComposeRequest(ensemble="string-quartet", epoch="classical", bars=8, seed=1, guard=False))
    plan = made.report["plan"]
    assert plan["key"] and any(note.startswith("classical works -> key") for note in plan["prompt_reading"])
    signature = made.score.key_signatures[0]
    assert signature.onset_ticks == 0 and (signature.sharps - parse_key(plan["key"]).sharps) % 12 == 0
    assert plan["cadences"] == ["half@4", "authentic@8"]  # planned from the first bar, as an asked key is
    assert compose(ComposeRequest(ensemble="string-quartet", epoch="classical", bars=8, seed=1, key="E major",
                                  guard=False)).report["plan"]["key"] == "E major"  # an asked key stays


def test_a_keyboard_hand_is_written_as_a_pianist_reads_it() -> None:
    from cadenza.compose.ensembles import ENSEMBLES
    from cadenza.compose.finish import keyboard_hands
    from cadenza.score.model import Part, Score

    s = 840  # a sixteenth's ticks
    notes = [(0, 2 * s, 72, 80, 0), (0, 2 * s, 76, 80, 0),  # an eighth chord under a chord a sixteenth later
             (s, s, 74, 80, 0), (s, s, 77, 80, 0),
             (2 * s, s, 76, 80, 0),  # then a sixteenth rest: filled
             (4 * s, 16 * s, 48, 80, 1), (4 * s, s, 79, 80, 0),  # a bass held under a running figure: kept
             (5 * s, s, 55, 80, 1), (6 * s, s, 52, 80, 1), (12 * s, 4 * s, 60, 80, 0)]
    score = Score.build([Part("Piano"), Part("Piano")], notes)
    written = keyboard_hands(score, ENSEMBLES["piano"].voices)
    got = {(int(n["onset_ticks"]), int(n["pitch"])): int(n["duration_ticks"]) for n in written.notes}
    assert got[(0, 72)] == got[(0, 76)] == s  # ends where the hand strikes again: no second layer
    assert got[(2 * s, 76)] == 2 * s  # the sixteenth rest before the next stroke is the note held
    assert got[(4 * s, 48)] == 16 * s  # held on under the figure for more than a beat: as written
    assert got[(4 * s, 79)] == s  # a rest of a beat and more before the next stroke stays


def test_a_strings_double_stop_spans_an_octave_at_most() -> None:
    """Seed 7 of a classical quartet had a first violin's D5 under F#6 and a cello's D2 under F#3 (tenths beyond
    the octave): no string player stops those at once; two notes of a part at once now lie within an octave."""
    from cadenza.compose import ComposeRequest, compose

    stops = 0
    for seed in (7, 9):  # (seed 7 writes one now; seed 9 writes 24)
        notes = compose(ComposeRequest(ensemble="string-quartet", epoch="classical", bars=16, seed=seed)).score.notes
        for part in range(4):
            mine = notes[notes["part"] == part]
            for onset in np.unique(mine["onset_ticks"]):
                pitches = mine["pitch"][mine["onset_ticks"] == onset]
                if len(pitches) > 1:
                    stops += 1
                    assert pitches.max() - pitches.min() <= 12, (seed, part, onset, pitches)
    assert stops > 5


def test_the_title_spells_the_key_as_its_signature_is_written() -> None:
    from cadenza.compose.generate import title_for

    # G-sharp minor's five sharps were titled "in A♭ minor"
    for asked, said in (("G# minor", "G♯ minor"), ("Ab minor", "A♭ minor"), ("C# major", "C♯ major"),
                        ("Db major", "D♭ major"), ("Eb minor", "E♭ minor")):
        assert title_for(resolve(ComposeRequest(key=asked, mood="tense"))) == f"Tense piece in {said}"


def test_a_moods_register_moves_the_upper_parts_and_leaves_the_bass_its_floor() -> None:
    from cadenza.compose.mood import mood_shape

    # a calm or joyful quartet's cello was drawn up to middle C and above (its mean pitch 61-64; the real
    # quartets' lowest line lies at 47-53), a sad one's down to G2
    means = []
    for mood in ("calm", "joyful"):
        for seed in (1, 2, 3):
            score = compose(ComposeRequest(ensemble="string-quartet", mood=mood, bars=8, seed=seed)).score
            means.append(score.notes["pitch"][score.notes["part"] == len(score.parts) - 1].mean())
    assert 45 <= np.median(means) <= 57
    joyful = mood_shape(0.8, 0.6)
    assert np.argmax(joyful.register_bias(36, 76, moved=False)) == 56 < np.argmax(joyful.register_bias(36, 76))


def test_a_quartets_first_violin_keeps_under_its_usual_ceiling() -> None:
    """24 quartet openings put a twentieth of the first violins' notes above MIDI 84; ours, free above, with the
    climax leaning the tune up, climbed and stayed (D minor, 3/4, seeds 1-6, 8 bars: 15% of the notes above 84
    on average, one piece 62%, two reaching A6). Each semitone above 84 now costs registers.REGISTER_NATS. (Seed 6,
    a scherzo at 216 bpm written in eighths since sixteenths there are too fast to play, touches D6 at the top of
    its figures: 6 of 28 notes.)"""
    shares = []
    for seed in range(1, 7):
        score = compose(ComposeRequest(ensemble="string-quartet", key="D minor", meter="3/4", bars=8, seed=seed,
                                       guard=False)).score
        first = score.notes["pitch"][score.notes["part"] == 0]
        shares.append(float((first > 84).mean()))
    assert np.mean(shares) < 0.06 and max(shares) < 0.25
    assert ENSEMBLES["string-quartet"].voices[0].usual_high == 84


def test_a_songs_left_hand_keeps_above_c2() -> None:
    """24 Lieder put a twentieth of the piano's left-hand notes below B1 (35); ours, free down to C1, wrote bars of
    octaves on E1-E2 (E major, seeds 1-6, 8 bars: 7% of the left hand's notes below C2)."""
    low, total = 0, 0
    for seed in range(1, 7):
        score = compose(ComposeRequest(ensemble="song", key="E major", bars=8, seed=seed, guard=False)).score
        left = score.notes["pitch"][score.notes["part"] == 2]
        low, total = low + int((left < 36).sum()), total + len(left)
    assert low / total < 0.03
    assert ENSEMBLES["song"].voices[2].usual_low == 36


def test_a_double_stops_upper_note_on_the_last_chord_is_a_tonic_chord_tone() -> None:
    """A classical D-minor quartet (the craft benchmark's seed 1): the second violin's A lay under the first
    violin's D, the chord's missing F was only below the A, the rule gave way, and the double stop's upper note
    was a C-sharp over the final D-minor chord. A missing tone is sought inside the part's window now, and a part
    adds a note to the last chord only where a chord tone no part sounds is left (else it doubled the first
    violin's D in unison)."""
    from cadenza.listen.craft import craft

    score = compose(ComposeRequest(ensemble="string-quartet", epoch="classical", key="D minor", bars=16,
                                   seed=1)).score
    assert craft(score, (2, "minor"))["ends_on_tonic"] == 1.0
    last = score.notes[score.notes["onset_ticks"] == score.notes["onset_ticks"].max()]
    assert {int(p) % 12 for p in last["pitch"]} <= {2, 5, 9} and len(set(last["pitch"].tolist())) == len(last)


def test_no_key_is_struck_again_while_it_is_held() -> None:
    """A piano's held note under its figures met the figure's own note (a tense C-minor piece, seed 22: 35 notes
    struck while held, its MusicXML in 6 voices and 23 ties); a note ends where its part strikes its pitch again,
    and the same note struck twice at one instant is written once."""
    from cadenza.compose.finish import no_held_restrikes
    from cadenza.score.model import Part, Score

    q = 3360
    score = Score.build([Part("Piano"), Part("Cello", 42)],
                        [(0, 4 * q, 48, 80, 0), (q, q, 48, 80, 0), (q, q, 48, 70, 0), (q, q, 60, 80, 0),
                         (0, 4 * q, 48, 80, 1)], [])
    written = no_held_restrikes(score)
    rows = sorted((int(n["part"]), int(n["onset_ticks"]), int(n["duration_ticks"]), int(n["pitch"]))
                  for n in written.notes)
    assert rows == [(0, 0, q, 48), (0, q, q, 48), (0, q, q, 60), (1, 0, 4 * q, 48)]
    piece = compose(ComposeRequest(ensemble="piano", mood="tense", epoch="romantic", key="C minor", bars=16,
                                   seed=22)).score
    for part in range(len(piece.parts)):
        for pitch in np.unique(piece.notes["pitch"][piece.notes["part"] == part]):
            same = piece.notes[(piece.notes["part"] == part) & (piece.notes["pitch"] == pitch)]
            assert (same["onset_ticks"][:-1] + same["duration_ticks"][:-1] <= same["onset_ticks"][1:]).all()


def test_a_quartets_viola_and_cello_double_stop_now_and_then_not_on_every_beat() -> None:
    """Real quartets' violas and cellos strike two notes at once at 1.4% and 0.3% of their onsets (the first 16
    bars of 24 movements); ours did at 21.6% and 17.8%, in thirds, sixths and seconds (calm, 8 bars, seeds 1-4:
    33 of 98 onsets before the last bar). A bowed part pays double_stops.DOUBLE_STOP_NATS for a second note."""
    stops = onsets = 0
    for seed in (1, 2, 3, 4):
        score = compose(ComposeRequest(ensemble="string-quartet", mood="calm", bars=8, seed=seed, guard=False)).score
        last_bar = score.bar_starts()[-1]
        for part in (2, 3):
            notes = score.notes[(score.notes["part"] == part) & (score.notes["onset_ticks"] < last_bar)]
            _, counts = np.unique(notes["onset_ticks"], return_counts=True)
            stops, onsets = stops + int((counts >= 2).sum()), onsets + len(counts)
    assert onsets > 40 and stops / onsets < 0.05


def test_a_continuation_writes_its_notes_on_the_notation_grid(tmp_path: Path) -> None:
    """A continuation is sampled without the part-writing rules, and it had no notation grid either: a 12/8 folk
    lead sheet continued by 4 bars struck its final chord 35 and 56 ticks after the downbeat, and its MusicXML,
    quantized, wrote the piece's dotted values as sextuplets. Its new notes now lie on the grid."""
    import cadenza
    from cadenza.score.musicxml_write import musicxml_bytes, writable_as_is
    from cadenza.tokens.events import FINE

    primer = compose(ComposeRequest(ensemble="lead-sheet", epoch="folk", key="G major", bars=16, seed=3)).score
    path = cadenza.write_score(primer, tmp_path / "folk.mid")
    continued = cadenza.continue_(path, bars=4).score
    new = continued.notes[continued.notes["onset_ticks"] >= primer.length_ticks]
    assert len(new) and not (new["onset_ticks"] % FINE).any()
    assert writable_as_is(continued) and b"<time-modification>" not in musicxml_bytes(continued)


def test_a_lead_sheets_chords_are_struck_whole() -> None:
    """339 of 360 chord-part strikes of 12 lead sheets held fewer than three pitch classes (a bass note, an
    octave, a bare fifth: A2 E3 A3 left no room for the third within the hand), and the chord symbols were named
    from the tune above them; the real Nottingham lead sheets strike none so thin (cadenza.compose.lead_sheet)."""
    thin = total = 0
    for seed in (1, 2, 3):
        notes = compose(ComposeRequest(ensemble="lead-sheet", bars=8, seed=seed)).score.notes
        chords = notes[notes["part"] == 1]
        for onset in np.unique(chords["onset_ticks"]):
            total += 1
            thin += len(set((chords["pitch"][chords["onset_ticks"] == onset] % 12).tolist())) < 3
    assert thin / total < 0.15, (thin, total)
