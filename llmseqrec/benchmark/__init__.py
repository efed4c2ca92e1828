"""Benchmark runner, report generation and hyper-parameter search."""

from ._docs import write_section
from ._machine import machine_info, machine_line

__all__ = ["write_section", "machine_info", "machine_line"]
