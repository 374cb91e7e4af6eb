"""Soundfont synthesis: TinySoundFont in-process (the default), or the FluidSynth program when asked.

The soundfont is the General MIDI ``TimGM6mb.sf2`` that ships inside the ``pretty_midi`` package; it is
found in pretty_midi's installed folder at run time and never copied. Install the pieces with::

    pip install pretty_midi
    pip install --no-deps tinysoundfont   # its pyaudio dependency is only for live playback

Each melodic part gets its own MIDI channel (drum parts share channel 10, index 9); a score with more
than 15 melodic parts is rendered in groups of 15 channels and the groups are summed.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cadenza.errors import RenderError
from cadenza.render.common import note_times, package_folder, require
from cadenza.score.model import Part, Score

log = logging.getLogger(__name__)

DRUM_CHANNEL = 9
MELODIC_CHANNELS = tuple(c for c in range(16) if c != DRUM_CHANNEL)

#: where Debian's soundfont packages put a General MIDI soundfont (used by the fluidsynth engine first)
SYSTEM_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/soundfonts/default.sf2"),
)

_TSF_GAIN_DB = -6.0  # headroom inside the synth; the result is normalised afterwards anyway
_BYTES_PER_FRAME = 2 * 4  # stereo float32


def pretty_midi_soundfont() -> Path | None:
    """The General MIDI soundfont inside the installed pretty_midi package, or None."""
    folder = package_folder("pretty_midi")
    if folder is None or not folder.is_dir():
        return None
    found = sorted(folder.glob("*.sf2"))
    return found[0] if found else None


def find_soundfont(soundfont: str | os.PathLike[str] | None = None, prefer_system: bool = False) -> Path | None:
    """The soundfont to use: the one given (which must exist), else pretty_midi's, else a system one
    (system first when ``prefer_system``). None when there is none."""
    if soundfont is not None:
        path = Path(soundfont)
        if not path.is_file():
            raise RenderError(f"soundfont {path} does not exist")
        return path
    system = next((p for p in SYSTEM_SOUNDFONTS if p.is_file()), None)
    bundled = pretty_midi_soundfont()
    return (system or bundled) if prefer_system else (bundled or system)


def channel_groups(parts: Sequence[Part], part_indices: Sequence[int]) -> list[dict[int, int]]:
    """Part index -> MIDI channel, in groups that each fit in 16 channels: every melodic part has its own
    channel, drum parts share channel 10 (in the first group)."""
    groups: list[dict[int, int]] = [{}]
    used = 0
    for index in part_indices:
        if parts[index].is_drum:
            groups[0][index] = DRUM_CHANNEL
            continue
        if used == len(MELODIC_CHANNELS):
            groups.append({})
            used = 0
        groups[-1][index] = MELODIC_CHANNELS[used]
        used += 1
    return [g for g in groups if g]


def key_events(score: Score, channels: dict[int, int], sample_rate: int, frames: int) -> list[tuple[int, ...]]:
    """Note-on/off events as (frame, is_on, channel, key, velocity), sorted; offs before ons at one frame.

    MIDI has one voice per key and channel, so a note that is still sounding when the same key starts
    again on its channel is cut there, and of two notes starting together on one key only one is kept.
    """
    timed = note_times(score, list(channels))
    if not len(timed):
        return []
    chan = np.array([channels[int(p)] for p in timed.part], dtype=np.int64)
    on = np.minimum(np.round(timed.onset_s * sample_rate).astype(np.int64), frames - 1)
    off = np.minimum(np.maximum(np.round(timed.end_s * sample_rate).astype(np.int64), on + 1), frames)
    key = timed.pitch.astype(np.int64)
    order = np.lexsort((on, key, chan))
    chan, on, off, key, vel = chan[order], on[order], off[order], key[order], timed.velocity[order]
    same_next = (chan[:-1] == chan[1:]) & (key[:-1] == key[1:])
    off[:-1] = np.where(same_next, np.minimum(off[:-1], on[1:]), off[:-1])
    keep = off > on
    chan, on, off, key, vel = chan[keep], on[keep], off[keep], key[keep], vel[keep]
    n = len(on)
    frame = np.concatenate([off, on])
    is_on = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    order = np.lexsort((is_on, frame))
    columns = (frame, is_on, np.tile(chan, 2), np.tile(key, 2), np.tile(vel.astype(np.int64), 2))
    return list(zip(*(c[order].tolist() for c in columns), strict=True))


def synthesize_tinysoundfont(score: Score, part_indices: Sequence[int], sample_rate: int, frames: int,
                             soundfont: Path) -> np.ndarray:
    """Stereo float32 audio, shape (frames, 2), of the given parts through TinySoundFont."""
    tsf = require("tinysoundfont", "soundfont synthesis")
    out = np.zeros((frames, 2), dtype=np.float32)
    for channels in channel_groups(score.parts, part_indices):
        synth = tsf.Synth(gain=_TSF_GAIN_DB, samplerate=sample_rate)
        try:
            sfid = synth.sfload(str(soundfont))
        except Exception as exc:  # tinysoundfont raises its own exception type for unreadable files
            raise RenderError(f"cannot load soundfont {soundfont}: {exc}") from exc
        for index, chan in channels.items():
            part = score.parts[index]
            try:
                synth.program_select(chan, sfid, 0, 0 if part.is_drum else part.program, is_drums=part.is_drum)
            except Exception:  # noqa: BLE001 - a soundfont without that preset: fall back to its first one
                log.warning("soundfont %s has no preset for %s (program %d); using program 0",
                            soundfont.name, part.name, part.program)
                synth.program_select(chan, sfid, 0, 0, is_drums=part.is_drum)
        buffer = bytearray(frames * _BYTES_PER_FRAME)
        view = memoryview(buffer)
        pos = 0
        for frame, is_on, chan, key, velocity in key_events(score, channels, sample_rate, frames):
            if frame > pos:
                synth.generate_simple(frame - pos, buffer=view[pos * _BYTES_PER_FRAME:frame * _BYTES_PER_FRAME])
                pos = frame
            if is_on:
                synth.noteon(chan, key, velocity)
            else:
                synth.noteoff(chan, key)
        if pos < frames:
            synth.generate_simple(frames - pos, buffer=view[pos * _BYTES_PER_FRAME:])
        out += np.frombuffer(buffer, dtype=np.float32).reshape(frames, 2)
    return out


def synthesize_fluidsynth(score: Score, part_indices: Sequence[int], sample_rate: int, frames: int,
                          soundfont: Path) -> np.ndarray:
    """Stereo float32 audio, shape (frames, 2), of the given parts through the ``fluidsynth`` program."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise RenderError("the fluidsynth engine needs the fluidsynth program on PATH: apt-get install fluidsynth")
    from cadenza.score.midi_write import midi_bytes

    keep = np.isin(score.notes["part"], np.asarray(list(part_indices), dtype=np.int16))
    # no pickup: the MIDI writer pads a pickup to a whole bar, which would start the audio late
    subset = score.replace(notes=score.notes[keep], pickup_ticks=0)
    with tempfile.TemporaryDirectory(prefix="cadenza-fluidsynth-") as tmp:
        midi_path = Path(tmp) / "score.mid"
        wav_path = Path(tmp) / "score.wav"
        midi_path.write_bytes(midi_bytes(subset))
        command = [program, "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-T", "wav", "-O", "s16",
                   "-F", str(wav_path), str(soundfont), str(midi_path)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RenderError("fluidsynth ran for more than 10 minutes") from exc
        if done.returncode != 0 or not wav_path.is_file():
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise RenderError(f"fluidsynth failed: {detail[-1] if detail else f'exit code {done.returncode}'}")
        with wave.open(str(wav_path), "rb") as fh:
            channels, width = fh.getnchannels(), fh.getsampwidth()
            raw = fh.readframes(fh.getnframes())
    if width != 2:
        raise RenderError(f"fluidsynth wrote {8 * width}-bit audio; expected 16-bit")
    audio = np.frombuffer(raw, dtype="<i2").astype(np.float32).reshape(-1, channels) / 32768.0
    if channels == 1:
        audio = np.repeat(audio, 2, axis=1)
    out = np.zeros((frames, 2), dtype=np.float32)
    used = min(frames, len(audio))
    out[:used] = audio[:used, :2]
    return out
