"""What a request says: the fields of a :class:`ComposeRequest` (the user's words as given, every one optional)
and the words people use for some of them (tempo words, what people call the corpus' composers).

Below both the resolution of a request into a plan (:mod:`cadenza.compose.request`, which re-exports these
names) and the prompt readers (:mod:`cadenza.compose.prompt`, :mod:`cadenza.compose.prompt_embed`): a prompt
fills a request's empty fields from text before the request is resolved, so the readers need the request's
shape and words, and the resolution needs the readers; the shared part lives here, under both.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the meter a form is written in, where the corpus' works of the form agree (a waltz in 3/4, a jig in 6/8): a form
#: named in words or with --form sets it where no meter is asked (a waltz had been drawn in 4/4, a jig in 2/4)
FORM_METERS = {"waltz": "3/4", "jig": "6/8", "march": "2/4", "polka": "2/4", "reel": "4/4", "hornpipe": "4/4"}
#: the tempo (quarters a minute) a dance is played at where neither a tempo nor a mood is asked: a waltz's and a
#: march's accompaniment (cadenza.compose.dances) is their pulse (left to the model, a march for strings was written
#: at 40 bpm, its "oom-pah" a funeral's)
FORM_TEMPI = {"waltz": 150.0, "march": 116.0}
# tempo words and the bpm they mean (the middle of the tempo-class buckets)
TEMPO_WORDS = {"grave": 40, "largo": 52, "adagio": 68, "andante": 92, "moderato": 114, "allegro": 140,
               "presto": 180}
# what people call the corpus' composers (the longest match wins in a prompt)
COMPOSER_ALIASES = {
    "bach": "J. S. Bach", "j. s. bach": "J. S. Bach", "js bach": "J. S. Bach", "johann sebastian bach": "J. S. Bach",
    "c. p. e. bach": "C. P. E. Bach", "cpe bach": "C. P. E. Bach", "carl philipp emanuel bach": "C. P. E. Bach",
    "handel": "G. F. Handel", "händel": "G. F. Handel", "corelli": "A. Corelli", "monteverdi": "C. Monteverdi",
    "palestrina": "G. P. da Palestrina", "josquin": "Josquin des Prez", "lusitano": "V. Lusitano",
    "trecento": "Trecento composers", "ciconia": "J. Ciconia", "lucca codex": "Lucca Codex", "haydn": "J. Haydn",
    "mozart": "W. A. Mozart", "beethoven": "L. van Beethoven", "schubert": "F. Schubert", "weber": "C. M. von Weber",
    "chopin": "F. Chopin", "schumann": "R. Schumann", "robert schumann": "R. Schumann",
    "clara schumann": "C. Schumann", "verdi": "G. Verdi", "amy beach": "A. Beach", "schoenberg": "A. Schoenberg",
    "schönberg": "A. Schoenberg", "webern": "A. Webern", "joplin": "S. Joplin", "scott joplin": "S. Joplin",
    "james p. johnson": "J. R. Johnson", "liliuokalani": "Liliʻuokalani", "liliʻuokalani": "Liliʻuokalani",
}


@dataclass(frozen=True)
class ComposeRequest:
    """What a user asks for, as given: every field optional (:func:`cadenza.compose.request.resolve` checks
    them and fills what is left open)."""

    composer: str | None = None
    epoch: str | None = None
    mood: str | None = None
    valence: float | None = None  # -1..1, with arousal instead of a mood word
    arousal: float | None = None
    key: str | None = None  # "D minor", "F# major", "Bb", "c#m"
    meter: str | None = None  # "3/4"
    tempo_bpm: float | None = None
    density: str | None = None
    ensemble: str | None = None
    form: str | None = None
    bars: int | None = None
    duration_s: float | None = None
    prompt: str | None = None
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 1.0  # the model's whole distribution: trimming its tail made the v2 model's pieces plainer
    candidates: int = 1
    guidance: float = 1.0  # classifier-free guidance on the labels (1 = off; 1.5-3 weighs them more)
    guard: bool = True  # resample what copies the training corpus (see cadenza.compose.guard)
    max_shared_notes: int | None = None  # the guard's threshold in notes; None: the model's calibrated one
