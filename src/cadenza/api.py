"""The public facade. Every CLI command is a thin layer over a function here."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadenza.reports import Analysis, OriginalityCheck, Soundtrack
from cadenza.score import ReadLimits, ReadResult, Score, write_score
from cadenza.score import read_score_result as read_file
from cadenza.score.instruments import gm_program_name
from cadenza.score.model import TICKS_PER_QUARTER

if TYPE_CHECKING:
    from cadenza.compose.generate import Composition

log = logging.getLogger(__name__)

#: formats written beside a piece by the score writers (the others go through cadenza.render)
_SCORE_SUFFIXES = {"mid": ".mid", "musicxml": ".musicxml"}

__all__ = [
    "Composer",
    "analyse",
    "check",
    "compose",
    "continue_",
    "convert",
    "info",
    "read_score",
    "read_score_result",
    "render",
    "revise",
    "score_summary",
    "soundtrack",
    "styles",
    "train",
    "write_score",
]


def read_score_result(source: str | os.PathLike[str], limits: ReadLimits | None = None,
                      tune: str | int | None = None, tune_index: int | None = None) -> ReadResult:
    """Read one score (a file or a ``music21:`` reference) with the reader's warnings and the file's tune count
    (:func:`cadenza.score.read_score_result`). A recording's transcription (``result.transcribed``) also gets the
    key signature of the key heard in it: choosing it is listening (:func:`cadenza.listen.key.key_signature_of`),
    which the score layer, beneath listening, leaves to this reader."""
    result = read_file(source, limits, tune, tune_index)
    if not result.transcribed or result.score.key_signatures:
        return result
    from cadenza.listen.key import key_signature_of

    signature = key_signature_of(result.score)
    if signature is None:
        return result
    return dataclasses.replace(result, score=result.score.replace(key_signatures=(signature,)))


def read_score(source: str | os.PathLike[str], limits: ReadLimits | None = None, tune: str | int | None = None,
               tune_index: int | None = None) -> Score:
    """Read one score from a file or ``music21:`` reference (:func:`read_score_result`); warnings go to the log."""
    return _read_saying(source, limits, tune, tune_index).score


def _read_saying(source: str | os.PathLike[str], limits: ReadLimits | None = None, tune: str | int | None = None,
                 tune_index: int | None = None) -> ReadResult:
    """:func:`read_score_result`, its warnings said in the log as they are read."""
    result = read_score_result(source, limits, tune, tune_index)
    for line in result.warnings:
        log.warning("%s: %s", os.fspath(source), line)
    return result


def score_summary(score: Score) -> dict[str, Any]:
    """What ``cadenza info`` reports: parts, bars, duration, notes, meter, key signature, tempo."""
    notes = score.notes
    first_ts = score.time_signatures[0]
    first_key = score.key_signatures[0] if score.key_signatures else None
    tempo_bpm = score.tempos[0].bpm if score.tempos and score.tempos[0].onset_ticks == 0 else None
    parts = []
    for i, part in enumerate(score.parts):
        mine = notes[notes["part"] == i]
        parts.append({
            "name": part.name,
            "program": part.program,
            "instrument": "Drum kit" if part.is_drum else gm_program_name(part.program),
            "is_drum": part.is_drum,
            "notes": int(len(mine)),
            "lowest_pitch": int(mine["pitch"].min()) if len(mine) else None,
            "highest_pitch": int(mine["pitch"].max()) if len(mine) else None,
        })
    md = score.metadata
    return {
        "title": md.title,
        "composer": md.composer,
        "source": md.source,
        "licence": md.licence,
        "parts": parts,
        "part_count": len(score.parts),
        "bars": score.bar_count,
        "pickup_quarters": score.pickup_ticks / TICKS_PER_QUARTER,
        "duration_s": round(score.duration_s, 3),
        "length_quarters": score.length_ticks / TICKS_PER_QUARTER,
        "notes": score.note_count,
        "meter": str(first_ts),
        "meter_changes": [{"bar": score.bar_number(score.locate(t.onset_ticks)[0]), "meter": str(t)}
                          for t in score.time_signatures[1:]],
        "key_signature": str(first_key) if first_key else None,
        "key_signature_sharps": first_key.sharps if first_key else None,
        "key_changes": len(score.key_signatures[1:]) if score.key_signatures else 0,
        "tempo_bpm": round(tempo_bpm, 2) if tempo_bpm else None,
        "tempo_is_default": tempo_bpm is None,
        "tempo_changes": max(len(score.tempos) - 1, 0),
        "ticks_per_quarter": TICKS_PER_QUARTER,
    }


def info(source: str | os.PathLike[str], limits: ReadLimits | None = None, tune: str | None = None,
         tune_index: int | None = None) -> dict[str, Any]:
    """Read a score and summarise it; includes the reader's warnings and the file's tune count."""
    result = read_score_result(source, limits, tune, tune_index)
    summary = score_summary(result.score)
    summary["tunes_in_file"] = result.tune_count
    summary["warnings"] = result.warnings
    return summary


def convert(source: str | os.PathLike[str], target: str | os.PathLike[str], limits: ReadLimits | None = None,
            tune: str | None = None, tune_index: int | None = None) -> dict[str, Any]:
    """Read ``source`` and write it to ``target`` in the format its extension names (a file already there is
    named in a warning before it is replaced; a read-only one is kept: OutputError; the source itself is never
    written over: UsageError)."""
    _path(target, "output")  # (an empty one raised Python's ValueError, "PosixPath('.') has an empty name")
    _keep_inputs(Path(target), [], source=source)
    result = read_score_result(source, limits, tune, tune_index)
    _guard_replaced([Path(target)])
    _replacing([Path(target)])
    out = write_score(result.score, target)
    return {"input": os.fspath(source), "output": str(Path(out)), "notes": result.score.note_count,
            "parts": len(result.score.parts), "bars": result.score.bar_count, "warnings": result.warnings}


def analyse(source: str | os.PathLike[str] | Score, limits: ReadLimits | None = None, tune: str | None = None,
            tune_index: int | None = None) -> Analysis:
    """Every listening label for a score (a Score, a file or a music21: reference), with the seconds the
    analysis took and the reader's warnings: an :class:`cadenza.reports.Analysis` (``.labels``,
    ``.to_json()``)."""
    from cadenza.errors import InputError
    from cadenza.listen.analyse import analyse_timed
    from cadenza.listen.labels import LABEL_SET_VERSION

    if isinstance(source, Score):
        score, warnings = source, []
    else:
        result = read_score_result(source, limits, tune, tune_index)
        score, warnings = result.score, result.warnings
        if not score.note_count:  # (an empty file's labels would describe nothing: "medieval, C major, sad")
            raise InputError(f"{source}: no notes to analyse")
    labels, seconds = analyse_timed(score)
    return Analysis({"source": score.metadata.source, "label_set_version": LABEL_SET_VERSION, "labels": labels,
                     "analysis_s": round(seconds, 4), "warnings": warnings})


def check(source: str | os.PathLike[str] | Score, against: str | os.PathLike[str] | None = None,
          threshold: int | None = None, limits: ReadLimits | None = None, tune: str | None = None,
          tune_index: int | None = None) -> OriginalityCheck:
    """The originality report of a score (a Score, a file or a music21: reference) against a model's
    training data (``against``: a shipped model name, a model folder, an index file or ``corpus:NAME``; the
    default model when None): an :class:`cadenza.reports.OriginalityCheck`, whose ``.verdict`` is "copied"
    when a line shares more notes with one training work than the calibrated threshold (or ``threshold``)
    allows; see :mod:`cadenza.originality`."""
    from cadenza.errors import InputError, UsageError
    from cadenza.originality import check_score

    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1):
        raise UsageError(f"threshold {threshold!r:.40}: give a whole number of notes, at least 1")
    if against is not None and not isinstance(against, str | os.PathLike):
        raise UsageError(f"against: give a model name, a folder or an index file, not {type(against).__name__}")
    if isinstance(source, Score):
        score, warnings = source, []
    else:
        result = read_score_result(source, limits, tune, tune_index)
        score, warnings = result.score, result.warnings
    if not score.note_count:  # (a verdict of "original" on nothing would say what was never checked)
        raise InputError(f"{source if not isinstance(source, Score) else 'the score'}: no notes to check")
    report = check_score(score, against, threshold)
    report["warnings"] = warnings
    return OriginalityCheck(report)


def _check_output(output: str | os.PathLike[str] | None, formats: list[str] | None = None,
                  also: tuple[Path, ...] = ()) -> Path | None:
    """Refuse an output we could not write before any composing is done: a folder, a suffix we do not
    write, a name the file system refuses (too long), a file already there that is read-only (it is not
    replaced); one there that may be replaced is named in a warning when it is written (:func:`_replacing`), so a
    request that fails replaces nothing and warns of nothing. ``also``: other files that will be written beside
    it."""
    import tempfile

    from cadenza.errors import OutputError, UsageError

    path = _path(output, "output")
    if path is None:
        return None
    suffix = path.suffix.lower()
    if suffix not in (".mid", ".midi", ".musicxml", ".xml", ".mxl", ".json"):
        rendered = suffix.lstrip(".") in ("png", "wav", "flac", "svg", "pdf")
        hint = f" (a {suffix.lstrip('.').upper()} is rendered beside it: add --render {suffix.lstrip('.')})" \
            if rendered else ""
        raise UsageError(f"output {path}: give a .mid, .musicxml, .mxl or .json file{hint}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the folder for {path}: {exc.strerror or exc}") from None
    try:  # a folder that refuses new files (/proc, read-only): found now, not after composing
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".cadenza-probe-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    _guard_replaced([*_output_files(path, formats or []), *also])
    return path


def _keep_inputs(output: Path | None, formats: list[str] | None, **inputs: Any) -> None:
    """Refuse an output that would replace a file the request reads (``primer=``, ``reference=``: a path, a
    Score or a music21: reference): the user's own music is never written over, warning or not."""
    from cadenza.errors import UsageError

    if output is None:
        return
    written = {_resolved(target) for target in _output_files(output, formats or [])}
    for role, source in inputs.items():
        if isinstance(source, str | os.PathLike) and not str(source).startswith("music21:") \
                and _resolved(Path(source)) in written:
            raise UsageError(f"output {output} would replace the {role} {source}: choose another output")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:  # (a loop of links, a name the file system refuses: compared as given)
        return path.absolute()


def _output_files(output: Path, formats: list[str]) -> list[Path]:
    """The files a piece written to ``output`` with the renders ``formats`` makes: the piece, its report, and one
    file a format (stems are a folder of their own)."""
    from cadenza.render.common import with_extension

    return [output, output.with_suffix(".cadenza.json"),
            *(output.with_suffix(_SCORE_SUFFIXES[f]) if f in _SCORE_SUFFIXES
              else with_extension(output.with_suffix(""), f) for f in formats if f != "stems")]


def _guard_replaced(targets: list[Path]) -> None:
    """Before writing ``targets``: a read-only one already there is an OutputError (it is kept)."""
    from cadenza.errors import OutputError
    from cadenza.files import read_only

    there = []
    for target in dict.fromkeys(targets):
        try:
            if target.is_dir():
                raise OutputError(f"output {target} is a folder")
            if target.is_file():
                there.append(target)
        except OSError as exc:  # a name the file system refuses (over 255 bytes), a file where a folder should be
            raise OutputError(f"cannot write {str(target)[:120]}: {exc.strerror or exc}") from None
    for target in there:
        if read_only(target):
            raise OutputError(f"{target} exists and is read-only: not replaced (make it writable or choose "
                              f"another output)")


def _replacing(targets: list[Path]) -> None:
    """As ``targets`` are written: the files already there are named in a warning."""
    there = [target for target in dict.fromkeys(targets) if target.is_file()]
    if there:
        log.warning("replacing what is there: %s", ", ".join(str(t) for t in there))


def _write_outputs(score: Score, report: dict[str, Any], output: Path, formats: list[str]) -> dict[str, Any]:
    """Write the piece, the renders asked for (a missing optional renderer never blocks the others) and the
    JSON report beside the piece; returns the report with its file paths."""
    import json

    from cadenza.files import atomic_write_bytes

    rest = [f for f in formats if f not in _SCORE_SUFFIXES]
    report_path = output.with_suffix(".cadenza.json")
    _replacing(_output_files(output, formats))
    files: dict[str, str] = {"piece": str(write_score(score, output))}
    errors: dict[str, str] = {}
    for fmt in formats:
        if fmt in _SCORE_SUFFIXES:
            target = output.with_suffix(_SCORE_SUFFIXES[fmt])
            files[fmt] = files["piece"] if target == output else str(write_score(score, target))
    if rest:
        from cadenza.render import render

        written = render(score, output.with_suffix(""), rest)
        files.update({fmt: str(path) for fmt, path in written.items()})
        errors.update(written.errors)
    files["report"] = str(report_path)
    report = {**report, "files": files, **({"render_errors": errors} if errors else {})}
    atomic_write_bytes(report_path, (json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n").encode())
    return report


def styles() -> list[Any]:
    """The styles a request can name (``epoch=``) and what the composer plans for each: a list of
    :class:`cadenza.compose.styles.Style` (``.epoch``, ``.ensemble``, ``.meters``, ``.major_chords`` …,
    ``.to_json()``)."""
    from cadenza.compose.styles import styles as all_styles

    return list(all_styles())


def _reference(like: str | os.PathLike[str] | Score | None, strength: float, limits: ReadLimits | None) -> Any:
    """The ``--like`` reference: read, listened to, with the strength of its pull."""
    from cadenza.compose.like import Reference
    from cadenza.errors import UsageError
    from cadenza.listen.analyse import analyse_timed

    if isinstance(strength, bool) or not isinstance(strength, int | float) or not 0 <= strength <= 1:
        raise UsageError("like strength: give 0 to 1")  # (with or without a like, as like.Reference says)
    if like is None:
        return None
    score = like if isinstance(like, Score) else read_score(like, limits)
    name = str(like) if not isinstance(like, Score) else (like.metadata.title or "reference")
    return Reference(score, analyse_timed(score)[0], name, strength)


#: the CLI's option names that differ from :class:`cadenza.compose.ComposeRequest`'s fields
CLI_NAMES = {"tempo": "tempo_bpm", "duration": "duration_s", "max_shared": "max_shared_notes"}
PRIMER_KEEPS = ("a continuation keeps the key, meter and parts of the bars it continues (compose writes a new "
                "piece in those you choose)")
#: what a continuation takes from its primer, not from the request, and why (the request's field names):
#: :func:`continue_` refuses them
CONTINUATION_KEEPS = dict.fromkeys(("key", "meter", "ensemble"), PRIMER_KEEPS)
#: what a revision takes from its piece, not from the request, and why: :func:`revise` refuses them (its key,
#: meter and parts as a continuation's)
REVISION_KEEPS = {**CONTINUATION_KEEPS,
                  "tempo_bpm": "revised bars keep the piece's tempo (continue's tempo sets the tempo of new bars)",
                  "duration_s": "a revision writes again the bars given (bars \"5-8\"), not a length in time",
                  "bars": "a revision writes again the bars given (bars \"5-8\"), not a number of bars"}


def refuse_kept(values: dict[str, Any], keeps: dict[str, str]) -> None:
    """A :class:`cadenza.errors.UsageError` in one line for a request option in ``values`` (by field name) that
    the music given keeps (``keeps``: :data:`CONTINUATION_KEEPS` or :data:`REVISION_KEEPS`; taken before, they
    were conditioned on and written nowhere), named as the CLI names it."""
    from cadenza.errors import UsageError

    cli = {field: name for name, field in CLI_NAMES.items()}
    for name, why in keeps.items():
        value = values.get(name)
        if value is not None:
            raise UsageError(f"{cli.get(name, name)} {value!r:.60}: {why}")


def _prompt_read_keeping(request: Any, keeps: dict[str, str]) -> tuple[Any, dict[str, Any] | None]:
    """``request`` with its prompt's words read (and the reading for the report; None without a prompt), the
    fields of ``keeps`` that the words named left out with a warning saying why."""
    from dataclasses import replace

    from cadenza.compose.prompt import read_prompt_full

    if not request.prompt:
        return request, None
    reading = read_prompt_full(request)
    request = reading.request
    for name, why in keeps.items():
        if name in reading.fields:
            log.warning("prompt: %s, left out: %s", reading.fields[name].note(), why)
            request = replace(request, **{name: None})
    return request, reading.report()


def _path(value: Any, what: str) -> Path | None:
    """A path argument (``output=``, ``model=``) as a Path, None left None; another type, or an empty path
    (Path("") is the current folder: a soundtrack's files were written there), is a UsageError."""
    from cadenza.errors import UsageError

    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        raise UsageError(f"{what}: give a file path (str or Path), not {type(value).__name__} {value!r:.60}")
    if isinstance(value, str) and not value.strip():
        raise UsageError(f"{what}: an empty path: give a file or folder name")
    return Path(value)


def _formats(formats: Any) -> list[str] | None:
    """``formats=`` as a list: "wav,pdf" (as :func:`render` takes it) or a list of names (a string's letters
    were read as formats: 'w', 'a', 'v'), each a known format (an unknown one was refused only after the piece
    had replaced the file at ``output``)."""
    from cadenza.errors import UsageError
    from cadenza.render.pipeline import parse_formats

    if formats is None:
        return None
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    if not isinstance(formats, list | tuple) or not all(isinstance(f, str) for f in formats):
        raise UsageError(f"formats {formats!r:.60}: give a list of names, e.g. [\"wav\", \"pdf\"], or \"wav,pdf\"")
    # an unknown name refused now, before any file is written or replaced
    return parse_formats(formats) if any(f.strip() for f in formats) else []


def _model(model: Any) -> Path | None:
    """The model folder ``model=`` names: a folder, or where no folder of that name is here, a model that ships
    with Cadenza by its name (:func:`cadenza.model.adapter_spec.shipped_models`: ``default``)."""
    from cadenza.model.adapter_spec import shipped_models

    shipped = shipped_models() if isinstance(model, str) and model and not Path(model).exists() else {}
    if model in shipped:
        return shipped[model]
    return _path(model, "model") if model else None


def _request(request: Any, options: dict[str, Any]) -> Any:
    """The request given, or the one the keywords make (not both: keywords beside a request were ignored),
    each field's type checked."""
    from cadenza.compose.request import check_request
    from cadenza.errors import UsageError

    if request is None:
        return compose_request(**options)
    if options:
        raise UsageError(f"give a request or keywords, not both ({', '.join(sorted(options))} beside a request)")
    return check_request(request)


def compose_request(**options: Any) -> Any:
    """A :class:`cadenza.compose.ComposeRequest` from keywords, under the request's field names or the CLI's
    option names (``tempo=96``, ``duration="1:30"``, ``max_shared=24``, ``no_guard=True``); ``threads=N``
    chooses torch's thread count for the process, as the CLI's ``--threads`` does (:mod:`cadenza.threads`);
    an unknown name is a :class:`cadenza.errors.UsageError` that lists the known ones."""
    from dataclasses import fields

    from cadenza.compose import ComposeRequest
    from cadenza.compose.request import check_request, parse_duration
    from cadenza.errors import UsageError
    from cadenza.threads import set_threads

    known = {f.name for f in fields(ComposeRequest)}
    values: dict[str, Any] = {}
    for name, value in options.items():
        if name == "no_guard":
            if not isinstance(value, bool):
                raise UsageError(f"no_guard {value!r:.60}: expected true or false")
            values["guard"] = not value
            continue
        if name == "threads":
            set_threads(value)
            continue
        field = CLI_NAMES.get(name, name)
        if field not in known:
            names = sorted(known | set(CLI_NAMES) | {"no_guard", "threads"})
            raise UsageError(f"unknown option {name!r}: choose from {', '.join(names)}")
        if field == "duration_s" and isinstance(value, str):
            value = parse_duration(value)
        values[field] = value
    return check_request(ComposeRequest(**values))


def compose(request: Any = None, output: str | os.PathLike[str] | None = None, formats: list[str] | None = None,
            model: str | os.PathLike[str] | None = None, progress: Any = None,
            like: str | os.PathLike[str] | Score | None = None, like_strength: float = 0.5,
            limits: ReadLimits | None = None, **options: Any) -> Composition:
    """Compose a new piece. ``request`` is a :class:`cadenza.compose.ComposeRequest` or left out and given
    as keywords under the request's or the CLI's names (``key="D minor", meter="3/4",
    ensemble="string-quartet", bars=16, seed=1, tempo=96``). With ``like`` (a Score, file or music21:
    reference) the piece leans toward that reference, by ``like_strength`` (0..1). With ``output`` the piece,
    the renders in ``formats`` and a report are written. Returns a :class:`cadenza.compose.Composition`
    (``.score``, ``.heard``, ``.adherence``, ``.originality``, ``.files``, ``.to_json()``)."""
    from cadenza.compose import compose as compose_piece

    request = _request(request, options)
    formats = _formats(formats)
    path = _check_output(output, formats)
    _keep_inputs(path, formats, reference=like)
    reference = _reference(like, like_strength, limits)
    made = compose_piece(request, checkpoint=_model(model), progress=progress,
                         reference=reference)
    return made if path is None else _written(made, path, formats)


def _written(made: Composition, path: Path, formats: list[str] | None) -> Composition:
    """``made`` written to ``path`` with its renders and report: the same piece, with its files."""
    from dataclasses import replace

    report = _write_outputs(made.score, made.report, path, formats or [])
    files = report.pop("files")
    return replace(made, report=report, files=files)


def continue_(primer: str | os.PathLike[str] | Score, request: Any = None,
              output: str | os.PathLike[str] | None = None, formats: list[str] | None = None, bars: int | None = None,
              model: str | os.PathLike[str] | None = None, limits: ReadLimits | None = None, tune: str | None = None,
              tune_index: int | None = None, progress: Any = None,
              like: str | os.PathLike[str] | Score | None = None, like_strength: float = 0.5,
              **options: Any) -> Composition:
    """Continue a primer (a Score, a file or a music21: reference) by new bars in its parts, meter and key
    (``bars``, else the request's bars or duration, its prompt's, or 8), leaning toward ``like`` if given;
    written and returned like :func:`compose`. A ``tempo`` sets the new bars' tempo; a ``key``, ``meter`` or
    ``ensemble`` is refused (:data:`CONTINUATION_KEEPS`: they are the primer's), and one read from the prompt's words
    is left out with a warning."""
    import math
    from dataclasses import replace

    from cadenza.compose import continue_piece
    from cadenza.errors import UsageError

    formats = _formats(formats)
    path = _check_output(output, formats)
    _keep_inputs(path, formats, primer=primer, reference=like)
    request = _request(request, options)
    if bars is not None and (isinstance(bars, bool) or not isinstance(bars, int)):
        raise UsageError(f"bars {bars!r:.60}: expected a whole number")
    refuse_kept(vars(request), CONTINUATION_KEEPS)
    request, prompt_report = _prompt_read_keeping(request, CONTINUATION_KEEPS)
    warnings: list[str] = []
    if isinstance(primer, Score):
        score = primer
    else:
        result = _read_saying(primer, limits, tune, tune_index)  # (a key the primer's ABC lacks is said)
        score, warnings = result.score, result.warnings
    last_bpm = score.tempos[-1].bpm if score.tempos else 120.0
    if bars is None and request.bars is not None:
        bars = request.bars
    elif bars is None and request.duration_s:  # new bars for that long at their tempo and the primer's meter
        quarters = score.time_signatures[-1].bar_ticks / TICKS_PER_QUARTER
        bars = max(math.ceil(request.duration_s * (request.tempo_bpm or last_bpm) / 60 / quarters), 1)
    tempo = request.tempo_bpm if request.tempo_bpm is not None and request.tempo_bpm != last_bpm else None
    request = replace(request, bars=None, duration_s=None, prompt=None)
    made = continue_piece(score, request, bars=8 if bars is None else bars, checkpoint=_model(model),
                          progress=progress, reference=_reference(like, like_strength, limits), tempo_change=tempo)
    made.report["primer"]["read_warnings"] = warnings  # an audio primer's tempo and meter are estimates
    if prompt_report is not None:
        made.report["prompt"] = prompt_report
    return made if path is None else _written(made, path, formats)


def revise(piece: str | os.PathLike[str] | Score, bars: str, output: str | os.PathLike[str] | None = None,
           formats: list[str] | None = None, model: str | os.PathLike[str] | None = None, versions: int = 4,
           limits: ReadLimits | None = None, progress: Any = None, **options: Any) -> Composition:
    """``piece`` (a Score, a file or a music21: reference) with ``bars`` ('5-8') written again after the music
    before them, ``versions`` times, keeping the version the bars after it follow best (see
    :mod:`cadenza.compose.revise`); request options as for :func:`compose` (``seed=``, ``mood=``), but the
    piece's key, meter, parts and tempo are kept: ``key``, ``meter``, ``ensemble``, ``tempo`` and ``duration``
    are refused (:data:`REVISION_KEEPS`), and those read from the prompt's words are left out with a warning.
    Written and returned like :func:`compose`; the report's ``revised`` says which bars and how each version
    joined. ``progress(done, total)`` is called as each version is written."""
    from dataclasses import replace

    from cadenza.compose.revise import revise_bars
    from cadenza.errors import UsageError

    if isinstance(versions, bool) or not isinstance(versions, int) or not 1 <= versions <= 16:
        raise UsageError("versions: give 1 to 16")
    if isinstance(bars, int) and not isinstance(bars, bool):
        bars = str(bars)  # one bar, as the server's JSON may give it
    if not isinstance(bars, str):
        raise UsageError(f"bars {bars!r:.60}: give the bars to write again, like \"5-8\" or \"6\"")
    formats = _formats(formats)
    path = _check_output(output, formats)
    _keep_inputs(path, formats, piece=piece)
    request: Any = compose_request(**options)
    refuse_kept(vars(request), REVISION_KEEPS)
    request, prompt_report = _prompt_read_keeping(request, REVISION_KEEPS)
    request = replace(request, prompt=None)
    score = piece if isinstance(piece, Score) else read_score(piece, limits)
    made = revise_bars(score, bars, request, checkpoint=_model(model), versions=versions, progress=progress)
    if prompt_report is not None:
        made.report["prompt"] = prompt_report
    return made if path is None else _written(made, path, formats)


def soundtrack(timeline: Any = None, out: str | os.PathLike[str] | None = None, formats: list[str] | None = None,
               model: str | os.PathLike[str] | None = None, ensemble: str | None = None, seed: int | None = None,
               progress: Any = None, story: Any = None, profile: Any = None) -> Soundtrack:
    """A soundtrack that follows ``timeline`` (a :class:`cadenza.soundtrack.Timeline`, a shorthand like
    ``"calm:90s,tense:60s"`` or a TOML/JSON file). With ``out`` (a folder) the MIDI, the renders in
    ``formats`` and the cue sheet (``cues.json``, with the themes used) are written there (files already there,
    a story's movements too, are named in a warning, a read-only one is kept: OutputError before anything is
    written); the report (with the Score under ``"score"`` when nothing is written) is returned.

    Or, instead of a timeline, a life ``story`` (a file or :class:`cadenza.soundtrack.story.Story`) and
    optionally a listener ``profile``: a suite, one movement per event (see :mod:`cadenza.soundtrack.story`);
    the report gains a ``story`` section, each cue its event, and ``out/movements/NN-title.mid`` each
    movement on its own. Returns a :class:`cadenza.reports.Soundtrack` (``.cues``, ``.files``, ``.score`` when
    nothing was written, ``.to_json()``)."""
    import json
    import time
    from dataclasses import replace

    from cadenza.errors import OutputError, UsageError
    from cadenza.files import atomic_write_bytes
    from cadenza.soundtrack import Timeline, timeline_from, write_soundtrack
    from cadenza.soundtrack.engine import soundtrack_report

    formats = _formats(formats)
    reading = None
    if story is not None:
        from cadenza.soundtrack.story import story_timeline

        if timeline is not None:
            raise UsageError("give a timeline or a story, not both")
        plan, reading = story_timeline(story, profile, ensemble=ensemble)
    elif timeline is None:
        raise UsageError("give a timeline (or a story)")
    elif profile is not None:
        raise UsageError("a listener profile goes with a story (--story)")
    else:
        plan = timeline if isinstance(timeline, Timeline) else timeline_from(str(timeline))
    if ensemble is not None:
        plan = replace(plan, ensemble=ensemble)
    if seed is not None:
        plan = replace(plan, seed=seed)
    folder = _path(out, "out")
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
        movements = reading.movement_paths(folder) if reading is not None else []
        _check_output(folder / "soundtrack.mid", formats, also=(folder / "cues.json", *movements))  # before any
        others = sorted(set((folder / "movements").glob("*.mid")) - set(movements)) if movements else []  # writing
        if others:
            log.warning("%s also holds %d movement(s) this suite does not write, kept: %s", folder / "movements",
                        len(others), ", ".join(p.name for p in others[:5]) + (", …" if len(others) > 5 else ""))
    start = time.perf_counter()
    score, cues = write_soundtrack(plan, _model(model), progress)
    report = soundtrack_report(plan, score, cues, time.perf_counter() - start)
    themes: dict[str, list[int]] = {}  # each theme used, and the cues (by index) that carry it
    for index, segment in enumerate(plan.segments):
        if segment.theme:
            themes.setdefault(segment.theme, []).append(index)
    report.setdefault("themes", themes)
    if reading is not None:
        report = reading.annotate(report)
    if folder is None:
        return Soundtrack(report, score)
    cue_sheet = folder / "cues.json"
    _replacing([cue_sheet, *(reading.movement_paths(folder) if reading is not None else [])])
    if reading is not None:
        reading.write_movements(score, report, folder)
    report = _write_outputs(score, report, folder / "soundtrack.mid", formats or [])
    sheet = {"cues": report["cues"], "timeline": report["timeline"], "themes": report["themes"],
             **({"story": report["story"]} if "story" in report else {})}
    atomic_write_bytes(cue_sheet, (json.dumps(sheet, ensure_ascii=False, indent=2, default=str) + "\n").encode())
    report["files"]["cue_sheet"] = str(cue_sheet)
    return Soundtrack(report)


def render(source: str | os.PathLike[str] | Score, output: str | os.PathLike[str], formats: list[str] | str,
           limits: ReadLimits | None = None, sample_rate: int | None = None, soundfont: Any = None) -> Any:
    """Render a score (a Score or any file ``read_score`` reads) as each of ``formats`` (``"mid,musicxml,pdf,
    png,wav"`` or a list; see :data:`cadenza.render.RENDER_FORMATS`) beside ``output``, which names the files
    without extension. Returns a :class:`cadenza.render.RenderResult` (format -> path; ``.errors`` holds a
    one-line message per format that failed, ``.files`` every file written); nothing is written for a format
    whose renderer is missing, and the others still are."""
    from cadenza.render import render as render_score
    from cadenza.render.audio import DEFAULT_SAMPLE_RATE

    _path(output, "output")
    score = source if isinstance(source, Score) else read_score(source, limits)
    return render_score(score, output, formats, sample_rate=sample_rate or DEFAULT_SAMPLE_RATE, soundfont=soundfont)


def write_training_index(config: Any, out: Path) -> list[str]:
    """Build the originality index of the run's training split (calibrated on its test split) and save it
    beside the best and last checkpoints; returns the files written."""
    from cadenza.originality import save_index
    from cadenza.originality.calibrate import build_benchmark_index, build_corpus_index

    index = (build_benchmark_index(config.benchmark) if getattr(config, "benchmark", "")
             else build_corpus_index(config.corpus))
    return [str(save_index(index, folder)) for folder in (out / "best", out / "last") if folder.is_dir()]


def train(corpus: str = "default", resume: bool = False, progress: Any = None,
          steps: str | os.PathLike[str] | None = None, index: bool = True, threads: int | None = None,
          overwrite: bool = False, **options: Any) -> dict[str, Any]:
    """Train (or with ``resume`` continue) a model on a built corpus, as ``cadenza train`` does; the options are
    :class:`cadenza.train.loop.TrainConfig`'s fields (``preset="tiny"``, ``max_minutes=10``, ``out="runs/x"``,
    ``init=…`` …). ``steps``: a folder of step arrays (``cadenza corpus steps``) instead of the corpus;
    ``index``: build the originality index of the training works beside the checkpoints (from the corpus only).
    A new run into an ``out`` that holds one is refused unless ``overwrite`` (which replaces it).
    Returns the run's summary (steps, best validation NLL, throughput, ``out``; ``originality_index`` when
    built). Ctrl-C or SIGTERM stops it after saving its step (:class:`cadenza.train.loop.TrainingStopped`)."""
    from dataclasses import fields

    from cadenza.errors import UsageError
    from cadenza.train.loop import TrainConfig
    from cadenza.train.loop import train as train_model

    known = {f.name for f in fields(TrainConfig)} - {"corpus"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UsageError(f"unknown training option {unknown[0]!r}: choose from {', '.join(sorted(known))}")
    splits = None
    if steps is not None:
        from cadenza.train.data import read_steps_folder

        splits, corpus = read_steps_folder(Path(steps))
    options.setdefault("out", f"runs/{corpus}-{options.get('preset', 'small')}")
    config = TrainConfig(corpus=corpus, **options)
    summary = train_model(config, resume=resume, progress=progress, splits=splits, threads=threads,
                          overwrite=overwrite)
    if index and steps is None and not summary["rank"]:
        summary["originality_index"] = write_training_index(config, Path(summary["out"]))
    return summary


class Composer:
    """A model loaded once — its weights, their hash and its originality index — that composes, continues and
    revises many pieces (what a server worker or a game holds): ``Composer().compose(key="D minor", bars=8)``.
    Each call takes the same keywords as the function of its name; the model is the one given here."""

    def __init__(self, model: str | os.PathLike[str] | None = None) -> None:
        from cadenza.compose.generate import load_model
        from cadenza.compose.guard import guard_index, load_guard

        self.model = _model(model)
        loaded, _config, digest, load_s = load_model(self.model)
        self.hash: str = digest  # the weights' content hash, as every report names it
        self.parameters: int = loaded.parameter_count()
        self.load_s: float = load_s
        # the originality index (cached per file version), loaded here rather than by the first piece
        self.guard = load_guard(guard_index(self.model))

    def compose(self, request: Any = None, **options: Any) -> Composition:
        """A new piece: see :func:`compose`."""
        return compose(request, model=self.model, **options)

    def continue_(self, primer: str | os.PathLike[str] | Score, request: Any = None, **options: Any) -> Composition:
        """The primer continued: see :func:`continue_`."""
        return continue_(primer, request, model=self.model, **options)

    def revise(self, piece: str | os.PathLike[str] | Score, bars: str, **options: Any) -> Composition:
        """Chosen bars written again: see :func:`revise`."""
        return revise(piece, bars, model=self.model, **options)
