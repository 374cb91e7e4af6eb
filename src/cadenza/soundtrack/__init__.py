"""Soundtracks: long, non-looping music that follows a timeline of moods, written segment by segment."""

from cadenza.soundtrack.engine import Cue, SoundtrackWriter, repetition, write_soundtrack
from cadenza.soundtrack.timeline import Segment, Timeline, load_timeline, parse_shorthand, timeline_from

__all__ = ["Cue", "Segment", "SoundtrackWriter", "Timeline", "load_timeline", "parse_shorthand", "repetition",
           "timeline_from", "write_soundtrack"]
