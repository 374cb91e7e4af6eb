"""The suite's outputs: ``results.json`` (everything measured), ``REPORT.md`` (tables) and PNG plots beside it.
Every table and plot names the command that regenerates it (each plot carries it in its footer too).
Plots need matplotlib (the ``render`` extra); without it the report is written without them, and says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cadenza.files import atomic_write_bytes
from cadenza.lab.figures import figure, pct
from cadenza.listen.quality import METRICS

log = logging.getLogger(__name__)
NAMES = {"jsb": "JSB Chorales", "nottingham": "Nottingham", "musedata": "MuseData", "piano": "Piano-midi.de"}


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


# ------------------------------------------------------------------------------------------------- plots
def plot_nll(nll: dict[str, Any], path: Path, command: str) -> Path | None:
    table, held = nll.get("boulanger", {}), (nll.get("heldout") or {}).get("table")

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 2 if held else 1, 1)
        names = list(table)
        rows: dict[str, list[float | None]] = {"Cadenza": [], "n-gram (same harness)": []}
        for model in ("RNN-NADE (Boulanger 2012)", "RNN-RBM (Boulanger 2012)", "TCN (Bai 2018)", "LSTM (Chung 2014)"):
            rows[model] = []
        for name in names:
            row = table[name]
            trained = row.get("status") == "trained"
            rows["Cadenza"].append(row["test"]["nll_per_frame"] if trained else None)
            rows["n-gram (same harness)"].append(row["ngram_baseline"]["test_nll_per_frame"] if trained else None)
            for model in list(rows)[2:]:
                rows[model].append((row.get("published") or {}).get(model))
        width = 0.8 / len(rows)
        for k, (model, values) in enumerate(rows.items()):
            xs = [i + (k - len(rows) / 2 + 0.5) * width for i, v in enumerate(values) if v is not None]
            ax.bar(xs, [v for v in values if v is not None], width, label=model.replace(" (Boulanger 2012)", ""))
        for i, name in enumerate(names):
            if table[name].get("status") != "trained":
                ax.text(i, 0.3, "not\ntrained", ha="center", fontsize=8, color="0.3")
        ax.set_xticks(range(len(names)), [NAMES.get(n, n) for n in names], fontsize=8)
        ax.set_ylabel("test NLL, nats per frame (lower is better)")
        ax.set_title("Polyphonic benchmarks", fontsize=10)
        ax.legend(fontsize=7)
        if held:
            ax2 = fig.add_subplot(1, 2, 2)
            groups = [g for g in held if g == "all" or g.startswith("epoch=")]
            xs = list(range(len(groups)))
            ax2.bar([x - 0.2 for x in xs], [held[g]["ngram"] for g in groups], 0.4, label="n-gram", color="0.6")
            ax2.bar([x + 0.2 for x in xs], [held[g]["transformer_no_labels"] for g in groups], 0.4, label="Cadenza")
            ax2.set_xticks(list(xs), [g.replace("epoch=", "") for g in groups], rotation=40, fontsize=8)
            ax2.set_ylabel("nats per note (held-out test works)")
            ax2.set_title("Held-out NLL per note", fontsize=10)
            ax2.legend(fontsize=7)
    return figure(path, command, draw)


def plot_control(control: dict[str, Any], path: Path, command: str) -> Path | None:
    table = control["table"]

    def draw(fig: Any) -> None:
        ax = fig.add_subplot(1, 1, 1)
        axes = list(table)
        xs = range(len(axes))
        ax.bar(xs, [table[a]["share"] for a in axes], 0.6, label="heard as asked")
        for x, a in zip(xs, axes, strict=True):
            ax.plot([x - 0.3, x + 0.3], [table[a]["chance"]] * 2, color="black", lw=2,
                    label="chance" if x == 0 else None)
            if table[a].get("goal"):
                ax.plot([x - 0.3, x + 0.3], [table[a]["goal"]] * 2, color="tab:red", ls="--", lw=1.5,
                        label="goal" if a == next(b for b in axes if table[b].get("goal")) else None)
        ax.set_xticks(list(xs), axes)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share of pieces")
        ax.set_title(f"Control: adherence per label ({control['seeds']} seed(s), {control['bars']} bars)", fontsize=10)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure(path, command, draw)


def plot_originality(originality: dict[str, Any], path: Path, command: str) -> Path | None:
    if not originality.get("checked"):
        return None
    mine = originality.get("longest_run_per_piece") or []
    human = ((originality.get("human") or {}).get("top") or {})

    def draw(fig: Any) -> None:
        import numpy as np

        ax = fig.add_subplot(1, 1, 1)
        values = human.get("values") or []
        top = max([*mine, *values[: int(0.99 * len(values))], 30])
        bins = np.arange(0, min(top, 120) + 3, 2)
        ax.hist(np.clip(mine, 0, bins[-1]), bins, density=True, alpha=0.7, label=f"generated ({len(mine)} pieces)")
        if values:
            ax.hist(np.clip(values, 0, bins[-1]), bins, density=True, alpha=0.45, color="0.4",
                    label=f"held-out human, top lines ({len(values)} pieces)")
        for p, style in (("p50", ":"), ("p90", "--"), ("p99", "-.")):
            if p in human:
                ax.axvline(human[p], color="black", ls=style, lw=1, label=f"human {p} = {human[p]:g}")
        ax.set_xlabel("longest run shared with one training work (notes)")
        ax.set_ylabel("density")
        ax.set_title("Originality: copied runs of generated pieces vs held-out human music", fontsize=10)
        ax.legend(fontsize=8)
    return figure(path, command, draw)


def plot_quality(quality: dict[str, Any], path: Path, command: str) -> Path | None:
    values = quality.get("values") or {}
    epochs = [e for e, v in values.items() if v[METRICS[0]]["generated"] and v[METRICS[0]]["real"]]
    if not epochs:
        return None

    def draw(fig: Any) -> None:
        for m, metric in enumerate(METRICS):
            ax = fig.add_subplot(1, len(METRICS), m + 1)
            data, positions, colours = [], [], []
            for i, epoch in enumerate(epochs):
                data += [values[epoch][metric]["real"], values[epoch][metric]["generated"]]
                positions += [3 * i, 3 * i + 1]
                colours += ["0.7", "tab:blue"]
            parts = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=False)
            for patch, colour in zip(parts["boxes"], colours, strict=True):
                patch.set_facecolor(colour)
            ax.set_xticks([3 * i + 0.5 for i in range(len(epochs))], epochs, rotation=60, fontsize=7)
            ax.set_title(metric.replace("_", " "), fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
        from matplotlib.patches import Patch

        fig.axes[0].legend([Patch(color="0.7"), Patch(color="tab:blue")], ["real", "generated"], fontsize=7,
                           loc="lower left")
    return figure(path, command, draw, size=(12, 4))


def plot_speed(speed: dict[str, Any], path: Path, command: str) -> Path | None:
    sampling, train = speed.get("sampling"), (speed.get("train") or {}).get("rows")

    def draw(fig: Any) -> None:
        panels = [p for p in (sampling, train) if p]
        if sampling:
            ax = fig.add_subplot(1, len(panels), 1)
            labels = ["Cadenza\n(raw steps)", "Cadenza\n(composer)"]
            values = [sampling["cadenza_raw"]["notes_per_s"], sampling["cadenza_composer"]["notes_per_s"]]
            if "peer_same_music" in sampling:
                labels.append("GPT-2 peer\n(generate)")
                values.append(sampling["peer_same_music"]["notes_per_s"])
                ax.axhline(2 * values[2], color="tab:red", ls="--", lw=1, label="goal: 2x the peer")
                ax.set_title(f"Sampling: {sampling['ratio_notes_per_s']:.2f}x the peer", fontsize=10)
                ax.legend(fontsize=8)
            ax.bar(labels, values, color=["tab:blue", "tab:cyan", "0.6"][: len(values)])
            ax.set_ylabel("notes per second (1 thread)")
            ax.tick_params(axis="x", labelsize=8)
        if train:
            ax = fig.add_subplot(1, len(panels), len(panels))
            names = list(dict.fromkeys(r["preset"] for r in train))
            counts = sorted({r["threads"] for r in train})
            width = 0.8 / len(counts)
            for k, n in enumerate(counts):
                mine = [(names.index(r["preset"]), r["notes_per_s"]) for r in train if r["threads"] == n]
                ax.bar([i + (k - len(counts) / 2 + 0.5) * width for i, _ in mine], [v for _, v in mine], width,
                       label=f"{n} thread{'s' if n > 1 else ''}")
            ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names])
            ax.legend(fontsize=8)
            ax.set_ylabel("notes per second learned")
            ax.set_title("Training throughput", fontsize=10)
            ax.tick_params(axis="x", labelsize=8)
    return figure(path, command, draw)


# ----------------------------------------------------------------------------------------------- markdown
def _nll_md(nll: dict[str, Any], command: str, quick: bool) -> list[str]:
    out = ["## NLL", ""]
    table = nll.get("boulanger", {})
    names = list(table)
    if names:
        out += ["### The polyphonic benchmarks (Boulanger-Lewandowski 2012)", "",
                "Test NLL in nats per frame (lower is better). Cadenza's rows are the checkpoints that ship in "
                "`src/cadenza/models/benchmarks/`, scored exactly (renormalised over canonical roll sequences; "
                "an ensemble as the step-by-step mixture of its models, weights fitted on valid); the "
                "n-gram is the variable-order baseline over the same events, fitted on each train split; the "
                "published rows are quoted.", ""]
        limits = {row.get("limit") for row in table.values() if row.get("status") == "trained"}
        if limits - {None}:
            out += [f"*Partial: only the first {max(x for x in limits if x)} test sequences of each benchmark "
                    "(`--quick`).*", ""]
        rows = []
        cells = []
        for n in names:
            row = table[n]
            cells.append(f"**{row['test']['nll_per_frame']:.2f}**" if row.get("status") == "trained"
                         else f"{row['status']}")
        rows.append(["Cadenza (this run)", *cells])
        rows.append(["n-gram, same harness", *[_fmt(table[n]["ngram_baseline"]["test_nll_per_frame"])
                                               if table[n].get("status") == "trained" else "–" for n in names]])
        published = sorted({m for n in names for m in (table[n].get("published") or {})})
        for model in published:
            rows.append([model, *[_fmt((table[n].get("published") or {}).get(model)) for n in names]])
        out += _table(["model", *[NAMES.get(n, n) for n in names]], rows)
        trained = [n for n in names if table[n].get("status") == "trained"]
        if trained:
            out += _table(["checkpoint", "models", "parameters", "test sequences", "frames", "valid NLL", "seconds"],
                          [[NAMES.get(n, n), _fmt(len((table[n].get("ensemble") or {}).get("members") or [0])),
                            _fmt(table[n]["parameters"]), _fmt(table[n]["test"]["sequences"]),
                            _fmt(table[n]["test"]["frames"]),
                            _fmt((table[n].get("valid") or {}).get("nll_per_frame")), _fmt(table[n]["seconds"], 1)]
                           for n in trained])
        for n in names:
            if table[n].get("status") != "trained":
                out += [f"- {NAMES.get(n, n)}: {table[n]['status']} — {table[n].get('why', '')}"]
        out += [""]
    held = nll.get("heldout") or {}
    out += ["### Held-out NLL per note on the corpus", ""]
    if "skipped" in held:
        out += [f"Skipped: {held['skipped']}", ""]
    elif held:
        spread = "all works" if not held["limit"] else f"an even spread of at most {held['limit']}"
        learned = ("the whole train split" if held["train_limit"] is None
                   else f"an even spread of {held['train_limit']} train works")
        out += [f"Corpus `{held['corpus']}`, test split ({spread}), nats per note. The n-gram (order "
                f"{held['ngram_order']}, chosen on the valid split) learned from {learned}; the transformer is "
                "scored without labels (what the n-gram sees) and with the work's labels given (how Cadenza "
                "composes).", ""]
        rows = [[g, _fmt(r["works"]), _fmt(r["notes"]), _fmt(r["ngram"], 3), f"**{r['transformer_no_labels']:.3f}**",
                 _fmt(r["transformer_labels"], 3), pct(r.get("gain_vs_ngram"))] for g, r in held["table"].items()]
        out += _table(["works", "count", "notes", "n-gram", "Cadenza", "Cadenza, labels given", "gain vs n-gram"],
                      rows)
    out += ["![NLL](nll.png)", "", f"Regenerate: `{command}`", ""]
    return out


def _control_md(control: dict[str, Any], command: str) -> list[str]:
    table = control["table"]
    out = ["## Control", "", f"Pieces composed one label at a time ({control['seeds']} seed(s) per value, "
           f"{control['bars']} bars each); the share where `listen`, blind to the title and metadata, hears the "
           "value asked. Chance: one over the number of values asked for (what a model ignoring the request "
           "would score).", ""]
    rows = []
    for axis, row in table.items():
        goal = row.get("goal")
        rows.append([axis, _fmt(row["pieces"]), f"**{pct(row['share'])}**", pct(row["chance"]),
                     pct(goal) if goal else "–", ("yes" if row["share"] >= goal else "no") if goal else "–",
                     ", ".join(f"{k} ({v})" for k, v in list((row.get("commonest_misses") or {}).items())[:2])])
    out += _table(["label", "pieces", "heard as asked", "chance", "goal", "goal met", "commonest misses"], rows)
    out += ["![control](control.png)", "", f"Regenerate: `{command}`", ""]
    return out


def _originality_md(o: dict[str, Any], command: str) -> list[str]:
    out = ["## Originality", ""]
    if not o.get("checked"):
        return [*out, f"Not checked: {o.get('why_unchecked', 'the model has no originality index')}.", "",
                f"Regenerate: `{command}`", ""]
    longest = o["longest_run_notes"]
    out += [f"{o['pieces']} pieces of {o['bars']} bars composed across styles (every epoch with its usual "
            "ensemble, and the four moods), each checked against the model's training works as it is written. "
            "A piece counts as copied when one of its lines shares more notes with one training work than "
            f"{_threshold(o.get('threshold_notes'))} (the held-out human pieces' 90th percentile).", "",
            *_table(["", "share"], [["copied before the guard", f"**{pct(o['copied_share_before_guard'])}**"],
                                    ["copied after the guard", f"**{pct(o['copied_share_after_guard'])}**"],
                                    ["resamplings (all pieces)", _fmt(o["resamplings_total"])]])]
    human = (o.get("human") or {}).get("top") or {}
    ranks = o.get("generated_rank_among_human") or {}
    mine = o.get("longest_run_per_piece") or []
    if mine:
        import numpy as np

        p = np.percentile(mine, [50, 75, 90, 95, 99])
        rows = [["generated (longest run per piece)", *(_fmt(round(float(x), 2)) for x in p), _fmt(max(mine)),
                 _fmt(len(mine))]]
    else:
        rows = [["generated (longest run per piece)", _fmt(longest["median"]), "–", _fmt(longest["p90"]), "–", "–",
                 _fmt(longest["max"]), _fmt(o["pieces"])]]
    if human:
        rows.append([f"held-out human, top lines ({o.get('human_heldout')})", _fmt(human.get("p50")),
                     _fmt(human.get("p75")), _fmt(human.get("p90")), _fmt(human.get("p95")), _fmt(human.get("p99")),
                     _fmt(human.get("max")), _fmt(human.get("pieces"))])
    out += ["Longest run (notes) shared with one training work:", "",
            *_table(["", "p50", "p75", "p90", "p95", "p99", "max", "pieces"], rows)]
    if ranks:
        out += [f"A generated piece's median rank among the human pieces: {pct(ranks.get('median'))} (the share of "
                f"human pieces that share fewer notes); {pct(o.get('generated_over_human_p50'))} of the pieces "
                f"are over the human median, {pct(o.get('generated_over_human_p90'))} over the human p90.", ""]
    out += ["![originality](originality.png)", "", f"Regenerate: `{command}`", ""]
    return out


def _threshold(value: Any) -> str:
    if isinstance(value, dict):
        if len(set(value.values())) == 1:
            return f"{next(iter(value.values()))} notes"
        return ", ".join(f"{v} notes ({k} lines)" for k, v in value.items())
    return f"{value} notes" if value is not None else "the threshold"


def _quality_md(q: dict[str, Any], command: str) -> list[str]:
    out = ["## Quality", "", f"Musical metrics (MusPy's definitions, `cadenza.listen.quality`) of {q['pieces']} "
           "pieces composed across styles (the originality section's) against "
           f"{q['real_works']} real works ({q['real_source']}). "
           f"Per epoch, the generated median should lie inside the real works' 10th–90th percentile range: "
           f"**{pct(q['inside_share'])}** of (epoch, metric) pairs do.", ""]
    rows = []
    for metric, d in q["overall"].items():
        g, r = d["generated"], d["real"]
        rows.append([metric, f"{_fmt(g.get('p10'))} / **{_fmt(g.get('median'))}** / {_fmt(g.get('p90'))}",
                     f"{_fmt(r.get('p10'))} / **{_fmt(r.get('median'))}** / {_fmt(r.get('p90'))}"])
    out += ["All styles (p10 / median / p90):", "", *_table(["metric", "generated", "real"], rows)]
    rows = []
    for epoch, e in q["per_epoch"].items():
        for metric, m in e["metrics"].items():
            rows.append([epoch, f"{e['generated']} / {e['real']}", metric, _fmt(m["generated_median"]),
                         f"{_fmt(m['real_p10'])} – {_fmt(m['real_p90'])}", "yes" if m["inside"] else "**no**"])
    if rows:
        out += ["Per epoch:", "", *_table(["epoch", "pieces gen. / real", "metric", "generated median",
                                           "real p10 – p90", "inside"], rows)]
    out += ["![quality](quality.png)", "", "Grey: real works; blue: generated.", "", f"Regenerate: `{command}`", ""]
    return out


def _sampling_md(s: dict[str, Any]) -> list[str]:
    peer, cost, raw, comp = s["peer"], s["encoding_cost"], s["cadenza_raw"], s["cadenza_composer"]
    out = ["### Sampling, beside a peer", ""]
    rows = [["Cadenza, raw model steps (grammar only)", _fmt(raw["new_steps"]), _fmt(raw["steps_per_s"], 1),
             f"**{_fmt(raw['notes_per_s'], 1)}**", _fmt(raw["wall_s_median"], 3)],
            [f"Cadenza, the composer ({comp['ensemble']}, {comp['bars']} bars, constraints)", "–",
             _fmt(comp["steps_per_s"], 1), _fmt(comp["notes_per_s"], 1), _fmt(comp["sample_s_median"], 3)]]
    if "skipped" in peer:
        out += [f"The peer was not measured: {peer['skipped']}.", ""]
    else:
        out += [f"The peer is a Hugging Face `{peer['model']}` ({peer['library']}, torch {peer['torch']}) with the "
                f"model's width ({s['model']['d_model']}), layers ({s['model']['n_layers']}), heads "
                f"({s['model']['n_heads']}) and context ({s['model']['context']}); its vocabulary is "
                f"{peer['vocabulary']:,} tokens ({peer['vocabulary_choice']}); it samples with `{peer['sampling']}`, "
                "as AMT and Text2midi do. A flat REMI-style stream (a bar token per bar, a position token per onset, "
                "a part token per part change, pitch, duration and velocity tokens per note) needs "
                f"{cost['remi_tokens_per_note']:.2f} tokens per note where Cadenza needs "
                f"{cost['compound_steps_per_note']:.2f} compound steps (measured in this run on "
                f"{_fmt(cost.get('works'))} real works: {cost.get('source', '')}), so for the same music the peer "
                f"writes {cost['tokens_per_step']:.2f} tokens per Cadenza step. One thread each, medians of "
                f"{s['runs']} runs, the same prompt ({s['prompt']['cadenza_steps']} steps of {s['prompt']['source']}; "
                f"{s['prompt']['peer_tokens']} tokens for the peer).", ""]
        same, count = s["peer_same_music"], s["peer_same_count"]
        rows += [["GPT-2 peer, the same music", _fmt(same["new_tokens"]), _fmt(same["tokens_per_s"], 1),
                  f"**{_fmt(same['notes_per_s'], 1)}**", _fmt(same["wall_s_median"], 3)],
                 ["GPT-2 peer, the same count", _fmt(count["new_tokens"]), _fmt(count["tokens_per_s"], 1), "–",
                  _fmt(count["wall_s_median"], 3)]]
    out += _table(["sampler", "new steps / tokens", "steps or tokens / s", "notes / s", "wall s"], rows)
    out += ["Notes per second: raw steps and peer tokens become notes by the measured steps and tokens per note; "
            "the composer's are the notes of the pieces it wrote.", ""]
    if "skipped" not in peer:
        goal = "meets" if s["ratio_notes_per_s"] >= s["goal_ratio"] else "misses"
        out += [f"**Cadenza writes notes {s['ratio_notes_per_s']:.2f}× as fast as the peer** (raw steps; "
                f"{s['ratio_composer_notes_per_s']:.2f}× through the composer, with its constraints and decoding); "
                f"the goal is {s['goal_ratio']:.0f}×, which it {goal}. Per step against per token, Cadenza's raw "
                f"rate is {s['ratio_raw_steps_per_token']:.2f}× the peer's (a compound step samples 12 fields). "
                f"Peer parameters {peer['parameters']:,}; Cadenza's {s['model']['parameters']:,}.", ""]
    return out


def _speed_md(speed: dict[str, Any], machine: dict[str, Any], command: str) -> list[str]:
    out = ["## Speed", "", f"On this machine: {_machine_line(machine)}.", ""]
    s = speed.get("sampling")
    if s:
        out += _sampling_md(s)
    c = speed.get("compose")
    if c:
        rows = [[e, _fmt(c[e]["bars"]), f"**{_fmt(c[e]['music_s_per_wall_s_median'], 1)}**",
                 _fmt(c[e]["first_note_s_median"], 3), _fmt(c[e]["wall_s_median"]), _fmt(c[e]["runs"])]
                for e in ("piano", "string-quartet") if e in c]
        out += ["### Composing", "", f"`cadenza compose` end to end (plan, sampling under constraints, decoding, "
                f"listening, the originality guard) at 100 bpm; model load {_fmt(c.get('model_load_s'), 3)} s.", "",
                *_table(["ensemble", "bars", "music s per wall s", "first note s", "wall s", "runs"], rows)]
    t = speed.get("train")
    if t:
        out += ["### Training", "", f"Notes per second learned (batch 16, full context, {t['optimizer_steps']} "
                f"optimizer steps after {t['warmup_steps']} warm-up steps; data: {t['data']}), on torch's default "
                "threads (what `cadenza train` uses) and on one: where other work keeps the cores busy, two threads "
                "spin-wait on each other and can be many times slower than one (see the load average above).", "",
                *_table(["shape", "parameters", "context", "notes / s", "s per optimizer step", "threads"],
                        [[r["preset"], _fmt(r["parameters"]), _fmt(r["context"]), f"**{_fmt(r['notes_per_s'], 0)}**",
                          _fmt(r["seconds_per_optimizer_step"], 3), _fmt(r["threads"])] for r in t["rows"]])]
    r = speed.get("read")
    if r:
        rows = [[fmt, r[fmt]["source"], _fmt(r[fmt].get("files")),
                 f"**{_fmt(r[fmt].get('files_per_s_from_median'), 1)}**", _fmt(r[fmt].get("notes_per_s_overall")),
                 _fmt(r[fmt].get("failures"))]
                for fmt in ("midi", "musicxml") if fmt in r]
        out += ["### Reading", "", f"Median per-file read time ({r['repeats']} read(s) per file).", "",
                *_table(["format", "files", "count", "files / s", "notes / s", "failures"], rows)]
    rd = speed.get("render")
    if rd:
        rows = [[fmt, _fmt(v.get("wall_s_median"), 3), f"**{_fmt(v.get('music_s_per_wall_s_median'), 1)}**"]
                if "error" not in v else [fmt, "–", v["error"]]
                for fmt, v in rd.items() if isinstance(v, dict)]
        out += ["### Rendering", "", f"{rd['what']} ({_fmt(rd['pieces'])} piece(s), "
                f"{_fmt(rd['music_s_per_piece_median'], 1)} s of music each); audio engine `{rd['audio_engine']}`.", "",
                *_table(["format", "wall s per piece", "music s per wall s"], rows)]
    a = speed.get("analyse")
    if a:
        out += ["### Analysing", "", f"`cadenza analyse` (every label) on {a['pieces']} real works ({a['source']}; "
                f"{_fmt(a['mean_notes_per_piece'])} notes each on average): "
                f"**{_fmt(a['seconds_per_piece_median'], 3)} s** per piece (median), {_fmt(a['notes_per_s'])} notes "
                "per second.", ""]
    out += ["![speed](speed.png)", "", f"Regenerate: `{command}`", ""]
    return out


def _machine_line(m: dict[str, Any]) -> str:
    load = m.get("load_average_1_5_15")
    end = m.get("load_average_at_end")
    return (f"{m.get('cpu_model', m.get('processor'))}, {m.get('usable_cpus', m.get('cpus'))} usable cores, "
            f"{_fmt(m.get('memory_gb'), 1)} GB memory, {m.get('platform')}, Python {m.get('python')}, "
            f"torch {m.get('torch')}; load average {load[0] if load else '–'} at the start and "
            f"{end[0] if end else '–'} at the end (the cores are shared with other work)")


def report_markdown(results: dict[str, Any], plots: dict[str, Path | None]) -> str:
    sections, commands = results["sections"], results["commands"]
    model = results["model"]
    s = results["settings"]
    corpus = results["corpus"]
    lines = ["# Cadenza benchmark report", "",
             f"- **Date**: {results['started'].replace('T', ' ')}; {results['seconds']['total'] / 60:.1f} minutes "
             f"({', '.join(f'{k} {v:.0f} s' for k, v in results['seconds'].items() if k != 'total')})",
             f"- **Command** (regenerates every figure here): `{results['command']}`"
             + (" — the quick settings: small counts, partial test sets" if results["quick"] else ""),
             f"- **Machine**: {_machine_line(results['machine'])}",
             f"- **Model**: `{model['folder']}`{' (the shipped default model)' if model['shipped_default'] else ''}, "
             f"hash {model['hash']}, d_model {model['config']['d_model']}, {model['config']['n_layers']} layers, "
             f"{model['config']['n_heads']} heads, context {model['config']['context']}"
             + (f"; trained on {model['training_data']}" if model.get("training_data") else ""),
             f"- **Corpus**: `{corpus['name']}`" + (f" ({_fmt(corpus.get('works'))} works from "
                                                   f"{', '.join(corpus.get('sources') or [])}; splits "
                                                   f"{corpus.get('splits')}), at `$CADENZA_HOME`; build it with "
                                                   "`cadenza corpus build --source music21 --source pop909`"
                                                   if corpus.get("present") else " — not present here"),
             f"- **Settings**: {', '.join(f'{k}={v}' for k, v in s.items())}",
             "- Everything measured is in `results.json` beside this file; each section names the command that "
             "regenerates it alone (seeded: the counts and metrics repeat; timings vary with the machine's load).",
             ""]
    if "nll" in sections:
        lines += _nll_md(sections["nll"], commands["nll"], results["quick"])
    if "control" in sections:
        lines += _control_md(sections["control"], commands["control"])
    if "originality" in sections:
        lines += _originality_md(sections["originality"], commands["originality"])
    if "quality" in sections:
        lines += _quality_md(sections["quality"], commands["quality"])
    if "craft" in sections:
        from cadenza.lab.craft import craft_markdown

        lines += craft_markdown(sections["craft"], commands["craft"])
    if "speed" in sections:
        lines += _speed_md(sections["speed"], results["machine"], commands["speed"])
    text = "\n".join(lines)
    for name, path in plots.items():
        if path is None:
            text = text.replace(f"![{name}]({name}.png)\n", f"*(no {name} plot: matplotlib is not installed or "
                                                          "there was nothing to draw)*\n")
    return text.rstrip() + "\n"


def write_outputs(results: dict[str, Any], out: Path) -> list[Path]:
    """``results.json``, the plots and ``REPORT.md`` in ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    sections, commands = results["sections"], results["commands"]
    from cadenza.lab.craft import plot_craft

    drawers = {"nll": plot_nll, "control": plot_control, "originality": plot_originality, "quality": plot_quality,
               "craft": plot_craft, "speed": plot_speed}
    plots: dict[str, Path | None] = {}
    for name, draw in drawers.items():
        if name in sections:
            try:
                plots[name] = draw(sections[name], out / f"{name}.png", commands[name])
            except Exception:  # a plot must not cost the numbers
                log.warning("the %s plot failed", name, exc_info=True)
                plots[name] = None
    written = [p for p in plots.values() if p is not None]
    atomic_write_bytes(out / "results.json", (json.dumps(results, indent=1, ensure_ascii=False, default=str)
                                              + "\n").encode("utf-8"))
    atomic_write_bytes(out / "REPORT.md", report_markdown(results, plots).encode("utf-8"))
    return [out / "results.json", out / "REPORT.md", *written]
