"""Benchmark runner, report generation and hyper-parameter search.

Python API::

    from llmseqrec.benchmark import load_config, run_benchmark
    summary = run_benchmark(load_config("examples/benchmarks/beauty_p1.toml"), "results/beauty")

Command line: ``llmseqrec benchmark CONFIG --out DIR`` (see ``llmseqrec --help``).
"""

from ._config import (
    BenchmarkConfig,
    ConfigError,
    ModelSpec,
    SearchSpec,
    build_model,
    load_config,
    parse_model_option,
)
from ._data import load_benchmark_data, make_split, validation_folds
from ._docs import write_section
from ._machine import machine_info, machine_line, machine_load
from ._report import plot_results, render_markdown, render_results_dir, summarize
from ._runner import ResultsDirectoryError, run_benchmark, run_single
from ._search import run_search

__all__ = [
    "BenchmarkConfig",
    "ModelSpec",
    "SearchSpec",
    "ConfigError",
    "load_config",
    "parse_model_option",
    "build_model",
    "load_benchmark_data",
    "make_split",
    "validation_folds",
    "run_benchmark",
    "run_single",
    "run_search",
    "ResultsDirectoryError",
    "summarize",
    "render_markdown",
    "render_results_dir",
    "plot_results",
    "write_section",
    "machine_info",
    "machine_line",
    "machine_load",
]
