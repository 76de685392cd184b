"""Small helpers shared across the package."""

from collections.abc import Iterable


def range_edge(value: float, tried: Iterable[float]) -> str | None:
    """``"max"`` or ``"min"`` when ``value`` is the largest or smallest of ``tried`` and
    more than one value was tried, else None: a tuned setting chosen on the edge of its
    range, where a value beyond it may do better."""
    tried = set(tried)
    if len(tried) < 2:
        return None
    return "max" if value == max(tried) else "min" if value == min(tried) else None


def run_cli(build_parser, run, argv=None) -> int:
    """The ``python -m`` entry point of a module exposing ``build_parser()`` and
    ``run(args)`` (the same pair its ``asr`` subcommand wraps)."""
    import logging

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(args)
