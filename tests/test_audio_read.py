"""Audio primers: recordings transcribed by basic-pitch (the optional ``audio`` extra) into Scores.

Real audio: scores rendered by Cadenza's own renderer (TinySoundFont when installed, else the built-in
synthesizer) are transcribed back, and the notes heard are matched against the notes written. Bad audio
files give one clear line and exit code 2. Tests that transcribe skip when the extra is not installed;
the message that names the install line is tested everywhere.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from cadenza.errors import InputError, LimitExceededError, UsageError
from cadenza.listen.key import key_signature_of
from cadenza.score import Part, Score, Tempo, TimeSignature, audio_read, read_score
from cadenza.score.audio_read import AUDIO_INSTALL, is_audio, sniff_audio
from cadenza.score.limits import ReadLimits
from cadenza.score.model import TICKS_PER_QUARTER as Q
from cadenza.score.read import READ_FORMATS, ReadResult, read_score_result

REPO = Path(__file__).resolve().parents[1]
HAS_AUDIO = not audio_read.missing_packages()
needs_audio = pytest.mark.skipif(not HAS_AUDIO, reason="the audio extra is not installed: " + AUDIO_INSTALL)


def _line(score: Score, part: int, bpm: float = 96.0) -> Score:
    notes = [(int(n["onset_ticks"]), int(n["duration_ticks"]), int(n["pitch"]), 90, 0)
             for n in score.notes if n["part"] == part]
    return Score.build(parts=[Part("Piano", 0)], notes=notes, time_signatures=score.time_signatures,
                       tempos=[Tempo(0, bpm)])


def _render(score: Score, path: Path) -> Path:
    from cadenza.render.audio import render_audio

    soundfile = pytest.importorskip("soundfile")
    wav = render_audio(score, path.with_suffix(".wav"), sample_rate=22050)
    if path.suffix != ".wav":
        data, rate = soundfile.read(str(wav))
        soundfile.write(str(path), data, rate)
    return path


def match(written: Score, heard: Score, tolerance_s: float = 0.12) -> tuple[float, float]:
    """(recall, precision) of notes heard at the written pitch and onset, the first onsets aligned."""
    ref = sorted(zip(np.asarray(written.seconds_at(written.notes["onset_ticks"])).tolist(),
                     written.notes["pitch"].tolist(), strict=True))
    got = sorted(zip(np.asarray(heard.seconds_at(heard.notes["onset_ticks"])).tolist(),
                     heard.notes["pitch"].tolist(), strict=True))
    shift = ref[0][0] - got[0][0]
    used = [False] * len(got)
    hits = 0
    for t, pitch in ref:
        for j, (u, p) in enumerate(got):
            if not used[j] and p == pitch and abs(u + shift - t) <= tolerance_s:
                used[j] = True
                hits += 1
                break
    return hits / len(ref), hits / max(len(got), 1)


# ------------------------------------------------------------------ recognising audio (no extra needed)
def test_audio_is_told_by_extension_or_content(tmp_path: Path) -> None:
    riff = b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt "
    assert sniff_audio(riff) and sniff_audio(b"fLaC\0\0\0") and sniff_audio(b"ID3\x04") and sniff_audio(b"OggS\0")
    assert sniff_audio(b"FORM\0\0\0\0AIFF") and sniff_audio(b"\xff\xfb\x90\x00")
    assert not sniff_audio(b"RIFF\0\0\0\0RMIDdata") and not sniff_audio(b"MThd") and not sniff_audio(b"")
    odd = tmp_path / "take1.bin"
    odd.write_bytes(riff + bytes(64))
    assert is_audio(odd, READ_FORMATS) and is_audio(tmp_path / "x.FLAC", READ_FORMATS)
    assert not is_audio(tmp_path / "x.mid", READ_FORMATS) and not is_audio(tmp_path / "missing.bin", READ_FORMATS)


def test_without_the_extra_the_error_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    song = tmp_path / "song.wav"
    with wave.open(str(song), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(22050)
        fh.writeframes(bytes(22050 * 2))
    monkeypatch.setattr(audio_read, "missing_packages", lambda: ["onnxruntime", "basic_pitch"])
    with pytest.raises(InputError) as caught:
        read_score(song)
    message = str(caught.value)
    assert "\n" not in message and AUDIO_INSTALL in message and "song.wav" in message
    with pytest.raises(UsageError, match="--tune"):
        read_score_result(song, tune="2")


def test_size_is_checked_before_anything_is_decoded(tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(b"RIFF" + bytes(2 * 2**20))
    with pytest.raises(LimitExceededError, match="--max-audio-mb"):
        read_score(big, ReadLimits(max_audio_mb=1))


# ------------------------------------------------------------------ transcription (the audio extra)
@needs_audio
def test_a_rendered_chorale_melody_is_heard_back(tmp_path: Path) -> None:
    soprano = _line(read_score("music21:bach/bwv66.6"), 0)
    result = read_score_result(_render(soprano, tmp_path / "soprano.wav"))
    heard = result.score
    recall, precision = match(soprano, heard)
    assert recall >= 0.8 and precision >= 0.7, (recall, precision)
    assert heard.tempos and abs(heard.tempos[0].bpm - 96) < 96 * 0.03
    assert str(heard.time_signatures[0]) == "4/4" and len(heard.parts) == 1
    grid = Q // 4
    assert not (heard.notes["onset_ticks"] % grid).any() and not (heard.notes["duration_ticks"] % grid).any()
    assert result.transcribed and not heard.key_signatures  # the key is the listener's to choose, not the reader's
    signature = key_signature_of(heard)
    assert signature is not None and signature.sharps == 3  # F♯ minor / A major
    assert any("basic-pitch" in w and "estimates" in w for w in result.warnings)


def test_the_public_reader_signs_a_transcription_with_the_key_heard(monkeypatch: pytest.MonkeyPatch) -> None:
    """cadenza.read_score adds the key signature that the score layer (beneath listening) leaves out, to a
    transcription only, and only where enough notes were heard."""
    import cadenza
    from cadenza import api

    scale = [(i * Q, Q, p, 90, 0) for i, p in enumerate([66, 68, 69, 71, 73, 74, 76, 78, 73, 66])]  # F♯ minor
    heard = Score.build(parts=[Part("Piano", 0)], notes=scale, time_signatures=[TimeSignature(0, 4, 4)])
    few = Score.build(parts=[Part("Piano", 0)], notes=scale[:3], time_signatures=[TimeSignature(0, 4, 4)])
    results = {"song.wav": ReadResult(heard, transcribed=True), "few.wav": ReadResult(few, transcribed=True),
               "score.mid": ReadResult(heard)}
    monkeypatch.setattr(api, "read_file", lambda source, *rest: results[str(source)])
    signed = cadenza.read_score("song.wav")
    assert [(k.sharps, k.mode) for k in signed.key_signatures] == [(3, "minor")]
    assert not api.read_score_result("few.wav").score.key_signatures  # too few notes to hear a key in
    assert not cadenza.read_score("score.mid").key_signatures  # a file's own (missing) signature is kept


@needs_audio
def test_a_waltz_with_a_bass_is_heard_in_three_with_two_hands(tmp_path: Path) -> None:
    melody = [60, 62, 64, 65, 67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 60, 55]
    notes = []
    for i, pitch in enumerate(melody * 2):
        notes.append((i * Q, Q, pitch, 120 if i % 3 == 0 else 50, 0))
        if i % 3 == 0:
            notes.append((i * Q, 3 * Q, pitch - 24, 110, 0))
    waltz = Score.build(parts=[Part("Piano", 0)], notes=notes, time_signatures=[TimeSignature(0, 3, 4)],
                        tempos=[Tempo(0, 120.0)])
    heard = read_score(_render(waltz, tmp_path / "waltz.flac"))
    recall, _ = match(waltz, heard)
    assert recall >= 0.8, recall
    assert str(heard.time_signatures[0]) == "3/4"
    assert [p.name for p in heard.parts] == ["Piano (right hand)", "Piano (left hand)"]
    low = heard.notes[heard.notes["part"] == 1]["pitch"]
    assert len(low) and low.max() < 60


def _bad_audio(folder: Path) -> dict[str, str]:
    """File name -> a phrase its one-line error must contain."""
    rng = np.random.default_rng(0)
    (folder / "random.wav").write_bytes(rng.bytes(5000))
    (folder / "random.mp3").write_bytes(rng.bytes(5000))
    (folder / "random.flac").write_bytes(b"fLaC" + rng.bytes(5000))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "midi.wav").write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 0, 480))
    with wave.open(str(folder / "long.wav"), "wb") as fh:  # 11 minutes of 8 kHz 8-bit silence: 5 MB
        fh.setnchannels(1)
        fh.setsampwidth(1)
        fh.setframerate(8000)
        fh.writeframes(bytes([128]) * 8000 * 660)
    with wave.open(str(folder / "silent.wav"), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(22050)
        fh.writeframes(bytes(22050 * 4))
    with wave.open(str(folder / "lowrate.wav"), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(1000)
        fh.writeframes(b"\x00\x10" * 3000)
    (folder / "header-only.wav").write_bytes((folder / "silent.wav").read_bytes()[:44])
    return {"random.wav": "cannot decode", "random.mp3": "cannot decode", "random.flac": "cannot decode",
            "empty.wav": "empty", "midi.wav": "cannot decode", "long.wav": "--max-audio-s",
            "silent.wav": "silent", "lowrate.wav": "sample rate", "header-only.wav": "too short"}


@needs_audio
def test_bad_audio_gives_one_line_and_exit_code_2(tmp_path: Path) -> None:
    for name, phrase in _bad_audio(tmp_path).items():
        run = subprocess.run([sys.executable, "-m", "cadenza", "info", str(tmp_path / name)], capture_output=True,
                             text=True, timeout=120, cwd=REPO)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1, (name, run.stderr)
        assert lines[0].startswith("cadenza: error:") and phrase in lines[0], (name, lines[0])


@needs_audio
def test_a_damaged_recording_reads_up_to_the_damage(tmp_path: Path) -> None:
    soprano = _line(read_score("music21:bach/bwv66.6"), 0)
    whole = _render(soprano, tmp_path / "whole.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2])  # the header still claims the whole length
    heard = read_score(cut)
    assert 8 <= heard.note_count <= 30


@needs_audio
def test_an_audio_primer_is_continued(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from cadenza.api import continue_
    from cadenza.model.checkpoint import new_model, save_checkpoint

    torch.manual_seed(3)
    model = save_checkpoint(new_model("tiny"), tmp_path / "tiny")
    soprano = _line(read_score("music21:bach/bwv66.6"), 0)
    primer = read_score(_render(soprano, tmp_path / "primer.wav"))
    made = continue_(tmp_path / "primer.wav", bars=2, model=model)
    assert made["result"]["new_bars"] == 2 and made["result"]["bars"] == primer.bar_count + 2
