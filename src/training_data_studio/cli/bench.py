"""`tds bench …`: benchmarks whose results go to docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..core.config import get_settings
from .common import clear_errors, console, err_console

bench_app = typer.Typer(help="Benchmarks whose results go to docs/benchmarks.md.", no_args_is_help=True)


@bench_app.command("import")
def bench_import(
    seeds: Annotated[Path, typer.Option(help="Folder with the upstream seed files.")] = Path(
        "../shared/upstream-seeds"
    ),
    copies: Annotated[int, typer.Option(min=1, max=10_000, help="How many times each file is imported.")] = 100,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
    layout: Annotated[
        str, typer.Option(help="Which rows: all, annotated (files 01-09 x copies) or v4 (the training file).")
    ] = "all",
) -> None:
    """Import the fully annotated upstream seeds `copies` times (ids rewritten) into a fresh database (turns/s),
    then a 72-conversation v4 training file through the CLI and the Import page (seconds)."""
    from ..bench.import_bench import append_to_docs, run_import_bench
    from ..bench.v4_import_bench import append_v4_to_docs, run_v4_import_bench

    with clear_errors():
        if layout in ("all", "annotated"):
            result = run_import_bench(seeds=seeds, copies=copies, settings=get_settings(), console=console)
            console.print(result.describe(), highlight=False)
            if write_docs:
                console.print(f"appended to {append_to_docs(result)}")
        if layout in ("all", "v4"):
            v4 = run_v4_import_bench(seeds=seeds, settings=get_settings(), console=console)
            console.print(v4.describe(), highlight=False)
            if write_docs:
                console.print(f"appended to {append_v4_to_docs(v4)}")


@bench_app.command("db")
def bench_db(
    rows: Annotated[int, typer.Option(min=1_000, max=5_000_000, help="Conversations to load.")] = 100_000,
    runs: Annotated[int, typer.Option(min=10, max=10_000, help="Timed calls (after 20 warm-ups).")] = 200,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Load generated conversations into a fresh database and time the Matrix query (p50/p95/max)."""
    from ..bench.db_bench import append_to_docs, run_db_bench

    with clear_errors():
        result = run_db_bench(settings=get_settings(), console=console, rows=rows, runs=runs)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")


@bench_app.command("duplicates")
def bench_duplicates(
    conversations: Annotated[int, typer.Option(min=100, max=200_000, help="Synthetic conversations.")] = 10_000,
    planted: Annotated[int, typer.Option(min=1, max=1_000, help="Near-copies planted among them.")] = 20,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Time near-duplicate detection (shingles, MinHash, LSH) over synthetic conversations; peak memory."""
    from ..bench.duplicates_bench import append_to_docs, run_duplicates_bench

    result = run_duplicates_bench(conversations, planted)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")
    if not result.met_target:
        raise typer.Exit(1)


@bench_app.command("training-file")
def bench_training_file(
    conversations: Annotated[int, typer.Option(min=1, max=100_000, help="Conversations in the file.")] = 1_000,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Time creating a training file (load, build v4, validate, render four ways, store); peak memory."""
    from ..bench.training_file_bench import append_to_docs, run_training_file_bench

    with clear_errors():
        result = run_training_file_bench(get_settings(), conversations)
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")
    if not result.met_target:
        raise typer.Exit(1)


@bench_app.command("generate")
def bench_generate(
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the results to docs/benchmarks.md.")] = False,
    with_overload: Annotated[bool, typer.Option(help="Also run with 10% of calls answered 529.")] = True,
    workers: Annotated[
        bool,
        typer.Option("--workers", help="Process-all on two worker processes instead of `tds generate --all`."),
    ] = False,
    token_aware: Annotated[
        bool,
        typer.Option(
            "--token-aware",
            help="Instead: a low and a high tier account (request, input- and output-token buckets), before and "
            "after, scaled in time.",
        ),
    ] = False,
    conversations: Annotated[int, typer.Option(min=1, max=90, help="Conversations per token-aware run.")] = 40,
    tiers: Annotated[
        list[str] | None, typer.Option("--tier", help="Token-aware: only this tier (low or high; repeatable).")
    ] = None,
    scale: Annotated[
        float,
        typer.Option(
            min=1,
            max=1000,
            help="Token-aware time scale (limits and speed x). Above 10, the fake's and the client's own time per "
            "call (tens of ms) weighs on a scaled call of seconds; a real call takes a minute.",
        ),
    ] = 10,
) -> None:
    """`tds generate --all` of 90 conversations against a fake with a 60 requests/minute limit, real
    database writes (or, with --workers, process-all on two workers; with --token-aware, generation against
    an account's three budgets)."""
    if token_aware:
        from ..bench import token_bench

        unknown = set(tiers or ()) - set(token_bench.TIERS)
        if unknown:
            err_console.print(f"[bold red]error:[/] unknown tier {', '.join(sorted(unknown))}: use low or high")
            raise typer.Exit(2)
        token_result = token_bench.run_token_bench(
            console,
            conversations=conversations,
            scale=scale,
            shapes=("before", "after"),
            tiers=tuple(tiers or token_bench.TIERS),
        )
        console.print(token_result.describe())
        if write_docs:
            token_bench.append_to_docs(token_result)
        return
    from ..bench.generate_bench import append_to_docs, run_generate_bench

    with clear_errors():
        result = run_generate_bench(get_settings(), console, with_overload=with_overload, workers=workers)
    console.print(result.describe())
    if write_docs:
        append_to_docs(result)


@bench_app.command("quality")
def bench_quality(
    conversations: Annotated[int, typer.Option(min=10, max=200_000, help="Conversations for the metrics.")] = 10_000,
    db_conversations: Annotated[
        int, typer.Option(min=0, max=200_000, help="Conversations recomputed over a fresh database (0: skip).")
    ] = 10_000,
    duplicates: Annotated[int, typer.Option(min=100, max=200_000, help="Conversations for duplicates.")] = 10_000,
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the result to docs/benchmarks.md.")] = False,
) -> None:
    """Time quality metrics + checks (in memory and over the database) and near-duplicate detection."""
    from ..bench.quality_bench import append_to_docs, run_quality_bench

    with clear_errors():
        result = run_quality_bench(
            get_settings(),
            conversations=conversations,
            db_conversations=db_conversations,
            duplicate_conversations=duplicates,
            log=lambda message: console.print(message, style="dim", highlight=False),
        )
    console.print(result.describe(), highlight=False)
    if write_docs:
        path = append_to_docs(result)
        console.print(f"appended to {path}")
    if not result.met_target:
        raise typer.Exit(1)


@bench_app.command("ui")
def bench_ui(
    runs: Annotated[int, typer.Option(min=5, max=500, help="Timed runs per measure (after 2 warm-ups).")] = 20,
    sizes: Annotated[str, typer.Option(help="Conversation counts to load, comma-separated.")] = "100,10000",
    write_docs: Annotated[bool, typer.Option("--write-docs", help="Append the results to docs/benchmarks.md.")] = False,
) -> None:
    """Time the Matrix and a job dashboard in headless Chromium (cold load, filter, detail, live event)."""
    from ..bench.ui_bench import append_to_docs, run_ui_bench

    try:
        counts = tuple(int(size) for size in sizes.split(","))
    except ValueError:
        err_console.print("[bold red]error:[/] --sizes takes whole numbers separated by commas, e.g. 100,10000")
        raise typer.Exit(1) from None
    with clear_errors():
        result = run_ui_bench(get_settings(), console, sizes=counts, runs=runs)
    console.print(result.describe(), highlight=False)
    if write_docs:
        console.print(f"appended to {append_to_docs(result)}")
