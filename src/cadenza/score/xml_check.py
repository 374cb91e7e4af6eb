"""Cheap checks on MusicXML before music21 sees it.

- ``.mxl`` archives: member count, per-member compression ratio and uncompressed size (read with a bound,
  so a lying header cannot inflate past it), the root file found through META-INF/container.xml, nested
  archives refused. Nothing is extracted to disk, so member names cannot escape a folder.
- XML: one streaming pass with expat (C speed) that refuses entity declarations (billion laughs,
  quadratic blow-up) and external entities (XXE), and bounds nesting depth, measures per part, notes,
  each note's length from <duration>/<divisions>, and the time signatures music21 would take minutes to
  build (see :func:`cadenza.score.m21_read.check_meters`). Malformed XML fails here with its line number.
"""

from __future__ import annotations

import codecs
import io
import math
import re
import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass

from cadenza.errors import CorruptFileError, UnsupportedFormatError
from cadenza.score.limits import ReadLimits, over_limit
from cadenza.score.m21_read import check_meters

MUSICXML_ROOTS = ("score-partwise", "score-timewise")


@dataclass(frozen=True)
class XmlSummary:
    root: str
    parts: int
    measures_max: int
    notes: int


_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")


def to_utf8(data: bytes) -> bytes:
    """MusicXML bytes re-encoded as UTF-8 (music21 assumes UTF-8; Finale and others write UTF-16 with a
    byte-order mark, or declare Latin-1), with the XML declaration saying so."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        match = _XML_DECLARATION.match(data[:300])
        encoding = match.group(1).decode("ascii") if match else "utf-8"
        if codecs_name(encoding) == "utf-8":
            return data
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"cannot decode the XML as its encoding {encoding!r} says: {exc}") from None
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""", r'\1"UTF-8"', text, count=1)
    return text.encode("utf-8")


def codecs_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()


def read_mxl(data: bytes, limits: ReadLimits) -> bytes:
    """The MusicXML document inside an .mxl archive, after the archive checks."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:  # a directory entry
        # needing a newer zip version than Python reads raises NotImplementedError (found by benchmarks/fuzz.py)
        raise CorruptFileError(f"not a valid .mxl (zip) archive: {exc}") from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_archive_members:
            raise over_limit("files in the .mxl archive", len(members), "max_archive_members", limits)
        names = {m.filename: m for m in members}
        root = _container_rootfile(archive, names, limits)
        if root is None:
            candidates = [n for n in names if n.lower().endswith((".xml", ".musicxml"))
                          and not n.startswith("META-INF/")]
            if not candidates:
                raise CorruptFileError(".mxl archive holds no MusicXML file")
            root = sorted(candidates)[0]
        if root.lower().endswith(".mxl"):
            raise UnsupportedFormatError(".mxl archive whose score is another .mxl archive (nested archives "
                                         "are not read)")
        if root not in names:
            raise CorruptFileError(f".mxl archive names a score file {root!r} that it does not hold")
        return _bounded_member(archive, names[root], limits)


def _container_rootfile(archive: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo],
                        limits: ReadLimits) -> str | None:
    info = names.get("META-INF/container.xml")
    if info is None:
        return None
    text = _bounded_member(archive, info, limits)
    found: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.endswith("rootfile") and "full-path" in attrs and not found:
            found.append(attrs["full-path"])

    parser = _safe_parser()
    parser.StartElementHandler = start
    try:
        parser.Parse(text, True)
    except xml.parsers.expat.ExpatError as exc:
        raise CorruptFileError(f".mxl container.xml is not valid XML: {exc}") from None
    return found[0] if found else None


def _bounded_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ReadLimits) -> bytes:
    cap = limits.max_file_bytes
    if info.file_size > cap:
        raise over_limit("uncompressed size in MB", info.file_size / 2**20, "max_file_mb", limits)
    ratio_cap = limits.max_compression_ratio
    if info.compress_size and info.file_size / info.compress_size > ratio_cap:
        raise over_limit("compression ratio of an .mxl member", info.file_size / info.compress_size,
                         "max_compression_ratio", limits)
    try:
        with archive.open(info) as fh:
            data = fh.read(cap + 1)  # bounded even if the header lies about the size
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError,
            RuntimeError) as exc:
        raise CorruptFileError(f"cannot read {info.filename!r} from the .mxl archive: {exc}") from None
    if len(data) > cap:
        raise over_limit("uncompressed size in MB", len(data) / 2**20, "max_file_mb", limits)
    if info.compress_size and len(data) / max(info.compress_size, 1) > ratio_cap:
        raise over_limit("compression ratio of an .mxl member", len(data) / info.compress_size,
                         "max_compression_ratio", limits)
    return data


def _refuse_entities(*_args: object) -> None:
    raise CorruptFileError("XML entity declarations are not accepted (entity-expansion attacks)")


def _refuse_external(*_args: object) -> int:
    raise CorruptFileError("XML external entities are not accepted")


def _safe_parser() -> xml.parsers.expat.XMLParserType:
    parser = xml.parsers.expat.ParserCreate()
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


@dataclass
class _ScanState:
    depth: int = 0
    root: str = ""
    parts: int = 0
    measures: int = 0
    measures_max: int = 0
    notes: int = 0
    divisions: float = 1.0
    text: list[str] | None = None


def check_musicxml(data: bytes, limits: ReadLimits) -> XmlSummary:
    """Scan MusicXML bytes; raise a one-line error for anything hostile or broken."""
    state = _ScanState()
    meters: list[tuple[str, str]] = []  # (beats, beat-type) of each <time>, composite parts joined by '+'
    time_parts: dict[str, list[str]] = {"beats": [], "beat-type": []}
    max_depth = limits.max_xml_depth
    max_measures = limits.max_measures
    max_notes = limits.max_notes
    max_quarters = limits.max_note_quarters

    def start(tag: str, _attrs: dict[str, str]) -> None:
        state.depth += 1
        if state.depth > max_depth:
            raise over_limit("XML nesting depth", state.depth, "max_xml_depth", limits)
        if not state.root:
            state.root = tag
            if tag not in MUSICXML_ROOTS:
                raise UnsupportedFormatError(f"not a MusicXML score (root element <{tag}>)")
        elif tag == "part" and state.depth == 2:
            state.parts += 1
            state.measures = 0
        elif tag == "measure":
            state.measures += 1
            if state.measures > max_measures:
                raise over_limit("measures in one part", state.measures, "max_measures", limits)
        elif tag == "note":
            state.notes += 1
            if state.notes > max_notes:
                raise over_limit("note count", state.notes, "max_notes", limits)
        if tag in ("divisions", "duration", "beats", "beat-type"):
            state.text = []
        elif tag == "time":
            time_parts["beats"].clear()
            time_parts["beat-type"].clear()

    def chars(text: str) -> None:
        if state.text is not None:
            state.text.append(text)

    def end(tag: str) -> None:
        state.depth -= 1
        if tag == "measure":
            state.measures_max = max(state.measures_max, state.measures)
        elif tag == "time" and time_parts["beats"]:
            meters.append(("+".join(time_parts["beats"]), "+".join(time_parts["beat-type"])))
        if state.text is None or tag not in ("divisions", "duration", "beats", "beat-type"):
            return
        raw = "".join(state.text).strip()
        state.text = None
        if tag in ("beats", "beat-type"):
            time_parts[tag].append(raw)
            return
        try:
            value = float(raw)
        except ValueError:
            raise CorruptFileError(f"<{tag}> holds {raw[:20]!r}, not a number") from None
        if tag == "divisions":
            if not value > 0 or not math.isfinite(value):
                raise CorruptFileError(f"<divisions> must be a positive number, not {raw[:20]!r}")
            state.divisions = value
        elif not value >= 0:  # negative or NaN
            raise CorruptFileError(f"<duration> must not be negative, not {raw[:20]!r}")
        elif value / state.divisions > max_quarters:
            raise over_limit("one note's length in quarter notes", value / state.divisions,
                             "max_note_quarters", limits)

    parser = _safe_parser()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise CorruptFileError(f"not well-formed XML: {exc}") from None
    check_meters(meters)
    if state.root == "score-timewise":
        raise UnsupportedFormatError("timewise MusicXML (<score-timewise>) is not supported; "
                                     "save it as partwise MusicXML")
    return XmlSummary(state.root, state.parts, state.measures_max, state.notes)
