"""A markdown table comparing evaluation reports (``report.json`` of ``cleartune evaluate``).

    python -m cleartune.train.compare runs/var_*/cmp_holdout/report.json [--labels a,b,...]
    python -m cleartune.train.compare runs/var_*/model.keras --data data/holdout   # evaluate first

One row per report: feature MSE (the seed's metric), SI-SDR improvement per SNR bucket,
and the tuner's note accuracy with the denoiser (alone in brackets) per bucket.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence


def _f(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def table(reports: Sequence[dict], labels: Sequence[str]) -> str:
    """Markdown table of ``reports`` (dicts of ``report.json``) labelled ``labels``."""
    from cleartune.train.measures import bucket_sort_key

    buckets = sorted({b for r in reports for b in r["buckets"] if b != "all"}, key=bucket_sort_key) + ["all"]
    noisy = [b for b in buckets if b != "clean"]
    head = ["variant", "feat MSE"] + [f"SI-SDR gain {b}" for b in noisy] + ["SI-SDR clean"]
    pitch = all(r.get("pitch") for r in reports)
    if pitch:
        head += [f"note acc. {b}" for b in buckets] + ["wrong notes all", "median / p95 cents all"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r, lab in zip(reports, labels):
        B = r["buckets"]
        row = [lab, _f(r["feat_mse_denoised"], ".4f")]
        row += [_f(B.get(b, {}).get("si_sdr_improvement"), "+.1f") for b in noisy]
        row += [_f(B.get("clean", {}).get("si_sdr_denoised"), ".1f")]
        if pitch:
            for b in buckets:
                d = B.get(b)
                if not d:
                    row.append("–")
                    continue
                row.append(f"{_f(d['tuner_denoised']['note_accuracy'], '.0%')} ({_f(d['tuner_raw']['note_accuracy'], '.0%')})")
            a = B["all"]
            row.append(f"{_f(a['tuner_denoised']['wrong_rate'], '.1%')} ({_f(a['tuner_raw']['wrong_rate'], '.1%')})")
            row.append(f"{_f(a['tuner_denoised']['cents_median'], '.2f')} / {_f(a['tuner_denoised']['cents_p95'], '.2f')}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def evaluate_all(models: Sequence[str], data_dir: str, *, out_dirs: Sequence[str], **kw) -> list[dict]:
    """Evaluate several models in ONE process, so the tuner code is the same for all."""
    from cleartune.train.evaluation import evaluate_model

    return [evaluate_model(m, data_dir, out_dir=o, **kw) for m, o in zip(models, out_dirs)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cleartune.train.compare", description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", help="report.json files, or with --data: model files to evaluate first")
    ap.add_argument("--labels", default=None, help="comma-separated row labels (default: the model version)")
    ap.add_argument("--data", default=None, help="evaluate the given models on this dataset first (one process)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--max-examples", type=int, default=None)
    ap.add_argument("--out", default="runs/compare", help="with --data: report folders go to OUT/N-MODELNAME (default runs/compare)")
    args = ap.parse_args(argv)
    if args.data:
        outs = [str(Path(args.out) / f"{i}-{Path(m).parent.name}-{Path(m).stem}") for i, m in enumerate(args.reports)]
        reports = evaluate_all(args.reports, args.data, out_dirs=outs, split=args.split,
                               max_examples=args.max_examples, listen=1)
    else:
        reports = [json.loads(Path(p).read_text()) for p in args.reports]
    shas = {r.get("tracker_source_sha256") for r in reports if r.get("pitch")}
    if len(shas) > 1:
        print(f"compare: warning: the reports were made with different tracker code {sorted(map(str, shas))}",
              file=sys.stderr)
    labels = args.labels.split(",") if args.labels else [r.get("model_version") or r["model"] for r in reports]
    if len(labels) != len(reports):
        print("compare: error: one label per report", file=sys.stderr)
        return 2
    sys.stdout.write(table(reports, labels))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
