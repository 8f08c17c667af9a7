"""Start-up time of the command line: `casework --help` and `casework show` next to anchors from the same run.

STORE   A fresh data directory with the demo loaded (`casework db upgrade`, `casework demo`); `show` reads
        one of its cases (SQLite file).
ANCHOR  `python -c pass` (the interpreter alone) and `python -c "import eventsourcing, sqlalchemy"` (the
        libraries every command that reads the store needs), run the same way.
PRODUCT `casework --help` (no store at all) and `casework show <number>` (settings, schema check, the case's
        events read and its hash chain checked, its JSON printed): each a fresh process, wall time from
        start to exit. Target: well under half a second where no Prefect is needed.
IMPORTS With --imports, where `casework show` spends its import time, by top-level package. -X importtime
        does not see modules loaded through importlib.import_module: the case type's own module (about
        40 ms for a wage negotiation) is missing from it.

Each command runs `--warmup` times unmeasured (the file cache), then `--runs` times; reported: the wall
time's median, minimum and 90th percentile, the median CPU time of the process (user + system: on a busy
machine the steadier figure), and each product's wall time over the heavier anchor's.

    .venv/bin/python -m benchmarks.cli_startup
    .venv/bin/python -m benchmarks.cli_startup --runs 20 --imports
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import console, environment_line, percentile, plain, print_table

PYTHON = sys.executable
CASEWORK = str(Path(sys.executable).with_name("casework"))


@dataclass(frozen=True)
class Timing:
    label: str
    kind: str  # "anchor" or "product"
    runs: list[tuple[float, float]]
    """(wall seconds, CPU seconds of the process: user + system) per run."""

    @property
    def median_ms(self) -> float:
        return statistics.median(wall for wall, _ in self.runs) * 1000

    @property
    def min_ms(self) -> float:
        return min(wall for wall, _ in self.runs) * 1000

    @property
    def p90_ms(self) -> float:
        return percentile(sorted(wall for wall, _ in self.runs), 90) * 1000

    @property
    def cpu_ms(self) -> float:
        """Median CPU time: what the process itself costs, less disturbed than wall time on a busy machine."""
        return statistics.median(cpu for _, cpu in self.runs) * 1000


def time_command(argv: list[str], env: dict[str, str], runs: int, warmup: int) -> list[tuple[float, float]]:
    """Wall and CPU time of `argv` as a fresh process, `runs` times after `warmup` unmeasured runs."""
    times = []
    for i in range(warmup + runs):
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {stderr.strip()}")
        if i >= warmup:
            times.append((elapsed, usage.ru_utime + usage.ru_stime))
    return times


def demo_store(data_dir: Path, env: dict[str, str]) -> str:
    """Load the demo into `data_dir`; the number of a case to show."""
    for args in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([CASEWORK, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"casework {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    with sqlite3.connect(data_dir / "casework.db") as connection:
        row = connection.execute(
            "select number from case_index where kind = 'wage_negotiation' order by number limit 1"
        ).fetchone()
    connection.close()
    if row is None:
        raise SystemExit("the demo stored no wage negotiation")
    return row[0]


def import_time_by_package(argv: list[str], env: dict[str, str], top: int) -> list[tuple[str, float, int]]:
    """(top-level package, ms spent importing its modules, modules) for a command, the `top` largest: the
    modules' own times from `python -X importtime`, which add up to the whole import time."""
    done = subprocess.run([PYTHON, "-X", "importtime", *argv], env=env, capture_output=True, text=True)
    spent: dict[str, float] = {}
    modules: dict[str, int] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line, or the command's own output
        package = parts[2].strip().split(".")[0]
        spent[package] = spent.get(package, 0.0) + int(parts[0]) / 1000
        modules[package] = modules.get(package, 0) + 1
    return sorted(((p, ms, modules[p]) for p, ms in spent.items()), key=lambda f: -f[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each command (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured runs first (default %(default)s)")
    parser.add_argument("--imports", action="store_true", help="also show `casework show`'s import time by package")
    args = parser.parse_args(argv)
    console.print(environment_line())

    with tempfile.TemporaryDirectory(prefix="casework-bench-") as workdir:
        data_dir = Path(workdir) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "PREFECT_"))}
        env.update(CASEWORK_DATA_DIR=str(data_dir), CASEWORK_PERSON_KEY="b" * 44)
        with console.status("loading the demo"):
            number = demo_store(data_dir, env)
        commands = [
            ("python -c pass", "anchor", [PYTHON, "-c", "pass"]),
            (
                "python -c 'import eventsourcing, sqlalchemy'",
                "anchor",
                [PYTHON, "-c", "import eventsourcing, sqlalchemy"],
            ),
            ("casework --help", "product", [CASEWORK, "--help"]),
            (f"casework show {number}", "product", [CASEWORK, "show", number]),
        ]
        timings = []
        for label, kind, command in commands:
            with console.status(f"timing {label}"):
                timings.append(Timing(label, kind, time_command(command, env, args.runs, args.warmup)))
        imports = import_time_by_package(["-m", "cli", "show", number], env, 15) if args.imports else []

    heavier_anchor = max((t for t in timings if t.kind == "anchor"), key=lambda t: t.median_ms)
    print_table(
        f"command-line start-up, {args.runs} runs each (a fresh process, ms)",
        ["command", "kind", "wall median", "wall min", "wall p90", "CPU median", "wall over the import anchor"],
        [
            [
                t.label,
                t.kind,
                t.median_ms,
                t.min_ms,
                t.p90_ms,
                t.cpu_ms,
                t.median_ms - heavier_anchor.median_ms if t.kind == "product" else None,
            ]
            for t in timings
        ],
    )
    if imports:
        print_table(
            "import time of `casework show` by package (python -X importtime, one run)",
            ["package", "", "ms", "modules"],
            [[name, "", ms, count] for name, ms, count in imports],
        )
    console.print(f"load average after the run: {os.getloadavg()[0]:.2f} (1 min)")
    print()
    for t in timings:
        print(
            plain(
                "cli_startup",
                command=t.label.replace(" ", "_"),
                kind=t.kind,
                median_ms=t.median_ms,
                min_ms=t.min_ms,
                p90_ms=t.p90_ms,
                cpu_ms=t.cpu_ms,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
