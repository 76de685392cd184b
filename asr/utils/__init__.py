"""Small helpers shared across the package."""


def run_cli(build_parser, run, argv=None) -> int:
    """The ``python -m`` entry point of a module exposing ``build_parser()`` and
    ``run(args)`` (the same pair its ``asr`` subcommand wraps)."""
    import logging

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run(args)
