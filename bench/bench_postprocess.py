"""Japanese post-processing of a 2-hour meeting (≈40,000 characters) with a 100-term glossary.

pilots: the whole text pipeline (spacing, punctuation, numbers, fillers and
the reading-based glossary correction). Baseline, in the same run: the same
pipeline without a glossary, so the ratio is what the glossary costs.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import Comparison, best_of

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "tests" / "data" / "asr_raw"


def run() -> list[Comparison]:
    """Time both pipelines over the same segments."""
    from pilots.asr.glossary import Glossary, GlossaryTerm
    from pilots.asr.postprocess import TextPipeline, load_fillers

    segments: list[str] = []
    while sum(map(len, segments)) < 40_000:
        for path in sorted(RAW.glob("*.json")):
            segments += json.loads(path.read_text(encoding="utf-8"))
    glossary = Glossary.load(ROOT / "data" / "samples" / "glossary.tsv")
    terms = list(glossary.terms) + [GlossaryTerm(f"行政改革推進本部{i}", "") for i in range(75)]
    with_glossary = TextPipeline(fillers=load_fillers(), glossary=Glossary(terms))
    without = TextPipeline(fillers=load_fillers(), glossary=None)
    with_glossary.process("準備です。")  # load the morphological analyser outside the timing

    def process(pipeline: TextPipeline) -> None:
        for i, raw in enumerate(segments):
            pipeline.process(raw, next_raw=segments[i + 1] if i + 1 < len(segments) else None)

    chars = sum(map(len, segments))
    return [
        Comparison(
            f"post-processing {chars:,} characters, {len(terms)}-term glossary",
            best_of(3, lambda: process(with_glossary)),
            "without glossary",
            best_of(3, lambda: process(without)),
        )
    ]
