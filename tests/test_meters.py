"""The meter a piece is planned in when the request leaves it open: drawn for the style from the corpus."""

from __future__ import annotations

from collections import Counter

from cadenza.compose.meters import meter_table, style_meter, with_style_meter
from cadenza.compose.request import ComposeRequest, resolve


def test_the_table_knows_chorales_are_in_common_time_and_falls_back_to_wider_groups() -> None:
    group, counts = meter_table("baroque", "satb-choir")
    assert group == "epoch=baroque/ensemble=satb-choir" and max(counts, key=counts.get) == "4/4"
    assert meter_table("folk", "lead-sheet")[0] == "epoch=folk"  # no folk lead sheets counted: the epoch's
    assert meter_table(None, "string-quartet")[0] == "ensemble=string-quartet"
    assert meter_table(None, None) is None and meter_table("no-such-epoch", None) is None


def test_drawn_meters_follow_the_styles_counts_and_the_same_seed_draws_the_same() -> None:
    drawn = Counter(style_meter("baroque", "satb-choir", seed)[0] for seed in range(200))
    assert drawn[(4, 4)] > 150 and set(drawn) <= {(4, 4), (3, 4)}
    assert style_meter("classical", "solo-piano", 5) == style_meter("classical", "solo-piano", 5)
    assert len({style_meter("classical", "solo-piano", seed)[0] for seed in range(50)}) >= 4


def test_a_plan_without_a_meter_gets_one_and_says_so_an_asked_meter_is_kept() -> None:
    plan = with_style_meter(resolve(ComposeRequest(ensemble="satb", epoch="baroque", bars=8)), seed=3)
    assert plan.meter is not None and plan.labels["meter"] == f"{plan.meter[0]}/{plan.meter[1]}"
    assert "meter" in plan.implied and any("give --meter" in note for note in plan.notes)
    asked = resolve(ComposeRequest(ensemble="satb", epoch="baroque", meter="5/4", bars=8))
    assert with_style_meter(asked, seed=3) is asked


def test_popular_piano_is_written_as_the_corpus_popular_piano_arrangements() -> None:
    """The corpus' popular piano music is POP909's arrangements (label keyboard); its popular solo-piano works are
    Joplin rags. A popular piano piece is conditioned, and its meter drawn, as the arrangements (mostly 4/4; the
    rags' table gave 2/4 in 70% of draws), while what was asked and is judged stays the ensemble's own label."""
    from cadenza.compose.generate import plan_prompt
    from cadenza.tokens.events import F
    from cadenza.tokens.labels import label_ids

    plan = resolve(ComposeRequest(epoch="popular", bars=8))
    assert plan.ensemble is not None and plan.ensemble.name == "piano"
    assert plan.labels["ensemble"] == "solo-piano" and plan.model_labels["ensemble"] == "keyboard"
    assert any("keyboard" in note for note in plan.notes)
    prompt_labels = set(plan_prompt(plan)[:, F["label"]].tolist())
    assert set(label_ids({"ensemble": "keyboard"})) <= prompt_labels
    assert not set(label_ids({"ensemble": "solo-piano"})) & prompt_labels
    drawn = Counter(with_style_meter(plan, seed).meter for seed in range(100))
    assert drawn[(4, 4)] > 60
    classical = resolve(ComposeRequest(epoch="classical", ensemble="piano", bars=8))
    assert classical.model_labels == classical.labels  # other epochs: the label as it is


def test_a_form_named_with_form_sets_its_meter_unless_one_is_asked() -> None:
    """--form waltz was drawn a meter from the ensemble's works (an orchestra's waltz in 4/4, a jig in 2/4): only a
    prompt's words set a form's meter."""
    from cadenza.compose import ComposeRequest
    from cadenza.compose.request import resolve

    for form, meter in (("waltz", (3, 4)), ("jig", (6, 8)), ("march", (2, 4))):
        plan = resolve(ComposeRequest(form=form, ensemble="orchestra", seed=56))
        assert plan.meter == meter and plan.labels["meter"] == f"{meter[0]}/{meter[1]}"
        assert f"form {form} -> meter {meter[0]}/{meter[1]} (give --meter to choose)" in plan.notes
        assert "meter" not in plan.implied  # the form asked it: written as asked, never renotated
    assert resolve(ComposeRequest(form="waltz", meter="6/8")).meter == (6, 8)
    assert resolve(ComposeRequest(form="chorale")).meter is None  # (drawn later from the chorales' meters)
