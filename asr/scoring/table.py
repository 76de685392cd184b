"""Gather result.json files into one table (Markdown, CSV, JSON) and plot WER against data size."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from asr.scoring.results import RESULT_FILE, load_result
from asr.utils.io import atomic_open

# The systems in the order the toolkit builds them; others follow alphabetically.
SYSTEM_ORDER = ("mono", "tri1", "tri2", "tri3", "hybrid", "phone_ctc", "e2e", "e2e_lm")

# Columns of the long (one row per result) CSV / JSON forms.
LONG_COLUMNS = (
    "system",
    "set",
    "hours",
    "wer",
    "wer_ci95_low",
    "wer_ci95_high",
    "cer",
    "words",
    "sub",
    "del",
    "ins",
    "sentences",
    "sentence_errors",
    "path",
)


def find_results(dirs: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every ``result.json`` under ``dirs`` (recursively), each with its ``"path"`` added."""
    results = []
    seen: set[Path] = set()
    for d in dirs:
        d = Path(d)
        if not d.exists():
            raise FileNotFoundError(f"no such directory: {d}")
        paths = [d] if d.is_file() else sorted(d.rglob(RESULT_FILE))
        for path in paths:
            if path.resolve() in seen:
                continue
            seen.add(path.resolve())
            result = load_result(path)
            result["path"] = str(path)
            results.append(result)
    return results


def system_key(system: str) -> tuple[int, str]:
    if system in SYSTEM_ORDER:
        return (SYSTEM_ORDER.index(system), "")
    return (len(SYSTEM_ORDER), system)


def _hours_key(hours: Any) -> float:
    return float("inf") if hours is None else float(hours)


def sort_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By set, then system in :data:`SYSTEM_ORDER`, then training hours, then path."""
    return sorted(
        results,
        key=lambda r: (
            str(r["set"]),
            system_key(str(r["system"])),
            _hours_key(r.get("hours")),
            r.get("path", ""),
        ),
    )


def _row_label(result: dict[str, Any]) -> str:
    hours = result.get("hours")
    return str(result["system"]) if hours is None else f"{result['system']} ({hours:g} h)"


def _row_labels(results: list[dict[str, Any]]) -> list[str]:
    """Row names for the wide table; a clash of (row, set) is told apart by the experiment root."""
    labels = [_row_label(r) for r in results]
    cells = [(lab, r["set"]) for lab, r in zip(labels, results)]
    clashing = {c for c in cells if cells.count(c) > 1}
    for i, r in enumerate(results):
        if (labels[i], r["set"]) in clashing:
            labels[i] = f"{labels[i]} [{Path(r['path']).parent.parent.parent}]"
    return labels


def format_markdown(results: list[dict[str, Any]]) -> str:
    """Systems as rows, sets as columns, cells = %WER (with the 95% interval when known)."""
    results = sort_results(results)
    labels = _row_labels(results)
    sets = sorted({str(r["set"]) for r in results})
    rows: dict[str, dict[str, str]] = {}
    for label, r in zip(labels, results):
        ci = r.get("wer_ci95")
        cell = f"{r['wer']:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
        rows.setdefault(label, {})[str(r["set"])] = cell
    order = sorted(rows, key=lambda lab: _label_sort_key(lab, results, labels))
    lines = [
        "| system | " + " | ".join(f"{s} %WER [95% CI]" for s in sets) + " |",
        "|---|" + "---:|" * len(sets),
    ]
    for lab in order:
        lines.append(f"| {lab} | " + " | ".join(rows[lab].get(s, "-") for s in sets) + " |")
    return "\n".join(lines) + "\n"


def _label_sort_key(label: str, results: list[dict[str, Any]], labels: list[str]):
    """Rows by system order, then hours, then name."""
    r = results[labels.index(label)]
    return (system_key(str(r["system"])), _hours_key(r.get("hours")), label)


def _long_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for r in sort_results(results):
        ci = r.get("wer_ci95") or [None, None]
        row = {k: r.get(k) for k in LONG_COLUMNS}
        row["wer_ci95_low"], row["wer_ci95_high"] = ci[0], ci[1]
        rows.append(row)
    return rows


def format_csv(results: list[dict[str, Any]]) -> str:
    """One row per result, columns :data:`LONG_COLUMNS`; unknown values are empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LONG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _long_rows(results):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def format_json(results: list[dict[str, Any]]) -> str:
    """A JSON list of objects (keys :data:`LONG_COLUMNS`, null where unknown)."""
    return json.dumps(_long_rows(results), indent=2) + "\n"


def plot_wer_vs_hours(results: list[dict[str, Any]], out_path: str | Path) -> int:
    """WER against training hours (log x), one line per system, one panel per set.

    Only results with numeric ``hours`` are drawn. Returns the number of points drawn;
    with none, nothing is written and 0 is returned.
    """
    points = [
        r
        for r in sort_results(results)
        if isinstance(r.get("hours"), (int, float)) and r["hours"] > 0
    ]
    if not points:
        return 0
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({str(r["set"]) for r in points})
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4.2), squeeze=False)
    for ax, set_name in zip(axes[0], sets):
        in_set = [r for r in points if str(r["set"]) == set_name]
        for system in sorted({str(r["system"]) for r in in_set}, key=system_key):
            pts = sorted(
                (float(r["hours"]), float(r["wer"])) for r in in_set if r["system"] == system
            )
            ax.plot([h for h, _ in pts], [w for _, w in pts], marker="o", label=system)
        ax.set_xscale("log")
        ax.set_xlabel("training data (hours)")
        ax.set_ylabel("WER (%)")
        ax.set_title(set_name)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out_path = Path(out_path)
    fmt = out_path.suffix.lstrip(".") or "png"
    with atomic_open(out_path, "wb") as handle:
        fig.savefig(handle, format=fmt, dpi=120)
    plt.close(fig)
    return len(points)
