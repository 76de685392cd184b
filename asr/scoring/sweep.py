"""Data-size sweeps: WER per system per training size, and where the curves cross.

A sweep trains the same systems on several amounts of training data (AN4 fractions,
LibriSpeech or synthetic hour subsets) and scores each on the same evaluation set.
Every decode dir records its training hours in ``result.json`` (``asr score
--hours``), so the sweep is just the result records of one evaluation set arranged as

    rows    = training sizes (hours)
    columns = systems (in :data:`asr.scoring.table.SYSTEM_ORDER`)
    cells   = %WER

A result under a directory holding ``sweep_size.json`` (``{"hours": H}``, written by
``recipes/sweep.sh`` for each hour size) goes in row ``H`` even when its system trained
on less: the LibriSpeech recipe trains mono on a subset of at most ``--mono-hours``, as
Kaldi's does, and that mono belongs to the size's pipeline. Such cells are listed under
the table with the hours they trained on. So are the cells whose dev-chosen decoding
setting lies on the edge of the grid it was tuned over (``grid_edges`` in the sibling
decode dir's ``best_setting.json``): a wider grid may lower them.

:func:`find_crossovers` locates, for each pair of systems, the sizes between which
their order flips (the classical-vs-end-to-end crossover the toolkit is built to
show), by linear interpolation of the WER difference in log(hours) between the two
neighbouring sizes that bracket the sign change.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

from asr.scoring.table import system_key
from asr.utils.io import atomic_open, atomic_write_bytes


@dataclass(frozen=True)
class Crossover:
    """Where ``system_a`` and ``system_b`` swap places.

    ``hours`` and ``wer`` are the interpolated crossing point (training hours, %WER);
    ``better_below`` is the system with the lower WER at the sizes below it,
    ``better_above`` the one with the lower WER above it. ``between`` = the two
    measured sizes (hours) that bracket the crossing.
    """

    system_a: str
    system_b: str
    hours: float
    wer: float
    better_below: str
    better_above: str
    between: tuple[float, float]


@dataclass
class SweepTable:
    """WER (%) per training size and system, for one evaluation set.

    ``wer[system][hours]`` = %WER; ``paths[system][hours]`` = the result.json it came
    from; ``hours`` = the sizes, ascending; ``systems`` in the toolkit's system order.
    """

    set_name: str
    wer: dict[str, dict[float, float]] = field(default_factory=dict)
    paths: dict[str, dict[float, str]] = field(default_factory=dict)
    # cells whose system trained on other hours than their row's size (see module doc)
    trained_hours: dict[str, dict[float, float]] = field(default_factory=dict)
    # cells whose dev-chosen decoding setting is on the edge of its grid (grid_edges)
    grid_edges: dict[str, dict[float, list[str]]] = field(default_factory=dict)

    @property
    def systems(self) -> list[str]:
        return sorted(self.wer, key=system_key)

    @property
    def hours(self) -> list[float]:
        return sorted({h for by_size in self.wer.values() for h in by_size})


def build_sweep(results: Iterable[dict[str, Any]], set_name: str = "test") -> SweepTable:
    """The :class:`SweepTable` of the ``set_name`` results among ``results`` (records
    as :func:`asr.scoring.table.find_results` returns them).

    Results without training hours are left out. Two results for the same system
    and size are an error (ValueError naming both files): a sweep has one run per cell.
    """
    table = SweepTable(set_name)
    for r in results:
        if str(r["set"]) != set_name:
            continue
        hours = r.get("hours")
        if not isinstance(hours, (int, float)) or hours <= 0:
            continue
        system, trained = str(r["system"]), round(float(hours), 4)
        path = str(r.get("path", "?"))
        size = sweep_size(path)
        hours = trained if size is None else round(size, 4)
        if abs(hours - trained) > 0.05 * hours:  # subsets hit their target within ~1%
            table.trained_hours.setdefault(system, {})[hours] = trained
        if hours in table.wer.get(system, {}):
            raise ValueError(f"two results for {system} at {hours:g} h on {set_name}: "
                             f"{table.paths[system][hours]} and {path}")
        table.wer.setdefault(system, {})[hours] = float(r["wer"])
        table.paths.setdefault(system, {})[hours] = path
        edges = grid_edges_of(path)
        if edges:
            table.grid_edges.setdefault(system, {})[hours] = edges
    if not table.wer:
        raise ValueError(f"no result for set {set_name!r} records its training hours "
                         "(asr score --hours); nothing to tabulate")
    return table


SIZE_FILE = "sweep_size.json"


def grid_edges_of(result_path: str | Path) -> list[str]:
    """The ``grid_edges`` of the dev tuning behind a graph decoder's result: those of
    the ``best_setting.json`` of a sibling decode dir (``exp/tri3/decode_dev/`` for
    ``exp/tri3/decode_test/result.json``), worked out from its ``sweep`` when the file
    predates the field; ``[]`` when there is no such file."""
    for path in sorted(Path(result_path).parent.parent.glob("decode_*/best_setting.json")):
        choice = json.loads(path.read_text(encoding="utf-8"))
        if "grid_edges" in choice:
            return list(choice["grid_edges"])
        from asr.decode.gmm import Setting, grid_edges

        try:
            grid = [Setting.from_name(name) for name in choice.get("sweep", {})]
            best = Setting(float(choice["lm_weight"]), float(choice["word_insertion_penalty"]))
        except (KeyError, ValueError):  # not a graph decoder's setting file
            return []
        return grid_edges(best, grid)
    return []


def size_file(result_path: str | Path, levels: int = 6) -> Path | None:
    """The nearest ``sweep_size.json`` among the ``levels`` directories above
    ``result_path``, or None."""
    for parent in list(Path(result_path).parents)[:levels]:
        if (parent / SIZE_FILE).is_file():
            return parent / SIZE_FILE
    return None


def sweep_size(result_path: str | Path, levels: int = 6) -> float | None:
    """The ``hours`` of :func:`size_file` of ``result_path``, or None."""
    marker = size_file(result_path, levels)
    if marker is None:
        return None
    hours = json.loads(marker.read_text(encoding="utf-8")).get("hours")
    if not isinstance(hours, (int, float)) or hours <= 0:
        raise ValueError(f"{marker}: 'hours' must be a positive number, got {hours!r}")
    return float(hours)


def export_results(results: Iterable[dict[str, Any]], roots: Iterable[str | Path],
                   out_dir: str | Path) -> list[Path]:
    """Copy the files a sweep table is built from into ``out_dir``, so that the table
    can be rebuilt (``asr sweep-report OUT_DIR``) from a small tree kept with the code
    after the experiment dirs are gone: each result's ``result.json``, the
    ``best_setting.json`` beside it (grid edges) and its size's ``sweep_size.json``.

    Each file lands at ``out_dir/<root name>/<its path under that root>``, where the
    root is the dir of ``roots`` it was found under; files already in ``out_dir`` from
    other runs stay, those at the same path are replaced. Returns the files written.
    """
    out_dir = Path(out_dir)
    roots = [Path(root).resolve() for root in roots]
    roots = [root.parent if root.is_file() else root for root in roots]
    sources: dict[Path, Path] = {}  # target -> source: a size's marker is shared
    for r in results:
        path = Path(r["path"]).resolve()
        root = next((root for root in roots if path.is_relative_to(root)), None)
        if root is None:
            raise ValueError(f"{path} is under none of {', '.join(map(str, roots))}")
        marker = size_file(path)
        for source in (path, path.parent / "best_setting.json", marker):
            if source is not None and source.is_file() and source.is_relative_to(root):
                sources[out_dir / root.name / source.relative_to(root)] = source
    for target, source in sources.items():
        atomic_write_bytes(target, source.read_bytes())
    return sorted(sources)


def find_crossovers(table: SweepTable) -> list[Crossover]:
    """Every point where two systems' WER-vs-hours curves cross.

    Only sizes both systems were measured at count. Between two neighbouring sizes
    where the WER difference changes sign, the crossing is interpolated linearly in
    log(hours); a tie measured exactly at a size, with opposite orders on either
    side, is a crossing at that size. Curves that only touch are not crossings.
    """
    found = []
    for a, b in combinations(table.systems, 2):
        common = sorted(set(table.wer[a]) & set(table.wer[b]))
        diffs = [(h, table.wer[a][h] - table.wer[b][h]) for h in common]
        nonzero = [(i, h, d) for i, (h, d) in enumerate(diffs) if d != 0.0]
        for (i, h0, d0), (j, h1, d1) in pairwise(nonzero):
            if (d0 < 0) == (d1 < 0):
                continue
            if j == i + 1:
                t = d0 / (d0 - d1)
                log_h = math.log(h0) + t * (math.log(h1) - math.log(h0))
                hours = math.exp(log_h)
                wer = table.wer[a][h0] + t * (table.wer[a][h1] - table.wer[a][h0])
                between = (h0, h1)
            else:  # measured ties in between: the crossing is the first tied size
                hours = diffs[i + 1][0]
                wer = table.wer[a][hours]
                between = (h0, h1)
            below, above = (a, b) if d0 < 0 else (b, a)
            found.append(Crossover(a, b, round(hours, 4), round(wer, 4), below, above, between))
    return sorted(found, key=lambda c: (c.hours, system_key(c.system_a), system_key(c.system_b)))


def _hours_label(hours: float) -> str:
    return f"{hours:.4g}"


def format_markdown(table: SweepTable, crossovers: list[Crossover] | None = None) -> str:
    """Sizes as rows, systems as columns, cells = %WER (``-`` where not run), then one
    line per crossover (or a line saying there is none)."""
    crossovers = find_crossovers(table) if crossovers is None else crossovers
    systems = table.systems
    lines = [f"%WER on {table.set_name} by training size", "",
             "| hours | " + " | ".join(systems) + " |",
             "|---:|" + "---:|" * len(systems)]
    for hours in table.hours:
        cells = [f"{table.wer[s][hours]:.2f}" if hours in table.wer[s] else "-" for s in systems]
        lines.append(f"| {_hours_label(hours)} | " + " | ".join(cells) + " |")
    lines.append("")
    for system in systems:
        for hours, trained in sorted(table.trained_hours.get(system, {}).items()):
            lines.append(f"{system} at {_hours_label(hours)} h trained on "
                         f"{_hours_label(trained)} h of it.")
    if table.trained_hours:
        lines.append("")
    for system in systems:
        for hours, edges in sorted(table.grid_edges.get(system, {}).items()):
            lines.append(f"{system} at {_hours_label(hours)} h: the dev-chosen setting is on "
                         f"the edge of its grid ({', '.join(edges)}); a wider grid may do "
                         "better.")
    if table.grid_edges:
        lines.append("")
    if not crossovers:
        lines.append("No crossover: no two systems swap places over these sizes.")
    for c in crossovers:
        lines.append(f"Crossover: {c.better_below} is better below, {c.better_above} above "
                     f"~{_hours_label(c.hours)} h (WER ~{c.wer:.2f}%, between "
                     f"{_hours_label(c.between[0])} and {_hours_label(c.between[1])} h).")
    return "\n".join(lines) + "\n"


def to_json(table: SweepTable, crossovers: list[Crossover] | None = None) -> dict[str, Any]:
    """``{"set", "systems", "hours", "rows": [{"hours", "wer": {system: %WER|null},
    "paths": {...}, "trained_hours": {...}, "grid_edges": {...}}], "crossovers": [...]}``:
    the machine-readable sweep."""
    crossovers = find_crossovers(table) if crossovers is None else crossovers
    rows = [{"hours": h,
             "wer": {s: table.wer[s].get(h) for s in table.systems},
             "paths": {s: table.paths[s][h] for s in table.systems if h in table.paths[s]},
             "trained_hours": {s: table.trained_hours[s][h] for s in table.trained_hours
                               if h in table.trained_hours[s]},
             "grid_edges": {s: table.grid_edges[s][h] for s in table.grid_edges
                            if h in table.grid_edges[s]}}
            for h in table.hours]
    return {"set": table.set_name, "systems": table.systems, "hours": table.hours,
            "rows": rows, "crossovers": [asdict(c) for c in crossovers]}


def format_json(table: SweepTable, crossovers: list[Crossover] | None = None) -> str:
    return json.dumps(to_json(table, crossovers), indent=2) + "\n"


def end_to_end_crossovers(crossovers: Iterable[Crossover]) -> list[Crossover]:
    """The crossovers of an end-to-end system (``e2e``, ``e2e_lm``, ...) with another
    system: the ones the sweep is run to find, which the plot marks by default."""
    return [c for c in crossovers
            if c.system_a.startswith("e2e") != c.system_b.startswith("e2e")]


def plot_sweep(table: SweepTable, out_path: str | Path,
               crossovers: list[Crossover] | None = None) -> Path:
    """WER against training hours (log x), one line per system, each of ``crossovers``
    (default: all) marked with a black ``X`` and its hours. The image format follows
    the file suffix."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    crossovers = find_crossovers(table) if crossovers is None else crossovers
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for system in table.systems:
        points = sorted(table.wer[system].items())
        ax.plot([h for h, _ in points], [w for _, w in points], marker="o", label=system)
    for i, c in enumerate(crossovers):
        ax.plot([c.hours], [c.wer], marker="X", markersize=11, color="black", linestyle="none")
        # alternate above and below, so that neighbouring labels do not overprint
        ax.annotate(f"{c.better_below}/{c.better_above}\n~{_hours_label(c.hours)} h",
                    (c.hours, c.wer), textcoords="offset points",
                    xytext=(6, 8 if i % 2 == 0 else -24), fontsize=8)
    ax.set_xscale("log")
    # label the measured sizes themselves, in plain numbers
    ax.set_xticks(table.hours, [_hours_label(h) for h in table.hours])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("training data (hours, log scale)")
    ax.set_ylabel(f"WER on {table.set_name} (%)")
    ax.set_title("WER vs training data" + (" (X: crossover)" if crossovers else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out_path = Path(out_path)
    with atomic_open(out_path, "wb") as handle:
        fig.savefig(handle, format=out_path.suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    return out_path
