"""Prints the crash table (tests/crash/test_crash.py) in pytest's summary."""

from __future__ import annotations

from typing import Any


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from crash.harness import REPORT

    for report in REPORT:
        terminalreporter.write_line("")
        for line in report.splitlines():
            terminalreporter.write_line(line)
