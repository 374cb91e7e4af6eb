"""``cadenza analyse FILE``: every listening label of a score."""

from __future__ import annotations

import argparse

from cadenza import api
from cadenza.cli.common import add_limit_flags, add_tune_flags, emit_json, limits_from, print_warnings
from cadenza.listen.labels import LABELS

_GROUPS = (
    ("Style", ("composer", "epoch", "form")),
    ("Forces", ("ensemble", "instruments", "part_count", "texture", "polyphony")),
    ("Tonality", ("key", "mode", "key_confidence", "key_clarity", "key_clarity_level", "modulations")),
    ("Time", ("meter", "tempo_bpm", "tempo_class", "length_bars", "length_s")),
    ("Density and rhythm", ("note_density", "onset_density", "density", "syncopation", "note_value_entropy",
                            "rhythmic_complexity", "rest_ratio", "articulation")),
    ("Pitch and melody", ("pitch_range", "mean_pitch", "register", "step_ratio", "leap_ratio", "contour")),
    ("Dynamics", ("velocity_mean", "dynamics", "velocity_spread")),
    ("Harmony", ("harmonic_vocabulary", "triad_ratio", "seventh_ratio", "dissonance", "harmonic_rhythm",
                 "chord_progression", "cadences", "blues")),
    ("Structure", ("repeated_bars", "self_similarity", "phrase_length")),
    ("Mood", ("mood", "valence", "arousal")),
)


def register(sub: argparse._SubParsersAction) -> None:
    names = ", ".join(spec.name for spec in LABELS)
    p = sub.add_parser(
        "analyse",
        aliases=["analyze"],
        help="listen to a score: key, meter, tempo, density, texture, harmony, mood and ~50 labels in all",
        description="Compute every listening label of a score (any readable format or a music21: reference). "
        f"Labels: {names}.",
        epilog="Example: cadenza analyse music21:bach/bwv66.6 --json",
    )
    p.add_argument("file", metavar="FILE", help="score file or music21: reference")
    p.add_argument("--json", action="store_true", help="print one JSON object with every label on stdout")
    add_tune_flags(p)
    add_limit_flags(p)
    p.set_defaults(func=run)


def _show(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if value else "—"
    return str(value)


def run(args: argparse.Namespace) -> int:
    report = api.analyse(args.file, limits_from(args), args.tune, args.tune_index)
    if args.json:
        emit_json(report.to_json())
        return 0
    print_warnings(report.warnings)
    labels = report.labels
    width = max(len(name) for name in labels)
    lines = [f"{report.source}  ({len(labels)} labels in {report.analysis_s * 1000:.0f} ms)"]
    for title, names in _GROUPS:
        lines.append(f"\n{title}")
        lines += [f"  {name:<{width}}  {_show(labels[name])}" for name in names]
    print("\n".join(lines))
    return 0
