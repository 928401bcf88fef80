"""Contracts benchmark (issue 18): field accuracy of OCR + extraction on generated contracts, OCR pages per second
per core and the peak memory of an OCR worker — against a baseline measured in the same run: the same contracts
as digital PDFs read from their text layer (no OCR).

For each generated contract (contracts.corpus: its ground truth alongside) and each condition — ``clean`` (the
rendered page), ``scan`` (slight rotation, blur, grain, JPEG 85), ``photo`` (desk, perspective, shadow, blur,
JPEG 40–70) — the page goes through the OCR worker pool (contracts.pool, the production path) and the extraction
rules. A field is correct when its value equals the truth after normalisation. Printed per condition and field:
precision (correct / values given), recall (correct / truth fields), the share of contracts needing no correction,
and the number of wrong values the reviewer would not be asked about (confidence ≥ the review threshold, no flag).
Figures are printed, never asserted (targets: ≥ 95 % fields on clean scans, ≥ 85 % on photos, 0 confident wrong).

Run: ``python bench/contracts_bench.py`` (``--contracts 100`` for the issue's size; ``--workers``, ``--dpi``,
``--modes clean,scan,photo``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def text_layer_baseline(specs, dpi: int) -> tuple[float, dict]:
    """Pages per second of the text-layer path (render + read + extract), and its field scores."""
    from contracts.corpus import digital_pdf, page_texts
    from contracts.extract import TextLine, extract
    from contracts.intake import pdf_pages

    pdfs = [digital_pdf(page_texts(spec)) for spec in specs]
    started = time.perf_counter()
    results = []
    for spec, data in zip(specs, pdfs, strict=True):
        pages = pdf_pages(data, dpi=dpi, max_pages=10)
        lines = [TextLine(p.index, text, 1.0, box) for p in pages for text, box in p.text_lines or []]
        results.append((spec, extract(lines)))
    return len(specs) / (time.perf_counter() - started), score(results)


def score(results) -> dict:
    from contracts.extract import REVIEW_THRESHOLD

    given: defaultdict[str, int] = defaultdict(int)
    correct: defaultdict[str, int] = defaultdict(int)
    truth_n: defaultdict[str, int] = defaultdict(int)
    clean_contracts, confident_wrong = 0, []
    for spec, extraction in results:
        ok = True
        for name, expected in spec.truth.items():
            truth_n[name] += 1
            found = extraction.fields.get(name)
            if found is not None and found.value is not None:
                given[name] += 1
            if found is not None and found.value == expected:
                correct[name] += 1
            else:
                ok = False
                if found is not None and found.value is not None and not found.flags \
                        and found.confidence >= REVIEW_THRESHOLD:
                    confident_wrong.append((spec.seed, name, found.value, expected))
        needs_review = any(f.needs_review for f in extraction.fields.values()) or extraction.flags
        clean_contracts += ok and not needs_review
    fields = {name: {"precision": correct[name] / given[name] if given[name] else 0.0,
                     "recall": correct[name] / truth_n[name]} for name in truth_n}
    total_truth = sum(truth_n.values())
    return {"fields": fields, "field_accuracy": sum(correct.values()) / total_truth if total_truth else 0.0,
            "no_correction": clean_contracts / len(results) if results else 0.0, "confident_wrong": confident_wrong}


async def ocr_run(specs, modes: list[str], dpi: int, workers: int):
    from contracts.corpus import degrade, render
    from contracts.extract import TextLine, extract
    from contracts.pool import OcrPool

    pool = OcrPool(workers=workers, page_timeout=600)
    await pool.read_page(_tiny())  # start the workers and load the models outside the timed part
    jobs = []
    for spec in specs:
        page = render(spec, dpi=dpi)[0]
        for mode in modes:
            turn = (0, 0, 0, 90, 180)[spec.seed % 5] if mode == "photo" else 0
            jobs.append((mode, spec, degrade(page, mode, spec.seed, turn=turn)))

    samples: list[tuple[int, list[int]]] = []  # (pages done, VmRSS KiB of each live worker) after every page

    async def one(mode, spec, data):
        page = await pool.read_page(data)
        samples.append((len(samples) + 1, [_proc_kib(pid, "VmRSS") for pid in _worker_pids(pool)]))
        lines = [TextLine(1, ln.text, ln.score, ln.box, ln.chars) for ln in page.lines]
        return mode, spec, extract(lines), page.seconds, lines

    started = time.perf_counter()
    out = await asyncio.gather(*(one(*job) for job in jobs))
    wall = time.perf_counter() - started
    # the workers' own peak (VmHWM of their address space). RUSAGE_CHILDREN's ru_maxrss is not that: a spawned
    # child's figure starts at this (parent) process's RSS when it was started (fork + exec), so it grew with the
    # number of pages held here, not with anything in the worker.
    worker_hwm = [_proc_kib(pid, "VmHWM") for pid in _worker_pids(pool)]
    pool.close()
    memory = {"worker_hwm_kib": worker_hwm, "samples": samples,
              "children_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
              "parent_hwm_kib": _proc_kib(os.getpid(), "VmHWM")}
    return out, wall, memory


def _worker_pids(pool) -> list[int]:
    executor = getattr(pool, "_executor", None)
    return sorted(getattr(executor, "_processes", None) or {})


def _proc_kib(pid: int, key: str) -> int:
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith(key + ":"):
                return int(row.split()[1])
    except OSError:
        pass
    return 0


def _tiny() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 32), "white").save(buf, format="PNG")
    return buf.getvalue()


def dump(path: Path, results) -> None:
    """The OCR lines of every page, to score extraction changes again without OCR (``--rescore``)."""
    rows = [{"mode": mode, "seed": spec.seed, "seconds": seconds,
             "lines": [[ln.text, ln.score, list(ln.box), [round(c, 4) for c in ln.chars]] for ln in lines]}
            for mode, spec, _, seconds, lines in results]
    path.write_text(json.dumps(rows, ensure_ascii=False))


def rescore(path: Path):
    """Results from a dump: the same OCR lines through today's extraction rules."""
    from contracts.corpus import make_spec
    from contracts.extract import TextLine, extract

    out = []
    for row in json.loads(path.read_text()):
        lines = [TextLine(1, text, score, tuple(box), tuple(chars[0]) if chars else ())
                 for text, score, box, *chars in row["lines"]]
        out.append((row["mode"], make_spec(row["seed"]), extract(lines), row["seconds"], lines))
    return out


def report(results, modes: list[str]) -> None:
    for mode in modes:
        got = score([(spec, ex) for m, spec, ex, *_ in results if m == mode])
        print(f"\n[{mode}] field accuracy {got['field_accuracy']:.1%}; contracts needing no correction "
              f"{got['no_correction']:.0%}; wrong values above the review threshold: {len(got['confident_wrong'])}")
        for name, fig in sorted(got["fields"].items()):
            print(f"  {name:<22} precision {fig['precision']:6.1%}  recall {fig['recall']:6.1%}")
        for seed, name, value, expected in got["confident_wrong"][:10]:
            print(f"  confident wrong: seed {seed} {name}: {value!r} != {expected!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contracts", type=int, default=6)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--modes", default="clean,scan,photo")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--dump", type=Path, help="write every page's OCR lines here (JSON)")
    parser.add_argument("--rescore", type=Path, help="no OCR: score today's extraction on a --dump file")
    args = parser.parse_args()
    if args.rescore:
        results = rescore(args.rescore)
        modes = sorted({r[0] for r in results}, key=("clean", "scan", "photo").index)
        print(f"contracts bench: rescored {len(results)} pages from {args.rescore} (OCR lines as dumped)")
        report(results, modes)
        return
    from contracts.corpus import make_spec

    specs = [make_spec(args.seed + i) for i in range(args.contracts)]
    modes = args.modes.split(",")
    base_rate, base_score = text_layer_baseline(specs, args.dpi)
    results, wall, memory = asyncio.run(ocr_run(specs, modes, args.dpi, args.workers))
    pages = len(results)
    rate_per_core = pages / wall / min(args.workers, os.cpu_count() or 1)
    print(f"contracts bench: {args.contracts} contracts × {modes} at {args.dpi} dpi, {args.workers} OCR worker(s), "
          f"{os.cpu_count()} cores on the machine")
    print(f"baseline text layer (digital PDF, no OCR): {base_rate:.1f} pages/s, field accuracy "
          f"{base_score['field_accuracy']:.1%}")
    print(f"OCR: {pages} pages in {wall:.1f} s = {pages / wall:.3f} pages/s, {rate_per_core:.3f} pages/s per core "
          f"(ratio to text layer {rate_per_core / base_rate:.4f}); median page "
          f"{sorted(r[3] for r in results)[pages // 2]:.2f} s")
    mib = [round(k / 1024) for k in memory["worker_hwm_kib"]]
    print(f"OCR worker peak RSS (VmHWM) {max(mib, default=0)} MiB (each worker: {mib}); for comparison "
          f"RUSAGE_CHILDREN maxrss {memory['children_maxrss_kib'] / 1024:.0f} MiB and this process's peak "
          f"{memory['parent_hwm_kib'] / 1024:.0f} MiB (a spawned child's maxrss starts at its parent's RSS)")
    samples = memory["samples"]
    marks = sorted({min(len(samples), n) for n in (1, 10, len(samples) // 4, len(samples) // 2,
                                                   3 * len(samples) // 4, len(samples))} - {0})
    print("worker RSS after pages: " + "; ".join(
        f"{samples[n - 1][0]}: {[round(k / 1024) for k in samples[n - 1][1]]} MiB" for n in marks))
    if args.dump:
        dump(args.dump, results)
    report(results, modes)


if __name__ == "__main__":
    main()
