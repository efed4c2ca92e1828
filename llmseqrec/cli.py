"""The ``llmseqrec`` command: benchmark, search, report."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

logger = logging.getLogger("llmseqrec.cli")


def _command_line(argv) -> str:
    return "llmseqrec " + " ".join(shlex.quote(a) for a in argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="llmseqrec", description="Sequential recommendation with LLMs: benchmarks and search."
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="also log debugging detail")
    loudness.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True)

    bench = sub.add_parser(
        "benchmark", help="run models on a data set under a protocol (resumable)"
    )
    bench.add_argument(
        "config", nargs="?", help="TOML/JSON configuration (models, data set, protocol)"
    )
    bench.add_argument("--out", help="results directory (default results/<config name>)")
    bench.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        help="add a model: NAME or LABEL=NAME:param=value,...",
    )
    bench.add_argument(
        "--only",
        action="append",
        default=[],
        help="fit only these model labels (the tables still list every finished run)",
    )
    bench.add_argument("--dataset", help="override the data set (beauty, ml-100k, synthetic)")
    bench.add_argument("--data-dir", help="override the data folder")
    _add_own_data_options(bench)
    bench.add_argument("--protocol", choices=["P1", "P2", "P3"])
    bench.add_argument(
        "--seeds", help="comma-separated seeds to fit, e.g. 0,1,2 (default from the configuration)"
    )
    bench.add_argument(
        "--overwrite", action="store_true", help="replace results of a different configuration"
    )
    bench.add_argument(
        "--docs", help="Markdown file to write the table into (e.g. docs/benchmarks/classic.md)"
    )
    bench.add_argument("--section", help="section name inside --docs (default: the config name)")
    bench.add_argument(
        "--plots", action="store_true", help="also write PNG plots (needs matplotlib)"
    )

    search = sub.add_parser("search", help="TPE search on the validation folds for one model")
    search.add_argument("config")
    search.add_argument("--model", required=True, help="model label with a [search.<label>] space")
    search.add_argument("--trials", type=int, help="number of trials (default from the config)")
    search.add_argument("--out", help="output directory (default results/<config>/search-<label>)")
    search.add_argument("--data-dir", help="override the data folder")
    _add_own_data_options(search)
    search.add_argument(
        "--timeout",
        type=float,
        help="seconds after which no new trial starts (the running one finishes)",
    )

    report = sub.add_parser("report", help="regenerate a docs section from a results directory")
    report.add_argument("results", help="results directory written by 'llmseqrec benchmark'")
    report.add_argument("--docs", required=True)
    report.add_argument("--section", required=True)

    args = parser.parse_args(argv)
    _configure_logging(
        logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    )
    try:
        return _run(args, argv, parser)
    except (ValueError, TypeError, KeyError, OSError, ImportError, RuntimeError) as exc:
        # A user's error (a bad file, value or environment) is one line, not a traceback.
        if args.debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(
            f"llmseqrec: error: {message} ({type(exc).__name__}; --debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _add_own_data_options(command) -> None:
    """The options that put your own files where a built-in data set goes."""
    command.add_argument(
        "--interactions",
        help="your own interactions file (CSV, TSV or Parquet) instead of a built-in data set",
    )
    command.add_argument("--items", help="your own item file (item_id and text columns)")
    command.add_argument("--session-col", help="session (or user) column of --interactions")
    command.add_argument("--item-col", help="item column of --interactions")
    command.add_argument("--time-col", help="time column of --interactions")


def _configure_logging(level: int) -> None:
    """The command's own output: the library's log records on stderr at ``level``."""
    logger = logging.getLogger("llmseqrec")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


class _StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each record (``main`` may run more than once in
    a process whose stderr is swapped, e.g. by a test runner)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the property wins
        pass


def _own_data(config, args) -> None:
    """``--interactions``/``--items``/``--*-col`` into the configuration."""
    if args.interactions:
        config.interactions = args.interactions
        if not args.dataset:
            config.dataset = Path(args.interactions).name.split(".")[0]
    elif args.items:
        raise ValueError("--items needs --interactions (your interactions file)")
    if args.items:
        config.items = args.items
    for role in ("session", "item", "time"):
        name = getattr(args, f"{role}_col")
        if name:
            config.columns[role] = name


def _seeds(text: str, parser) -> list[int]:
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        parser.error(f"--seeds must be comma-separated integers, e.g. 0,1,2; got {text!r}")


def _run(args, argv, parser) -> int:
    from .benchmark import (
        load_config,
        parse_model_option,
        plot_results,
        render_results_dir,
        run_benchmark,
        run_search,
        write_section,
    )

    if args.command == "benchmark":
        if args.config:
            config = load_config(args.config)
        elif args.dataset:
            config = load_config({"name": f"{args.dataset}-cli", "dataset": args.dataset})
        elif args.interactions:
            name = Path(args.interactions).name.split(".")[0]
            config = load_config({"name": f"{name}-cli", "interactions": args.interactions})
        else:
            parser.error("give a configuration file, --dataset or --interactions")
        _own_data(config, args)
        config.models += [parse_model_option(m) for m in args.model]
        unknown = set(args.only) - {m.label for m in config.models}
        if unknown:
            parser.error(
                f"--only: no model labelled {', '.join(sorted(unknown))} in the configuration"
            )
        for key in ("dataset", "data_dir", "protocol"):
            if getattr(args, key):
                setattr(config, key, getattr(args, key))
        if args.seeds:
            config.seeds = _seeds(args.seeds, parser)
        if not config.models:
            parser.error("no models to run: add [models.*] to the configuration or pass --model")
        out = Path(args.out or Path("results") / config.name)
        run_benchmark(
            config,
            out,
            overwrite=args.overwrite,
            command=_command_line(argv),
            only=set(args.only) or None,
        )
        if args.plots:
            for path in plot_results(out):
                logger.info("plot: %s", path)
        if args.docs:
            write_section(args.docs, args.section or config.name, render_results_dir(out))
            logger.info("updated %s (section %s)", args.docs, args.section or config.name)
    elif args.command == "search":
        config = load_config(args.config)
        if args.data_dir:
            config.data_dir = args.data_dir
        args.dataset = None
        _own_data(config, args)
        out = Path(args.out or Path("results") / config.name / f"search-{args.model}")
        run_search(config, args.model, out, n_trials=args.trials, timeout=args.timeout)
    else:
        write_section(args.docs, args.section, render_results_dir(args.results))
        logger.info("updated %s (section %s)", args.docs, args.section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
