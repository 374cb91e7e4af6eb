"""General MIDI programs: names, and a best guess from a part's name ("Violin I" -> 40)."""

from __future__ import annotations

import re

GM_PROGRAM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel",
    "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ",
    "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar",
    "Guitar Harmonics", "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs", "Synth Choir",
    "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section",
    "Synth Brass 1", "Synth Brass 2", "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe",
    "English Horn", "Bassoon", "Clarinet", "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle",
    "Shakuhachi", "Whistle", "Ocarina", "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)",
    "Lead 4 (chiff)", "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)",
    "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)", "FX 1 (rain)", "FX 2 (soundtrack)",
    "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)",
    "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum",
    "Reverse Cymbal", "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring",
    "Helicopter", "Applause", "Gunshot",
)  # fmt: skip

VOICE_HINT_PROGRAM = 52  # the program a voice's name gives (choir aahs)
# words in a part name -> program; checked in order, first match wins
_NAME_HINTS: tuple[tuple[str, int], ...] = (
    (r"piano|klavier|pianoforte|keyboard", 0),
    (r"harpsichord|cembalo|clavecin", 6),
    (r"organ|orgel", 19),
    (r"violoncello|cello", 42),
    (r"contrabass|double bass|kontrabass|basso continuo|continuo", 43),
    (r"viola|bratsche", 41),
    (r"violin|violino|fiddle|geige", 40),
    (r"harp", 46),
    (r"timpani|pauken", 47),
    (r"strings", 48),
    (r"piccolo", 72),
    (r"flute|flauto|flöte", 73),
    (r"recorder", 74),
    (r"english horn|cor anglais", 69),
    (r"oboe|hautbois", 68),
    (r"clarinet|clarinetto|klarinette", 71),
    (r"bassoon|fagott", 70),
    (r"horn|corno", 60),
    (r"trumpet|tromba|trompete|clarino", 56),
    (r"trombone|posaune", 57),
    (r"tuba", 58),
    (r"sax", 65),
    (r"bass guitar|electric bass", 33),
    (r"guitar|gitarre|lute|laute", 24),
    (r"soprano|alto|tenor|bass|baritone|voice|vox|cantus|altus|bassus|quintus|sextus|choir|chor(?!d)|"
     r"canto|sopran|discantus|superius|vocal|singstimme|gesang|chant|voix|voce", VOICE_HINT_PROGRAM),
)


def gm_program_name(program: int) -> str:
    return GM_PROGRAM_NAMES[program] if 0 <= program < 128 else f"Program {program}"


def program_from_name(name: str, default: int = 0) -> int:
    """Guess a GM program from a part or instrument name; ``default`` when nothing matches."""
    lowered = name.lower()
    for pattern, program in _NAME_HINTS:
        if re.search(pattern, lowered):
            return program
    return default


#: General MIDI's keyboards (pianos, the celesta, organs): written on a grand staff, two parts of one are one
#: player's hands
KEYBOARD_PROGRAMS = frozenset({*range(0, 9), *range(16, 24)})


def numbered_names(names: list[str], programs: list[int]) -> list[str]:
    """Part names with the players of one instrument told apart ("Violin 1", "Violin 2"), as a score names them;
    a keyboard's two hands keep one name (they are one player's grand staff), and a name met once stays."""
    counted = [n for n, p in zip(names, programs, strict=True) if p not in KEYBOARD_PROGRAMS]
    repeated = {n for n in counted if counted.count(n) > 1}
    seen: dict[str, int] = {}
    out = []
    for name, program in zip(names, programs, strict=True):
        if name in repeated and program not in KEYBOARD_PROGRAMS:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} {seen[name]}"
        out.append(name)
    return out
