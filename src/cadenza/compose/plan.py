"""The form of a piece before a note is written: phrases and where they arrive.

A piece of eight bars or more is cut into phrases (:data:`PHRASE_BARS` bars by default; eight in the styles of
:data:`SENTENCE_STYLES`: see :func:`phrase_bars_for`) grouped in pairs, a period: the
first phrase of a pair ends on a half cadence (the dominant, held), the second on an authentic cadence
(dominant, then the tonic on the phrase's last bar). The piece's last phrase always closes with an authentic
cadence, and its last bar holds the tonic chord. :class:`CadencePlan` says, bar by bar, which chord a cadence
bar leans to; :class:`cadenza.compose.rules.VoiceRules` turns that into biases (and, in the last bar of a piece
in an asked key, a mask).
"""

from __future__ import annotations

from dataclasses import dataclass

from cadenza.compose.request import Key

PHRASE_BARS = 4
#: styles whose phrases are eight bars long in a piece of 16 bars or more: the classical theme is a sentence (an
#: idea of two bars, its restatement, a continuation that drives to the cadence) or a period of two of them, so
#: a 16-bar theme has two phrase ends, a half cadence at bar 8 and an authentic one at 16. Four-bar phrases put a
#: cadence every four bars, and the cadential six-four's dominant half a bar before it: 16 classical piano pieces
#: were heard cadencing 1.25 times per four bars, where the real sonatas' openings cadence 0.49 times (p90 1.16),
#: and arrived at bars 4, 8, 12 and 16 every time (real quartets at p90 two of the four)
SENTENCE_STYLES = ("classical",)
#: ensembles (``ensemble`` labels) whose phrases are eight bars long in a piece of 16 bars or more, whatever the
#: style: a symphony's themes are broad. The craft benchmark's held-out symphonic openings (OpenScore Orchestra:
#: Beethoven, Brahms, Haydn, Schubert) arrive at one of bars 4, 8, 12 and 16 (median; p90 three) and cadence 0.85
#: times a phrase of four bars; ours, in the romantic style's four-bar phrases, arrived at three and cadenced 1.62
#: times (eight-bar phrases: two, 1.0; 16 pieces). A song's ("chamber", the label its voice and piano are learned
#: under) too: the craft benchmark's held-out Lieder (Schubert, Schumann, Brahms, Franz, Hensel, Wolf) cadence 0.5
#: times per four bars (median; p90 1.2) and arrive at none of bars 4, 8, 12 and 16 (p90 0.43 of them); ours, in
#: four-bar phrases, cadenced 1.5 times and arrived at all four (12 pieces)
BROAD_PHRASE_ENSEMBLES = ("orchestra", "chamber")
#: ensembles (``ensemble`` labels) whose pieces may open with an introduction of the accompaniment alone: a
#: song's piano. In 48 held-out Lieder of the craft benchmark's pool (Schubert, Schumann, Brahms, Franz, Hensel,
#: Wolf) the voice enters in the first bar in 16, in the second in 10 and later in 22; ours sang from the
#: first note, every time
INTRO_ENSEMBLES = ("chamber",)
INTRO_BARS = 2  # bars of an introduction
INTRO_SHARE = 2 / 3  # share of the pieces that have one (the Lieder whose voice enters after the first bar)
INTRO_MIN_BARS = 12  # pieces shorter than this have none (two phrases still follow one)


def intro_bars_for(ensemble: str | None, bars: int, seed: int) -> int:
    """Bars the accompaniment plays alone before the tune enters, in a piece of ``bars`` bars for ``ensemble``
    (its label): :data:`INTRO_BARS` in :data:`INTRO_SHARE` of the pieces of the ensembles of
    :data:`INTRO_ENSEMBLES` (seeded: the same request gets the same form), else none."""
    if ensemble not in INTRO_ENSEMBLES or bars < INTRO_MIN_BARS:
        return 0
    return INTRO_BARS if (seed * 2654435761 % 2**32) / 2**32 < INTRO_SHARE else 0


def phrase_bars_for(style: str | None, bars: int, ensemble: str | None = None) -> int:
    """Bars in a phrase of a piece of ``bars`` bars in ``style`` (an epoch label) for ``ensemble`` (its label):
    :data:`PHRASE_BARS`, or eight in the styles of :data:`SENTENCE_STYLES` and the ensembles of
    :data:`BROAD_PHRASE_ENSEMBLES` where the piece holds two such phrases or more (a shorter one is a period of
    four-bar phrases)."""
    if (style in SENTENCE_STYLES or ensemble in BROAD_PHRASE_ENSEMBLES) and bars >= 4 * PHRASE_BARS:
        return 2 * PHRASE_BARS
    return PHRASE_BARS


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class
    pcs: tuple[int, ...]  # pitch classes, root first
    name: str  # its Roman numeral in the key
    bass: int | None = None  # the pitch class in the bass where it is not the root (a six-four's fifth)

    @property
    def bass_pc(self) -> int:
        """The pitch class the lowest part sounds: the root, or :attr:`bass` where the chord is inverted."""
        return self.root if self.bass is None else self.bass


def tonic_chord(key: Key) -> Chord:
    third = 4 if key.mode == "major" else 3
    return Chord(key.tonic_pc, (key.tonic_pc, (key.tonic_pc + third) % 12, (key.tonic_pc + 7) % 12),
                 "I" if key.mode == "major" else "i")


def cadential_six_four(key: Key) -> Chord:
    """The tonic triad over the dominant in the bass (I6/4 before V7 | I): the suspension that delays the
    dominant. Heard by its pitches it is a tonic chord held one beat, so the dominant's arrival on the bar's
    last beat is not heard as a half cadence inside the phrase, as a V7 held from the bar's middle was."""
    chord = tonic_chord(key)
    return Chord(chord.root, chord.pcs, chord.name + "64", bass=(key.tonic_pc + 7) % 12)


def dominant_chord(key: Key, seventh: bool = True) -> Chord:
    """V7 (or V) with the leading note in either mode (the harmonic minor's dominant)."""
    root = (key.tonic_pc + 7) % 12
    triad = (root, (root + 4) % 12, (root + 7) % 12)
    return Chord(root, (*triad, (root + 10) % 12), "V7") if seventh else Chord(root, triad, "V")


def subdominant_chord(key: Key) -> Chord:
    """IV (iv in minor): the chord before a half cadence, so the arrival on the dominant is a change."""
    root = (key.tonic_pc + 5) % 12
    third = 4 if key.mode == "major" else 3
    return Chord(root, (root, (root + third) % 12, (root + 7) % 12), "IV" if key.mode == "major" else "iv")


@dataclass(frozen=True)
class CadencePlan:
    """Phrase ends and their cadences for a piece of ``bars`` bars in ``key`` (bar indices from 0)."""

    key: Key
    bars: int
    phrase_bars: int = PHRASE_BARS
    close_on_tonic: bool = True  # the last bar holds the tonic chord (False: something follows, e.g. a new key)
    intro_bars: int = 0  # bars before the first phrase (an introduction: see intro_bars_for)

    @property
    def phrase_ends(self) -> list[tuple[int, str]]:
        """(bar index of the arrival, 'half' | 'authentic') for every phrase (the first phrase begins after the
        introduction)."""
        return [(last, kind) for last, kind in phrase_arrivals(self.bars, self.phrase_bars, self.intro_bars)
                if self.close_on_tonic or last < self.bars - 1]

    def chord_at(self, bar: int) -> Chord | None:
        """The chord a cadence bar leans to: the dominant on a half cadence's arrival (the subdominant in the
        bar before, so the arrival is a change), the dominant seventh in the bar before an authentic arrival and
        the tonic on it; None in the bars between."""
        for last, kind in self.phrase_ends:
            if bar == last:
                return dominant_chord(self.key, seventh=False) if kind == "half" else tonic_chord(self.key)
            if bar == last - 1:
                return dominant_chord(self.key) if kind == "authentic" else subdominant_chord(self.key)
        return None

    def arrival_at(self, bar: int) -> Chord | None:
        """The chord a phrase arrives on in its last bar (the dominant of a half cadence, the tonic of an
        authentic one); None elsewhere and in the piece's last bar (see :meth:`final_chord`)."""
        if bar == self.bars - 1 and self.close_on_tonic:
            return None
        return self.chord_at(bar) if any(bar == last for last, _ in self.phrase_ends) else None

    def final_chord(self, bar: int) -> Chord | None:
        """The tonic chord in the piece's last bar (every note one of its tones, the tonic in the bass)."""
        return tonic_chord(self.key) if self.close_on_tonic and bar == self.bars - 1 else None

    def describe(self) -> list[str]:
        """For the report: 'half@4', 'authentic@8' … (bar numbers from 1)."""
        return [f"{kind}@{bar + 1}" for bar, kind in self.phrase_ends]


def phrase_arrivals(bars: int, phrase_bars: int = PHRASE_BARS, intro_bars: int = 0) -> list[tuple[int, str]]:
    """(bar index of the arrival, 'half' | 'authentic') for every phrase of a piece of ``bars`` bars whose first
    ``intro_bars`` are an introduction: phrases of ``phrase_bars`` bars in pairs (a half cadence, then an
    authentic one), the last closing with an authentic cadence on the piece's last bar. Bars left over join
    the last phrase, unless they are more than half a phrase and short of one by no more than the
    introduction: then they are a last phrase of their own (two bars of introduction, eight and six)."""
    body = bars - intro_bars
    lengths = [phrase_bars] * max(body // phrase_bars, 1)
    left = body - sum(lengths)
    if left > phrase_bars / 2 and left >= phrase_bars - intro_bars:
        lengths.append(left)
    else:
        lengths[-1] += left
    ends, last = [], intro_bars - 1
    for number, length in enumerate(lengths):
        last += length
        ends.append((last, "authentic" if last == bars - 1 or number % 2 == 1 else "half"))
    return ends


#: styles whose tunes are built of strains played twice (a folk dance tune: an eight-bar strain, a and a
#: contrasting b, then the strain again with a new ending; real Nottingham tunes' self-similarity is 0.93, and
#: a a′ b a″ made 0.80)
STRAIN_STYLES = ("folk",)
#: bars of the first phrase that a returning phrase restates, at most: its opening idea (an eight-bar classical
#: phrase restated its whole first half, four bars, and 16-bar piano pieces brought back a figure of their first
#: four bars in a third of their later bars, where the held-out sonatas' openings do in 17%, p90 25%)
RESTATED_BARS = 2


def returns(bars: int, style: str | None = None, phrase_bars: int = PHRASE_BARS,
            intro_bars: int = 0) -> dict[int, int]:
    """The repetition scheme, bar index -> the earlier bar whose melody it restates: in every four phrases
    (:func:`phrase_arrivals`) they go a a′ b a″ (a′ and a″ open like a, for two bars, then go their own way to
    their cadences); a piece of two or three phrases is a parallel period (a a′), and a longer last phrase holds
    no a″. A piece of one phrase restates nothing. In the styles of :data:`STRAIN_STYLES` every 16 bars are a
    strain of two phrases (a b) played twice, the second time restating all but its last bar. The phrases begin
    after the first ``intro_bars`` (an introduction)."""
    out: dict[int, int] = {}
    ends = phrase_arrivals(bars, phrase_bars, intro_bars)
    if len(ends) < 2:
        return out
    if style in STRAIN_STYLES:
        for start in range(intro_bars, bars, 4 * phrase_bars):
            for offset in range(2 * phrase_bars - 1):
                if start + 2 * phrase_bars + offset < bars:
                    out[start + 2 * phrase_bars + offset] = start + offset
        return out
    starts = phrase_starts(bars, phrase_bars, intro_bars)
    for number, first in enumerate(starts):
        if number % 4 in (1, 3):  # a′ and a″ of each group of four phrases
            theme = starts[number - number % 4]
            for offset in range(min(phrase_bars // 2, RESTATED_BARS)):
                out[first + offset] = theme + offset
    return out


def phrase_starts(bars: int, phrase_bars: int = PHRASE_BARS, intro_bars: int = 0) -> list[int]:
    """The first bar of every phrase of :func:`phrase_arrivals`' form."""
    return [intro_bars] + [last + 1 for last, _ in phrase_arrivals(bars, phrase_bars, intro_bars)[:-1]]


def climax_phrase(first_bar: int, bars: int, style: str | None = None, phrase_bars: int = PHRASE_BARS,
                  intro_bars: int = 0) -> bool:
    """Whether the phrase from ``first_bar`` is the contrasting one of :func:`returns`' scheme, where the tune
    reaches its high point: the b of a a′ b a″ (in a piece of four phrases or more), the b of a strain (a b)
    the first time it is played (the phrases begin after the first ``intro_bars``)."""
    if style in STRAIN_STYLES:
        return bars - intro_bars >= 2 * phrase_bars and (first_bar - intro_bars) % (4 * phrase_bars) == phrase_bars
    starts = phrase_starts(bars, phrase_bars, intro_bars)
    return len(starts) >= 4 and first_bar in starts and starts.index(first_bar) % 4 == 2


def contrasting_phrases(bars: int, style: str | None = None, phrase_bars: int = PHRASE_BARS,
                        intro_bars: int = 0) -> dict[int, tuple[int, int]]:
    """Bar index -> (first bar, bars) of the contrasting phrase (:func:`climax_phrase`) it lies in, for every
    bar of such a phrase: worked out once, for the rules that read it at every note."""
    starts = phrase_starts(bars, phrase_bars, intro_bars)
    return {bar: (start, end - start) for start, end in zip(starts, [*starts[1:], bars], strict=True)
            if climax_phrase(start, bars, style, phrase_bars, intro_bars) for bar in range(start, end)}
