"""Test databases: one migrated template per server, cloned for every test (fast, fully isolated).

Integration tests run on the embedded PostgreSQL always, and also on the server in TEST_DATABASE_URL when
it is set (CI points it at the machine's PostgreSQL).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from training_data_studio.core.db import DatabaseMode, DatabaseTarget, parse_database_url
from training_data_studio.core.embedded import start_embedded
from training_data_studio.core.migrate import migrate


@dataclass
class PgServer:
    mode: DatabaseMode
    admin_conninfo: str  # a libpq URI for a maintenance database on that server

    def conninfo_for(self, dbname: str) -> str:
        url = make_url(self.admin_conninfo).set(database=dbname)
        return url.render_as_string(hide_password=False)

    def target_for(self, dbname: str) -> DatabaseTarget:
        return DatabaseTarget(self.mode, parse_database_url(self.conninfo_for(dbname)))

    def create_database(self, name: str, template: str | None = None) -> None:
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            conn.execute(query)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def embedded_server(data_dir: Path) -> PgServer:
    return PgServer("embedded", start_embedded(data_dir))


def external_server() -> PgServer | None:
    raw = os.environ.get("TEST_DATABASE_URL")
    if not raw:
        return None
    url = parse_database_url(raw).set(drivername="postgresql")
    return PgServer("server", url.render_as_string(hide_password=False))


def migrated_template(server: PgServer) -> str:
    name = f"tds_template_{uuid.uuid4().hex[:10]}"
    server.create_database(name)
    migrate(server.conninfo_for(name))
    return name


@contextmanager
def cloned_database(server: PgServer, template: str) -> Iterator[DatabaseTarget]:
    name = f"tds_test_{uuid.uuid4().hex[:12]}"
    server.create_database(name, template=template)
    try:
        yield server.target_for(name)
    finally:
        server.drop_database(name)
