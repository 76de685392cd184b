"""`asr` command-line entry points.

Each subcommand is one module here defining:

- ``COMMAND``: the subcommand name (e.g. ``"compute-feats"``);
- ``HELP``: one line for ``asr --help``; the module docstring is the long description;
- ``add_arguments(parser)``: adds its arguments to an ``argparse.ArgumentParser``;
- ``run(args) -> int``: does the work and returns the exit status.

Heavy imports (torch, ...) go inside ``run`` so that ``asr --help`` stays fast.
"""
