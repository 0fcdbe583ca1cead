"""`tds bench db`: the Matrix query at 100,000 conversations.

The rows are generated inside PostgreSQL (`INSERT ... SELECT ... FROM generate_series`, seeded `random()`,
so every run loads the same data), then the table is vacuumed and analysed. The measured call is the
service function the Matrix page makes, `list_conversations`, one session (one transaction) per call, with
persona + tier + status filters, a topic search, sort by number and 50 rows per page: 20 warm-up calls,
then 200 timed ones. The unfiltered first page is timed too, for information.

Embedded mode (no DATABASE_URL): a fresh server in a temporary data directory, deleted afterwards.
Server mode: the DATABASE_URL database is used as given; it must be a fresh one (the benchmark refuses a
database that already holds conversations).
"""

from __future__ import annotations

import atexit
import os
import platform
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from rich.console import Console
from sqlalchemy.engine import make_url

from ..conversations.schemas import ConversationFilters
from ..conversations.service import list_conversations
from ..core.config import Settings
from ..core.db import Database, DatabaseMode, DatabaseTarget, check_connection, parse_database_url
from ..core.embedded import start_embedded
from ..core.errors import AppError
from ..core.migrate import migrate

DOCS_FILE = Path(__file__).resolve().parents[3] / "docs" / "benchmarks.md"
TARGET_P95_MS = 50.0
DEFAULT_ROWS = 100_000
WARMUPS = 20
RUNS = 200

# The measured Matrix view: what a reviewer narrowing the table down typically asks for.
BENCH_FILTERS = ConversationFilters(
    persona=["Marcus", "Mixed"],
    tier=["tier1_template", "tier2_scenario"],
    status=["planned", "generated"],
    topic="retire",
    sort="number",
    page_size=50,
)
UNFILTERED = ConversationFilters(sort="number", page_size=50)

# Topic words: one in ~16 three-word topics contains "retire" (retirement, retiree, ...).
_TOPIC_WORDS = [
    "budget", "debt", "mortgage", "retirement", "savings", "inheritance", "taxes", "equity", "insurance",
    "college", "divorce", "business", "emergency fund", "credit card", "student loan", "pension", "rent",
    "wedding", "layoff", "caregiving", "investing", "estate", "bonus", "side income", "retiree healthcare",
    "childcare", "relocation", "medical bills", "car loan", "windfall", "gig work", "down payment",
]  # fmt: skip

_LOAD_SQL = """
WITH r AS MATERIALIZED (  -- materialised: each random() is drawn once per row, however often it is used
  SELECT g,
         (ARRAY['Marcus', 'Jennifer', 'David', 'Mixed'])[1 + floor(random() * 4)::int] AS persona,
         (%(words)s::text[])[1 + floor(random() * %(word_count)s)::int] AS w1,
         (%(words)s::text[])[1 + floor(random() * %(word_count)s)::int] AS w2,
         (%(words)s::text[])[1 + floor(random() * %(word_count)s)::int] AS w3,
         random() AS tier_draw,
         (ARRAY['planned', 'in_progress', 'generated', 'reviewed', 'approved', 'flagged', 'failed'])
           [1 + floor(random() * 7)::int] AS status,
         round((1 + random() * 4)::numeric, 1) AS quality
  FROM generate_series(1, %(rows)s) AS g
)
INSERT INTO training_conversations (
  conversation_id, conversation_number, persona_type, persona_name, persona_description,
  topic_category, topic_description, tier, tier_template, tier_batch,
  starting_emotion, starting_emotion_intensity, ending_emotion, ending_emotion_intensity,
  emotional_arc_description, turn_count_target, turn_count, session_context,
  generation_status, quality_score, is_seed_example, created_by
)
SELECT
  'bench_' || lpad(g::text, 6, '0'),
  g,
  persona,
  CASE persona WHEN 'Mixed' THEN 'Scenario client' ELSE persona || ' Benchmark' END,
  'A generated benchmark client.',
  initcap(w1) || ' and ' || w2 || ' worries',
  'A generated client whose ' || w2 || ' and ' || w3 || ' plans collide; number ' || g || '.',
  tier,
  CASE tier WHEN 'tier1_template' THEN 'confusion_to_clarity'
            WHEN 'tier2_scenario' THEN 'life_transition' ELSE 'crisis_safety' END,
  1 + g / 1000,
  'Anxiety', 0.80, 'Clarity', 0.70,
  'From generated anxiety to generated clarity.',
  3 + g %% 4,
  CASE WHEN status IN ('planned', 'in_progress', 'failed') THEN 0 ELSE 3 + g %% 4 END,
  'A generated session.',
  status,
  CASE WHEN status IN ('planned', 'in_progress', 'failed') THEN NULL ELSE quality END,
  g <= 10,
  'bench'
FROM r
CROSS JOIN LATERAL (
  SELECT CASE WHEN r.tier_draw < 0.5 THEN 'tier1_template' WHEN r.tier_draw < 0.85 THEN 'tier2_scenario'
              ELSE 'tier3_edge' END AS tier
) AS t
"""


@dataclass(frozen=True)
class Timing:
    label: str
    matched: int
    returned: int
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.samples_ms, n=100, method="inclusive")[94]

    @property
    def max(self) -> float:
        return max(self.samples_ms)

    def describe(self) -> str:
        return (
            f"{self.label}: p50 {self.p50:.2f} ms, p95 {self.p95:.2f} ms, max {self.max:.2f} ms "
            f"({len(self.samples_ms)} runs; {self.matched:,} rows match, {self.returned} returned)"
        )


@dataclass(frozen=True)
class DbBenchResult:
    mode: DatabaseMode
    server_version: str
    rows: int
    load_seconds: float
    filtered: Timing
    unfiltered: Timing
    load_average: float

    @property
    def met_target(self) -> bool:
        return self.filtered.p95 < TARGET_P95_MS

    def describe(self) -> str:
        verdict = "met" if self.met_target else "NOT met"
        return (
            f"{self.mode} database (PostgreSQL {self.server_version}), {self.rows:,} conversations loaded in "
            f"{self.load_seconds:.1f} s\n  {self.filtered.describe()}\n  {self.unfiltered.describe()}\n"
            f"  target p95 < {TARGET_P95_MS:.0f} ms on the filtered query: {verdict}"
        )


def _bench_target(settings: Settings) -> DatabaseTarget:
    if settings.database_url:
        return DatabaseTarget("server", parse_database_url(settings.database_url))
    data_dir = Path(tempfile.mkdtemp(prefix="tds-bench-"))
    # Registered before the server starts, so it runs after the server's own exit handler has stopped it.
    atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    uri = start_embedded(data_dir / "postgres")
    return DatabaseTarget("embedded", make_url(uri).set(drivername="postgresql+psycopg"))


def load_rows(conninfo: str, rows: int) -> float:
    """Insert `rows` generated conversations, then VACUUM ANALYZE; returns the seconds taken."""
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        present = conn.execute("SELECT count(*) FROM training_conversations").fetchone()
        if present and present[0]:
            raise AppError(
                "bench_not_fresh",
                f"The database already holds {present[0]} conversations: point DATABASE_URL at a fresh database.",
            )
        with conn.transaction():
            conn.execute("SELECT setseed(0.42)")
            conn.execute(_LOAD_SQL, {"rows": rows, "words": _TOPIC_WORDS, "word_count": len(_TOPIC_WORDS)})
        conn.execute("VACUUM ANALYZE training_conversations")
    return time.perf_counter() - started


def time_query(database: Database, filters: ConversationFilters, label: str, *, warmups: int, runs: int) -> Timing:
    samples: list[float] = []
    matched = returned = 0
    for run in range(warmups + runs):
        started = time.perf_counter()
        with database.session_scope() as session:
            page = list_conversations(session=session, filters=filters)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if run >= warmups:
            samples.append(elapsed_ms)
        matched, returned = page.filtered_total, len(page.items)
    return Timing(label=label, matched=matched, returned=returned, samples_ms=samples)


def run_db_bench(
    *, settings: Settings, console: Console, rows: int = DEFAULT_ROWS, warmups: int = WARMUPS, runs: int = RUNS
) -> DbBenchResult:
    target = _bench_target(settings)
    check_connection(target)
    migrate(target.conninfo)
    console.print(f"loading {rows:,} conversations into {target.describe()}")
    load_seconds = load_rows(target.conninfo, rows)
    database = Database(target, pool_size=1)
    try:
        with database.session_scope() as session:
            server_version = str(session.connection().exec_driver_sql("SHOW server_version").scalar_one())
        load_average = os.getloadavg()[0]
        filtered = time_query(
            database, BENCH_FILTERS, "persona + tier + status + topic, by number, 50/page", warmups=warmups, runs=runs
        )
        unfiltered = time_query(database, UNFILTERED, "no filter, by number, 50/page", warmups=warmups, runs=runs)
    finally:
        database.dispose()
    return DbBenchResult(
        mode=target.mode,
        server_version=server_version,
        rows=rows,
        load_seconds=load_seconds,
        filtered=filtered,
        unfiltered=unfiltered,
        load_average=load_average,
    )


def append_to_docs(result: DbBenchResult, path: Path = DOCS_FILE) -> Path:
    """Append a dated section with the machine and the figures (the file is created with a title)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# Benchmarks\n", encoding="utf-8")
    now = datetime.now(UTC)
    f, u = result.filtered, result.unfiltered
    section = f"""
## Matrix query ({result.mode} database), {now:%Y-%m-%d %H:%M} UTC

- Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL \
{result.server_version};
  load average {result.load_average:.2f} when the timing started (a shared machine)
- Workload: `tds bench db`: {result.rows:,} generated conversations (loaded in {result.load_seconds:.1f} s, then
  VACUUM ANALYZE); `list_conversations` in its own session per call, {len(f.samples_ms)} timed calls after
  {WARMUPS} warm-ups; each call runs the page query, the filtered count and the summary (read from the
  trigger-kept `conversation_counts`)
- Filtered (persona 2 of 4 + tier 2 of 3 + status 2 of 7 + topic "retire", by number, 50 per page;
  {f.matched:,} rows match): **p50 {f.p50:.2f} ms, p95 {f.p95:.2f} ms, max {f.max:.2f} ms**
- Unfiltered first page (for information): p50 {u.p50:.2f} ms, p95 {u.p95:.2f} ms, max {u.max:.2f} ms
- Target: filtered p95 < {TARGET_P95_MS:.0f} ms: {"met" if result.met_target else "NOT met"}
"""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(section)
    return path
