"""The ``vmacheck`` command line (design.md §8).

Exit status: 0 every checked property holds (or is proved); 1 a property is violated; 2 bad
input or a fault in the user's code (the one-line message names the problem, file:line where
there is one); 3 some verdict is unknown (a bound was hit, or an engine could not decide a
property); 4 an internal error of vmacheck (one line; the verdicts found before it are kept).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vmacheck.checker.core.replay import ReplayError
from vmacheck.checker.core.result import HOLDS, PROVED, UNKNOWN, VIOLATED, CheckResult
from vmacheck.checker.engines import Engine, add_arguments, load_engines, options_from
from vmacheck.checker.errors import InternalError, UserError
from vmacheck.checker.loader import Catalogue, pick, resolve_variant
from vmacheck.checker.report.progress import Reporter
from vmacheck.checker.report.render import render_trace_text
from vmacheck.checker.report.trace import TraceError, trace_json, write_trace
from vmacheck.properties import Property
from vmacheck.protocol import Model, Scenario, Variant, VariantError

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_BOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4

DESCRIPTION = """\
vmacheck: a model checker for the locking protocols of the Linux memory manager.

A variant is a munmap locking protocol written in Python (shipped ones are listed by
`vmacheck list`; your own is a .py file that defines VARIANT = Variant(...)). A scenario
sets the initial address space and the syscalls that race with munmap. vmacheck explores
every interleaving and reports, per property, `holds` or `violated` with the shortest
interleaving that breaks it.
"""

EPILOG = """\
exit status: 0 all checked properties hold, 1 a property is violated, 2 bad input or
  a fault in your variant's code (file:line named), 3 some verdict is unknown: a bound
  (--max-states, --timeout, --depth) was hit, or the engine could not decide a property
  (the reason is printed), 4 an internal error of vmacheck (verdicts found so far kept).

examples:
  vmacheck list
  vmacheck check downgrade-4.20 --scenario stack-below-growsdown --trace-dir out
  vmacheck check ./my_variant.py --property no_clobber
  vmacheck compare --markdown matrix.md
  vmacheck check baseline-4.19 --engine symbolic --scenario map-fixed
  vmacheck show out/downgrade-4.20--stack-below-growsdown--no_clobber.json
"""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"vmacheck: error: {message} (see '{self.prog} --help')\n")


def build_parser(engines: dict[str, Engine]) -> Parser:
    parser = Parser(
        prog="vmacheck",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from vmacheck import __version__

    parser.add_argument("--version", action="version", version=f"vmacheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p_list = sub.add_parser("list", help="list variants, scenarios, properties and engines")
    p_list.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    p_list.add_argument("variant_file", nargs="?", help="also list what this variant file defines")

    p_check = sub.add_parser(
        "check",
        help="check one variant",
        description="Check VARIANT (a shipped name or a .py file) in each scenario and report a "
        "verdict per property, with the shortest counterexample of each violated one.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_check.add_argument("variant", metavar="VARIANT", help="shipped variant name or path of a .py file")
    p_check.add_argument(
        "--scenario", "-s", action="append", metavar="S", help="scenario to run (repeatable; default: all)"
    )
    p_check.add_argument(
        "--property", "-p", action="append", metavar="P", help="property to check (repeatable; default: all)"
    )
    p_check.add_argument(
        "--engine", choices=sorted(engines), default="explicit", help="checking engine (default: explicit)"
    )
    p_check.add_argument("--json", metavar="FILE", help="write the results as JSON (schema 1)")
    p_check.add_argument("--trace-dir", metavar="DIR", help="write each counterexample as a JSON trace here")
    p_check.add_argument(
        "--html",
        metavar="DIR",
        help="write each counterexample as a self-contained HTML viewer here, next to its JSON trace"
        " (in DIR too unless --trace-dir is given)",
    )
    p_check.add_argument(
        "--no-traces", action="store_true", help="do not print counterexamples, only verdicts"
    )
    p_check.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    add_arguments(
        p_check.add_argument_group("engine options (an option another engine has is an error)"), engines
    )

    p_cmp = sub.add_parser(
        "compare",
        help="check every variant in every scenario and print the verdict matrix",
        description="Run an engine (explicit by default) over variants x scenarios and print which "
        "variant breaks which property, with the length of the shortest counterexample.",
    )
    p_cmp.add_argument("--variant", action="append", metavar="V", help="variant (name or file; repeatable)")
    p_cmp.add_argument("--scenario", "-s", action="append", metavar="S", help="scenario (repeatable)")
    p_cmp.add_argument("--property", "-p", action="append", metavar="P", help="property (repeatable)")
    p_cmp.add_argument("--json", metavar="FILE", help="write all results as JSON (schema 1)")
    p_cmp.add_argument(
        "--markdown", metavar="FILE", help="write the matrix as a Markdown table ('-' for stdout)"
    )
    p_cmp.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    p_cmp.add_argument(
        "--engine", choices=sorted(engines), default="explicit", help="checking engine (default: explicit)"
    )
    add_arguments(
        p_cmp.add_argument_group("engine options (an option another engine has is an error)"), engines
    )

    p_show = sub.add_parser(
        "show",
        help="display a counterexample trace file",
        description="Display a trace written by `check --trace-dir`, after replaying it on the model.",
    )
    p_show.add_argument("trace", metavar="TRACE.json")
    p_show.add_argument("--html", metavar="FILE", help="write a self-contained HTML viewer instead")
    form = p_show.add_mutually_exclusive_group()
    form.add_argument("--only-changes", action="store_true", help="per step, show only what it changed")
    form.add_argument(
        "--compact", action="store_true", help="one line per step (with --html: the compact page)"
    )
    p_show.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour (default: on a terminal)"
    )
    p_show.add_argument(
        "--no-replay",
        action="store_true",
        help="do not rebuild the model and replay the trace (a trace naming a variant file imports it)",
    )
    return parser


# --- output helpers -----------------------------------------------------------------------
def _console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


VERDICT_STYLE = {HOLDS: "green", PROVED: "bold green", VIOLATED: "bold red", UNKNOWN: "yellow"}


def _verdict_word(verdict: str) -> str:
    return "VIOLATED" if verdict == VIOLATED else verdict


def _print_result(out: Console, res: CheckResult) -> None:
    st = res.stats
    bound = f"  [yellow]stopped: {res.bound}[/]" if res.bound else ""
    out.print(
        f"[bold]{escape(res.variant)}[/] / [bold]{escape(res.scenario)}[/] ({res.engine}): "
        f"{st.states:,} states, {st.transitions:,} transitions, depth {st.depth}, {st.seconds:.2f} s{bound}"
    )
    width = max(len(n) for n in res.properties)
    for name, pr in res.properties.items():
        word = _verdict_word(pr.verdict)
        style = VERDICT_STYLE.get(pr.verdict, "")
        line = f"  [{style}]{word:<9}[/] {name:<{width}}"
        if pr.verdict == VIOLATED and pr.violation is not None:
            steps = f"({pr.trace_length} steps) " if pr.trace_length is not None else "(no trace) "
            line += f"  {steps}{escape(pr.violation.message)}"
        elif pr.reason:
            line += f"  {escape(pr.reason)}"
        out.print(line)


def _trace_name(res: CheckResult, prop: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in res.variant)
    return f"{safe}--{res.scenario}--{prop}.json"


def _exit_code(results: Sequence[CheckResult]) -> int:
    if any(r.violated for r in results):
        return EXIT_VIOLATED
    if any(r.unknown for r in results):
        return EXIT_BOUND
    return EXIT_OK


def _results_json(results: Sequence[CheckResult]) -> dict[str, Any]:
    return {"schema": 1, "results": [r.to_json() for r in results]}


def _write_text(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None


# --- commands -------------------------------------------------------------------------------
def _select(
    cat: Catalogue,
    variants: list[Variant],
    scenario_names: list[str] | None,
    prop_names: list[str] | None,
    exhaustive: bool = True,
) -> tuple[list[tuple[Variant, Scenario]], list[Property]]:
    """(variant, scenario) pairs to run: the named scenarios, or every scenario that applies
    (with ``exhaustive``, only those small enough to explore completely)."""
    chosen = pick("scenario", scenario_names, cat.scenarios)  # type: ignore[arg-type]
    props = [cat.properties[n] for n in pick("property", prop_names, cat.properties)]  # type: ignore[arg-type]
    pairs = []
    for v in variants:
        for name in chosen:
            sc = cat.scenarios[name]
            if scenario_names or (sc.applies_to(v.name) and (sc.exhaustive or not exhaustive)):
                pairs.append((v, sc))
    if not pairs:
        raise UserError("no scenario applies to the chosen variant(s)")
    return pairs, props


def _run_pairs(
    engine: Engine,
    pairs: list[tuple[Variant, Scenario]],
    props: list[Property],
    options: Any,
    reporter: Reporter,
) -> list[CheckResult]:
    results = []
    for n, (variant, sc) in enumerate(pairs, 1):
        try:
            model = Model(variant, sc)
        except VariantError as exc:
            raise UserError(str(exc)) from None
        reporter.begin(f"[{n}/{len(pairs)}] {variant.name} / {sc.name}")
        try:
            res = engine.run(model, props, options, reporter.update)
        except VariantError as exc:
            raise UserError(str(exc)) from None
        except ReplayError as exc:
            raise InternalError(f"{variant.name} / {sc.name}: {exc}") from None
        finally:
            reporter.end()
        results.append(res)
    return results


def cmd_list(opts: argparse.Namespace, engines: dict[str, Engine]) -> int:
    cat = Catalogue.shipped()
    if opts.variant_file:
        resolve_variant(opts.variant_file, cat)
        from vmacheck.checker.loader import load_file

        cat.variants.update(load_file(opts.variant_file).variants)
    if opts.json:
        data = {
            "variants": [
                {"name": v.name, "summary": v.summary, "source": v.source} for v in cat.variants.values()
            ],
            "scenarios": [
                {
                    "name": s.name,
                    "summary": s.summary,
                    "threads": [t.syscall for t in s.threads],
                    "pages": s.pages,
                    "max_map_count": s.max_map_count,
                }
                for s in cat.scenarios.values()
            ],
            "properties": [{"name": p.name, "summary": p.summary} for p in cat.properties.values()],
            "engines": [{"name": e.name, "summary": e.summary} for e in engines.values()],
        }
        print(json.dumps(data, indent=1))
        return EXIT_OK
    out = _console()
    for title, rows in (
        ("Variants", [(v.name, f"{v.summary}  [dim]({v.source})[/]") for v in cat.variants.values()]),
        (
            "Scenarios",
            [
                (s.name, f"{s.summary}  [dim]({', '.join(t.syscall for t in s.threads)})[/]")
                for s in cat.scenarios.values()
            ],
        ),
        ("Properties", [(p.name, p.summary) for p in cat.properties.values()]),
        ("Engines", [(e.name, e.summary) for e in engines.values()]),
    ):
        out.print(f"[bold]{title}[/]")
        width = max(len(r[0]) for r in rows)
        for name, text in rows:
            out.print(f"  {name:<{width}}  {text}")
        out.print()
    return EXIT_OK


def cmd_check(opts: argparse.Namespace, engines: dict[str, Engine]) -> int:
    cat = Catalogue.shipped()
    variants = resolve_variant(opts.variant, cat)
    engine = engines[opts.engine]
    options = options_from(engine, opts)
    pairs, props = _select(cat, variants, opts.scenario, opts.property, exhaustive=engine.exhaustive)
    html_dir = Path(opts.html) if opts.html else None
    trace_dir = Path(opts.trace_dir) if opts.trace_dir else html_dir
    for folder in {d for d in (trace_dir, html_dir) if d is not None}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create directory {folder}: {exc.strerror}") from None
    out = _console()
    reporter = Reporter(_console(stderr=True), enabled=not opts.quiet)
    results = []
    failure: Exception | None = None
    for pair in pairs:
        try:
            (res,) = _run_pairs(engine, [pair], props, options, reporter)
        except (UserError, InternalError) as exc:
            failure = exc  # keep and report what the runs before it found
            break
        html_files: dict[str, str] = {}
        results.append(res)
        for pr in res.violated:
            if trace_dir is not None and pr.trace is not None:
                path = trace_dir / _trace_name(res, pr.name)
                try:
                    write_trace(pr.trace, path)
                except OSError as exc:
                    raise UserError(f"cannot write {path}: {exc.strerror}") from None
                pr.trace_file = str(path)
            if html_dir is not None and pr.trace is not None:
                from vmacheck.checker.report.show import write_trace_html

                html_path = html_dir / Path(_trace_name(res, pr.name)).with_suffix(".html")
                write_trace_html(pr.trace, html_path)
                html_files[pr.name] = str(html_path)
        _print_result(out, res)
        if not opts.no_traces:
            for pr in res.violated:
                if pr.trace is not None:
                    out.print()
                    out.print(escape(render_trace_text(trace_json(pr.trace))))
                    if pr.trace_file:
                        out.print(f"  (written to {escape(pr.trace_file)})")
                    if pr.name in html_files:
                        out.print(f"  (HTML viewer: {escape(html_files[pr.name])})")
        out.print()
    if opts.json:
        _write_text(opts.json, json.dumps(_results_json(results), indent=1) + "\n")
    if results:
        _print_summary(out, results)
    if failure is not None:
        raise failure
    return _exit_code(results)


def _print_summary(out: Console, results: Sequence[CheckResult]) -> None:
    bad = sum(len(r.violated) for r in results)
    unknown = sum(len(r.unknown) for r in results)
    total = sum(len(r.properties) for r in results)
    if bad:
        out.print(f"[bold red]{bad} of {total} verdicts violated[/] in {len(results)} run(s)")
    elif unknown:
        bounded = any(r.bound for r in results)
        why = "a bound was hit" if bounded else "see the reasons above"
        out.print(f"[yellow]{unknown} of {total} verdicts unknown ({why})[/] in {len(results)} run(s)")
    else:
        proved = sum(1 for r in results for p in r.properties.values() if p.verdict == PROVED)
        if proved == total:
            out.print(f"[bold green]all {total} verdicts proved[/] in {len(results)} run(s)")
        elif proved:
            out.print(f"[green]all {total} verdicts hold ({proved} proved)[/] in {len(results)} run(s)")
        else:
            out.print(f"[green]all {total} verdicts hold[/] in {len(results)} run(s)")


ABBREV = {
    "no_segv_on_mapped": "segv",
    "map_count_limit": "mapcnt",
    "no_clobber": "clobbr",
    "no_pt_use_after_free": "ptuaf",
    "no_vma_use_after_free": "vmauaf",
    "vma_consistency": "consis",
    "deadlock_free": "dlock",
    "lock_discipline": "locks",
    "documented_errno": "errno",
    "linearizable": "linear",
}


RANK = {PROVED: 0, HOLDS: 1, UNKNOWN: 2, VIOLATED: 3}


def matrix(results: Sequence[CheckResult], props: Sequence[str]) -> dict[str, dict[str, Any]]:
    """variant → property → aggregate over scenarios: verdict and the shortest violation."""
    cells: dict[str, dict[str, Any]] = {}
    for res in results:
        row = cells.setdefault(res.variant, {})
        for name in props:
            pr = res.properties[name]
            cell = row.setdefault(name, {"verdict": pr.verdict, "violations": []})
            # a cell is as weak as its weakest scenario: proved < holds < unknown < violated
            if RANK[pr.verdict] > RANK[cell["verdict"]]:
                cell["verdict"] = pr.verdict
            if pr.verdict == VIOLATED:
                cell["violations"].append((pr.trace_length, res.scenario))
    for row in cells.values():
        for cell in row.values():
            cell["violations"].sort(key=lambda ls: (ls[0] is None, ls[0] or 0, ls[1]))
    return cells


def markdown_matrix(results: Sequence[CheckResult], props: Sequence[str]) -> str:
    cells = matrix(results, props)
    lines = [
        "| variant | " + " | ".join(f"`{p}`" for p in props) + " |",
        "|---|" + "---|" * len(props),
    ]
    for variant, row in cells.items():
        out = []
        for p in props:
            cell = row[p]
            if cell["verdict"] == VIOLATED:
                length, scenario = cell["violations"][0]
                length = "no trace" if length is None else f"{length} steps"
                more = f" +{len(cell['violations']) - 1}" if len(cell["violations"]) > 1 else ""
                out.append(f"**violated** ({length}, `{scenario}`{more})")
            else:
                out.append(cell["verdict"])
        lines.append(f"| `{variant}` | " + " | ".join(out) + " |")
    return "\n".join(lines) + "\n"


def cmd_compare(opts: argparse.Namespace, engines: dict[str, Engine]) -> int:
    cat = Catalogue.shipped()
    variants: list[Variant] = []
    for spec in opts.variant or list(cat.variants):
        for v in resolve_variant(spec, cat):
            if v not in variants:
                variants.append(v)
    engine = engines[opts.engine]
    options = options_from(engine, opts)
    pairs, props = _select(cat, variants, opts.scenario, opts.property, exhaustive=engine.exhaustive)
    reporter = Reporter(_console(stderr=True), enabled=not opts.quiet)
    results = _run_pairs(engine, pairs, props, options, reporter)
    names = [p.name for p in props]
    out = _console()
    if opts.markdown == "-":  # stdout carries the Markdown alone; the table goes to stderr
        out = _console(stderr=True)
    elif not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, width=200)
    cells = matrix(results, names)
    table = Table(
        title="vmacheck compare: verdict per variant and property (over all scenarios)",
        box=box.SIMPLE if out.is_terminal else box.ASCII,
        pad_edge=False,
        padding=(0, 1),
        title_justify="left",
    )
    table.add_column("variant", no_wrap=True, min_width=max(len(v) for v in cells))
    for n in names:
        table.add_column(ABBREV.get(n, n), justify="center", no_wrap=True, min_width=len(ABBREV.get(n, n)))
    for variant, row in cells.items():
        rendered = []
        for n in names:
            cell = row[n]
            if cell["verdict"] == VIOLATED:
                length = cell["violations"][0][0]
                rendered.append(f"[bold red]x{'' if length is None else length}[/]")
            elif cell["verdict"] == UNKNOWN:
                rendered.append("[yellow]?[/]")
            elif cell["verdict"] == PROVED:
                rendered.append("[bold green]pv[/]")
            else:
                rendered.append("[green]ok[/]")
        table.add_row(variant, *rendered)
    out.print(table)
    legend = "  ok: holds in every scenario;  xN: violated, shortest counterexample N steps;  ?: unknown"
    if any(row[n]["verdict"] == PROVED for row in cells.values() for n in names):
        legend += ";  pv: proved in every scenario, for every layout"
    out.print(legend)
    out.print("  columns: " + ", ".join(f"{ABBREV.get(n, n)}={n}" for n in names))
    out.print()
    for variant, row in cells.items():
        broken = [
            f"{n} in {', '.join(f'{s} ({length})' for length, s in row[n]['violations'])}"
            for n in names
            if row[n]["verdict"] == VIOLATED
        ]
        if broken:
            out.print(f"[bold]{escape(variant)}[/] violates " + "; ".join(escape(b) for b in broken))
    total_s = sum(r.stats.seconds for r in results)
    states = sum(r.stats.states for r in results)
    out.print(f"\n{len(results)} runs, {states:,} states, {total_s:.1f} s")
    if opts.json:
        _write_text(opts.json, json.dumps(_results_json(results), indent=1) + "\n")
    if opts.markdown:
        md = markdown_matrix(results, names)
        if opts.markdown == "-":
            sys.stdout.write(md)
        else:
            _write_text(opts.markdown, md)
    return _exit_code(results)


def cmd_show(opts: argparse.Namespace, engines: dict[str, Engine]) -> int:
    from vmacheck.checker.report.show import ShowOptions, show

    return show(
        ShowOptions(
            trace=opts.trace,
            html=opts.html,
            compact=opts.compact,
            only_changes=opts.only_changes,
            color=opts.color,
            no_replay=opts.no_replay,
        )
    )


COMMANDS = {"list": cmd_list, "check": cmd_check, "compare": cmd_compare, "show": cmd_show}


def main(argv: Sequence[str] | None = None) -> int:
    engines = load_engines()
    parser = build_parser(engines)
    opts = parser.parse_args(argv)
    if opts.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return COMMANDS[opts.command](opts, engines)
    except (UserError, VariantError, TraceError) as exc:
        print(f"vmacheck: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InternalError as exc:
        print(f"vmacheck: internal error (a bug of vmacheck; please report it): {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("vmacheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
