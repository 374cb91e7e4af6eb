"""``cadenza styles``: the styles a request can name, and what the composer plans for each."""

from __future__ import annotations

import argparse
from typing import Any

from cadenza import api
from cadenza.cli.common import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "styles",
        help="the styles --epoch can name, and what the composer plans for each",
        description="List the styles a request can name with --epoch and what Cadenza plans for each: the "
        "ensemble used when none is asked, the meters drawn (from how often the corpus' works of the style are "
        "in each), the commonest chords its harmony plan walks in major and minor (learned from the corpus), "
        "how often the harmony changes, the form, and whose the weak beats' chords are. One model writes them "
        "all; a style family with an adapter of its own (low-rank deltas over the shared weights, chosen by the "
        "request's labels) lists it. CADENZA_ADAPTERS=off composes without them.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    p.set_defaults(func=run)


def _adapter_line(adapter: dict[str, Any]) -> str:
    match = ", ".join(f"{k} {v}" for k, v in adapter["match"].items())
    nll = adapter["valid_nll_per_step"]
    figures = (f"; held-out NLL {nll['base']:.3f} -> {nll['adapter']:.3f} nats/step"
               if nll.get("base") and nll.get("adapter") else "")
    state = "" if adapter["enabled"] else " (off: CADENZA_ADAPTERS)"
    return (f"  adapter    {adapter['style']}{state}: for {match}; rank {adapter['rank']}, "
            f"{adapter['bytes'] / 1024:.0f} KB{figures}")


def run(args: argparse.Namespace) -> int:
    found = api.styles()
    if args.json:
        emit_json([s.to_json() for s in found])
        return 0
    blocks = []
    for s in found:
        meters = ", ".join(f"{m} {share:.0%}" for m, share in sorted(s.meters.items(), key=lambda kv: -kv[1]))
        blocks.append("\n".join((
            f"{s.epoch}",
            f"  ensemble   {s.ensemble} ({', '.join(s.parts)})",
            f"  meters     {meters or 'left to the model'}" + (f"  [{s.meters_from}]" if s.meters_from else ""),
            f"  harmony    major: {' '.join(s.major_chords)}; minor: {' '.join(s.minor_chords)}",
            f"             {s.harmony_changes}; weak beats: {s.weak_beats}",
            f"  form       {s.form}",
            *(_adapter_line(a) for a in s.adapters),
        )))
    print("\n\n".join(blocks))
    return 0
