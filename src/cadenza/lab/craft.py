"""The craft benchmark: are Cadenza's pieces written the way real music of the same style is written?

Per ensemble (satb, string-quartet, piano, orchestra, lead-sheet, song), pieces composed with the ensemble's
usual epoch (half of them in an asked key, half with the key left to the model) are measured with
:mod:`cadenza.listen.craft` and compared with the openings (the same number of bars) of real works of that
style: Bach chorales from music21's corpus, Haydn/Mozart/Beethoven quartets and piano sonatas from
``shared/datasets/classical``, symphonic movements from OpenScore Orchestra, Nottingham tunes (melody and
chords) for the lead sheet, and romantic Lieder (voice and piano) from OpenScore Lieder for the song. Only
works the model did not learn from are measured, and never the works the ear's critic learns from
(:mod:`cadenza.lab.real_works` says how they are told apart).
A measure *holds* for an ensemble when the generated median lies inside the real works' 10th–90th
percentile range; the headline is the share of (ensemble, measure) pairs that hold. Endings are judged on
whole real works (an opening has no ending) and on every generated piece; the key-asked pieces are judged
in the key asked.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cadenza.errors import CadenzaError, UsageError
from cadenza.lab.figures import distribution, figure, pct
from cadenza.lab.real_works import choose_heldout, read_real, real_pools, training_index
from cadenza.listen.craft import BINARY, MEASURES, craft, ends_on_tonic
from cadenza.listen.features import View
from cadenza.listen.key import estimate_key
from cadenza.listen.labels import MOODS
from cadenza.score.model import Score
from cadenza.score.ops import slice_bars

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
ENSEMBLES = ("satb", "string-quartet", "piano", "orchestra", "lead-sheet", "song")
#: the epoch asked for with each ensemble: the style its real works come from
STYLE_OF = {"satb": "baroque", "string-quartet": "classical", "piano": "classical", "orchestra": "romantic",
            "lead-sheet": "folk", "song": "romantic"}
KEYS = ("D minor", "G major", "C major", "A minor", "F major", "E minor", "B♭ major", "G minor")
GOALS = {"satb": 0.85, "string-quartet": 0.85, "piano": 0.85, "orchestra": 0.70, "lead-sheet": 0.70, "song": 0.70}
#: what the report says of the real works, by whether the model's training works are known
HELD = {True: "that the model did not learn from", False: "(the model's training works unknown: no originality index)"}
ENDING_BARS = 8  # a real work's key for its ending is heard in its last bars


@dataclass(frozen=True)
class CraftBenchConfig:
    ensembles: tuple[str, ...] = ENSEMBLES
    seeds: int = 8  # pieces per ensemble
    bars: int = 16
    real_per_ensemble: int = 24  # (12 left the 10th-90th percentiles to one or two works: with 24 and 40
    # chorales the unison share spans 0.025-0.16 and 0.025-0.18, with 12 0.021-0.062)
    candidates: int = 1
    checkpoint: str | None = None
    datasets: str | None = None  # the shared datasets folder; None: found beside the working directory
    pages: str | None = None  # a folder for one engraved page (PNG) per ensemble; None: none
    mood: str | None = None  # asked of every piece (the real works are the style's, whatever their mood)

    def __post_init__(self) -> None:
        unknown = [e for e in self.ensembles if e not in ENSEMBLES]
        if unknown:
            raise UsageError(f"craft benchmark: unknown ensemble {unknown[0]!r}: choose from {', '.join(ENSEMBLES)}")
        if self.mood is not None and self.mood not in MOODS:
            raise UsageError(f"craft benchmark: unknown mood {self.mood!r}: choose from {', '.join(MOODS)}")
        if self.seeds < 1 or self.bars < 8 or self.real_per_ensemble < 2:
            raise UsageError("craft benchmark: seeds >= 1, bars >= 8 and real_per_ensemble >= 2")


def ending_key(score: Score) -> tuple[int, str]:
    """The key heard in a score's last bars (where an ending is judged)."""
    count = score.bar_count
    tail = slice_bars(score, max(count - ENDING_BARS, 0), count) if count > 1 else score
    estimate = estimate_key(View(tail))
    return estimate.tonic, estimate.mode


def measure_real(path: str | Path, bars: int, score: Score | None = None) -> dict[str, Any]:
    """The craft of a real work's first ``bars`` bars, and whether the whole work ends on its tonic."""
    score = score if score is not None else read_real(Path(path))
    start = slice_bars(score, 0, min(bars + (1 if score.pickup_ticks else 0), score.bar_count))
    values = craft(start)
    values["ends_on_tonic"] = ends_on_tonic(score, *ending_key(score))
    return {"source": str(path), "bars": start.bar_count, "measures": values}


def compose_pieces(ensemble: str, config: CraftBenchConfig, progress: Progress | None = None) -> list[dict[str, Any]]:
    """``config.seeds`` pieces for ``ensemble`` in its style (and ``config.mood``); even seeds ask a key, odd ones
    leave it open."""
    from cadenza.compose import ComposeRequest, compose
    from cadenza.compose.request import resolve

    pieces = []
    for i in range(config.seeds):
        key = KEYS[(i // 2) % len(KEYS)] if i % 2 == 0 else None
        request = ComposeRequest(ensemble=ensemble, epoch=STYLE_OF[ensemble], key=key, bars=config.bars, seed=1 + i,
                                 candidates=config.candidates, mood=config.mood)
        start = time.perf_counter()
        made = compose(request, checkpoint=config.checkpoint)
        seconds = time.perf_counter() - start
        score = made.score
        asked = resolve(request).key if key else None
        judged = (asked.tonic_pc, asked.mode) if asked else ending_key(score)
        planned = made.report["plan"].get("cadences")
        pieces.append({"seed": 1 + i, "key_asked": key, "seconds": round(seconds, 2),
                       "realtime": round(score.duration_s / max(seconds, 1e-9), 1),
                       "measures": craft(score, judged), "score": score,
                       "cadences_planned": planned if isinstance(planned, list) else None,
                       "cadences_heard": made.report["heard"].get("cadences"),
                       "planned_cadences_heard": planned_heard(planned, made.report["heard"].get("cadences")),
                       "mood_heard": made.report["heard"].get("mood")})
        if progress:
            progress(i + 1, config.seeds)
    return pieces


def planned_heard(planned: Any, heard: list[str] | None) -> float | None:
    """The share of the plan's phrase ends ('half@4', ...) at whose bar listen hears a cadence (of any kind)."""
    if not isinstance(planned, list) or not planned:
        return None
    bars = {int(c.split("@")[1]) for c in heard or []}
    return sum(int(c.split("@")[1]) in bars for c in planned) / len(planned)


def compare(real: list[dict[str, Any]], made: list[dict[str, Any]]) -> dict[str, Any]:
    """Per measure: the real works' spread, the generated spread, and whether the generated median is inside."""
    rows: dict[str, Any] = {}
    for name in MEASURES:
        if name in BINARY:
            continue
        r = distribution([w["measures"][name] for w in real if w["measures"][name] is not None])
        g = distribution([p["measures"][name] for p in made if p["measures"][name] is not None])
        if not r["n"] or not g["n"]:
            continue
        rows[name] = {"real": r, "generated": g, "inside": bool(r["p10"] <= g["median"] <= r["p90"])}
    binary = {name: {"real": _share([w["measures"][name] for w in real]),
                     "generated": _share([p["measures"][name] for p in made]),
                     "generated_key_asked": _share([p["measures"][name] for p in made if p["key_asked"]])}
              for name in BINARY}
    held = [row["inside"] for row in rows.values()]
    binary["planned_cadences_heard"] = {"generated_key_asked": _share([p.get("planned_cadences_heard")
                                                                         for p in made])}
    return {"measures": rows, "binary": binary, "inside_share": round(sum(held) / len(held), 4) if held else None,
            "outside": [name for name, row in rows.items() if not row["inside"]]}


def _share(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(float(np.mean(known)), 4) if known else None


def engrave_page(score: Score, path: Path) -> Path | None:
    """The first page of the score engraved by verovio, as PNG (None when the render extra is missing)."""
    from cadenza.render.sheet import engrave_svg_pages, svg_page_to_png

    try:
        return svg_page_to_png(engrave_svg_pages(score)[0], path)
    except (ImportError, CadenzaError) as exc:
        log.warning("craft benchmark: no engraved page (%s)", exc)
        return None


def run(config: CraftBenchConfig, progress: Progress | None = None) -> dict[str, Any]:
    """The whole benchmark: per ensemble, real works and composed pieces measured and compared."""
    from cadenza.corpus.sources import find_datasets

    datasets = Path(config.datasets) if config.datasets else find_datasets()
    out: dict[str, Any] = {"config": asdict(config), "measures": MEASURES, "ensembles": {},
                           "rule": "a measure holds when the generated median lies inside the real works' "
                                   "10th-90th percentile range", "goals": GOALS}
    total = len(config.ensembles) * (config.real_per_ensemble + config.seeds)
    done = 0
    for ensemble in config.ensembles:
        try:
            what = real_pools(ensemble, datasets)[1]
            known = training_index(config.checkpoint) is not None
        except UsageError as exc:  # no real works of this style here (../shared absent): said, not failed
            out["ensembles"][ensemble] = {"skipped": str(exc)}
            done += config.real_per_ensemble + config.seeds
            continue

        def counted(chosen: int, before: int = done) -> None:
            if progress:
                progress(before + chosen, total)

        real, passed = choose_heldout(ensemble, config.real_per_ensemble, datasets, config.checkpoint,
                                      lambda path, score: measure_real(path, config.bars, score), counted)
        done += config.real_per_ensemble
        if not real:
            out["ensembles"][ensemble] = {"skipped": f"no real {ensemble} work that the model did not learn from"}
            done += config.seeds
            continue
        made = compose_pieces(ensemble, config)
        done += config.seeds
        if progress:
            progress(done, total)
        row = compare(real, made)
        row.update({"real_source": what, "real_works": len(real), "real_passed_over": passed,
                    "real_held_out": known,
                    "goal": GOALS[ensemble], "style": STYLE_OF[ensemble],
                    "realtime_median": float(np.median([p["realtime"] for p in made])),
                    "real": [{k: v for k, v in w.items()} for w in real],
                    "generated": [{k: v for k, v in p.items() if k != "score"} for p in made]})
        if config.pages:
            page = engrave_page(made[0]["score"], Path(config.pages) / f"craft-{ensemble}.png")
            row["page"] = str(page) if page else None
        out["ensembles"][ensemble] = row
    held = [r["measures"][m]["inside"] for r in out["ensembles"].values() for m in r.get("measures", {})]
    out["inside_share"] = round(sum(held) / len(held), 4) if held else None
    out["git"] = _git_head()
    return out


def _git_head() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def asked_mood(result: dict[str, Any]) -> str | None:
    """The mood a run asked of every piece (None: none)."""
    return (result.get("config") or {}).get("mood")


def summary_lines(result: dict[str, Any]) -> list[str]:
    """One line per ensemble: measures held, the goal, what falls outside, endings."""
    lines = []
    mood = asked_mood(result)
    for name, row in result["ensembles"].items():
        if "skipped" in row:
            lines.append(f"craft {name}: skipped ({row['skipped']})")
            continue
        ends = row["binary"]["ends_on_tonic"]
        heard = row["binary"]["planned_cadences_heard"]["generated_key_asked"]
        if mood:
            heard_moods = [p.get("mood_heard") for p in row["generated"]]
            lines.append(f"craft {name}: {mood} asked, heard in {sum(m == mood for m in heard_moods)} of "
                         f"{len(heard_moods)} pieces")
        lines.append(f"craft {name}: {row['inside_share']:.0%} of measures inside the real range (goal "
                     f"{row['goal']:.0%}); tonic endings {ends['generated']:.0%} (key asked "
                     f"{ends['generated_key_asked']:.0%}, real {ends['real']:.0%}); planned cadences heard "
                     f"{pct(heard)}; outside: "
                     f"{', '.join(row['outside']) or 'none'}")
    if result.get("inside_share") is not None:
        lines.append(f"craft overall: {result['inside_share']:.0%} of (ensemble, measure) pairs inside")
    return lines


def craft_markdown(result: dict[str, Any], command: str) -> list[str]:
    """The craft section of ``REPORT.md``: per ensemble, every measure's real range and generated median."""
    out = ["## Craft", "", "How the pieces are written, per ensemble, against the openings of real works of the "
           f"same style ({result['rule']}): **{pct(result.get('inside_share'))}** of (ensemble, measure) "
           "pairs hold. Measures (`cadenza.listen.craft`):", ""]
    out += [f"- `{name}`: {text}" for name, text in result["measures"].items()]
    out.append("")
    for name, row in result["ensembles"].items():
        if "skipped" in row:
            out += [f"### {name}: skipped", "", row["skipped"], ""]
            continue
        ends = row["binary"]["ends_on_tonic"]
        asked = f"{row['style']}, {mood}" if (mood := asked_mood(result)) else row["style"]
        out += [f"### {name} ({asked}): {pct(row['inside_share'])} inside (goal {pct(row['goal'])})",
                "", f"{len(row['generated'])} pieces (median {row['realtime_median']:.1f}x real time) against "
                f"{row['real_works']} real works {HELD[row.get('real_held_out', False)]}: {row['real_source']}. "
                f"Ends on the tonic chord: generated "
                f"{pct(ends['generated'])} (key asked {pct(ends['generated_key_asked'])}), real "
                f"{pct(ends['real'])}. Planned phrase ends where listen hears a cadence (key asked): "
                f"{pct(row['binary']['planned_cadences_heard']['generated_key_asked'])}.", "",
                "| measure | real p10 – median – p90 | generated median | inside |",
                "|---|---|---|---|"]
        for measure, m in row["measures"].items():
            r = m["real"]
            out.append(f"| {measure} | {r['p10']:.3g} – {r['median']:.3g} – {r['p90']:.3g} | "
                       f"{m['generated']['median']:.3g} | {'yes' if m['inside'] else '**no**'} |")
        if row.get("page"):
            out += ["", f"![first page, {name}]({Path(row['page']).name})"]
        out.append("")
    out += ["![craft](craft.png)", "", "Per ensemble, each measure's generated median placed in the real works' "
            "range (0: their p10, 1: their p90; the band is inside).", "", f"Regenerate: `{command}`", ""]
    return out


def plot_craft(result: dict[str, Any], path: Path, command: str) -> Path | None:
    """Each measure's generated median against the real p10-p90 range (scaled to 0..1), one row per ensemble."""
    rows = {name: row["measures"] for name, row in result["ensembles"].items() if row.get("measures")}
    if not rows:
        return None
    names = [m for m in MEASURES if m not in BINARY]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        ax.axvspan(0, 1, color="0.9")
        for y, measures in enumerate(rows.values()):
            for x, name in enumerate(names):
                m = measures.get(name)
                if m is None:
                    continue
                r = m["real"]
                span = (r["p90"] - r["p10"]) or 1.0
                where = float(np.clip((m["generated"]["median"] - r["p10"]) / span, -2, 3))
                ax.scatter(where, y + (x - len(names) / 2) * 0.02, s=14,
                           color="tab:blue" if m["inside"] else "tab:red")
        ax.set_yticks(range(len(rows)), list(rows))
        ax.set_xlabel("generated median, in units of the real p10-p90 range (blue: inside, red: outside)")
        ax.set_title(f"Craft: {pct(result.get('inside_share'))} of (ensemble, measure) pairs inside")

    return figure(path, command, draw, size=(9, 3.5))
