"""The data source of a run: checked before any job runs, and fingerprinted.

Real-data mode reads an analyst's files or database. Three promises rest on this module:

- **Nothing runs against a broken source.** :func:`link_key` and :func:`fingerprint` run
  when Snakemake builds the DAG (dry runs included, old results or not) and stops with one message
  naming what is wrong and what to do: a missing or weak ``PBR_LINK_KEY``, a directory
  that does not exist or is a file, a missing or doubled table file, a database URL that
  holds a password, an unreachable database, a missing table.
- **A change of data re-runs what it affects**, even when file dates do not change (a
  table edited in the database, a file replaced by an older-dated copy): the fingerprint
  (:func:`fingerprint`) is a parameter of the validation rule, and Snakemake re-runs a
  job whose parameters changed. Files: path, size and SHA-256 of the bytes. Database:
  the URL without credentials, and each table's row count and an order-free checksum of
  its rows (the sum of the rows' MD5 digests, computed by PostgreSQL itself; other
  databases stream the rows).
- **No credential is recorded.** A password never travels in the URL: it comes from
  ``~/.pgpass`` (read by the PostgreSQL driver) or the environment variable
  ``PBR_DB_PASSWORD``, and only the URL without it reaches parameters, logs and the report.

File hashes are cached by (size, modification time, change time, inode): a copy with an
old date still changes the change time, which no user can set, so the cache never hides
a change. This module imports only the standard library and the contract (SQLAlchemy for a database).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pbr.contract import TABLES
from pbr.errors import PipelineError

KEY_ENV = "PBR_LINK_KEY"
SYNTHETIC_KEY = "synthetic-data-only"  # used only with synthetic extracts, which hold no real person
MIN_KEY_BYTES = 16
PASSWORD_ENV = "PBR_DB_PASSWORD"
TABLE_NAMES = tuple(sorted(TABLES))
FORMATS = ("auto", "csv", "parquet")
KEY_HOWTO = f"export {KEY_ENV}=$(openssl rand -hex 32)  # keep it outside the project, the same for every run"


class SourceError(PipelineError):
    """The data source cannot be used; the message says what to do."""


# ---------------------------------------------------------------------------------------
# The pseudonymisation key


def link_key(kind: str) -> bytes:
    """The secret key for person ids: ``$PBR_LINK_KEY`` (at least 16 bytes once stripped), or, for
    synthetic data without one, :data:`SYNTHETIC_KEY`. Raises SourceError in real mode without a usable key."""
    raw = os.environ.get(KEY_ENV)
    if raw is None or (not raw.strip() and kind == "synthetic"):
        if kind == "synthetic":
            return SYNTHETIC_KEY.encode()
        raise SourceError(
            f"real-data mode needs a secret pseudonymisation key in the environment variable {KEY_ENV}, "
            f"which is not set. Make one and run again:\n    {KEY_HOWTO}"
        )
    key = raw.strip()
    if len(key.encode()) < MIN_KEY_BYTES:
        raise SourceError(
            f"the pseudonymisation key in {KEY_ENV} is too weak: {len(key.encode())} byte(s) after removing "
            f"surrounding spaces, at least {MIN_KEY_BYTES} needed. Make a strong one and run again:\n    {KEY_HOWTO}"
        )
    return key.encode()


def key_id(kind: str) -> str:
    """A short one-way digest of the key (not the key), so that a new key re-runs the jobs it keys."""
    return hashlib.sha256(b"pbr-key-id\0" + link_key(kind)).hexdigest()[:16]


# ---------------------------------------------------------------------------------------
# Files


def table_files(directory: str | Path, fmt: str) -> tuple[dict[str, Path], list[tuple[str, str, str]]]:
    """Each table's file in ``directory`` and the problems found, as (where, what, what to do)."""
    folder = Path(directory)
    exts = ("csv", "parquet") if fmt == "auto" else (fmt,)
    files: dict[str, Path] = {}
    problems: list[tuple[str, str, str]] = []
    for name in TABLE_NAMES:
        found = [folder / f"{name}.{ext}" for ext in exts if (folder / f"{name}.{ext}").is_file()]
        if not found:
            expected = " or ".join(f"{name}.{ext}" for ext in exts)
            problems.append(
                (
                    str(folder / f"{name}.{exts[0]}"),
                    f"file not found: expected {expected} in {folder}",
                    "Export the table under that name",
                )
            )
        elif len(found) > 1:
            problems.append(
                (
                    str(found[0]),
                    f"both {found[0].name} and {found[1].name} exist",
                    "Remove one of them, or choose one with the config key data.real.format (csv or parquet)",
                )
            )
        else:
            files[name] = found[0]
    return files, problems


def file_sha256(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _recorded(path: str | Path) -> str:
    """How a path is recorded: relative to the working directory when inside it (a project moved
    or run twice in two places records the same), else absolute (the analyst's extract)."""
    p = Path(path).resolve()
    cwd = Path.cwd().resolve()
    return str(p.relative_to(cwd)) if p.is_relative_to(cwd) else str(p)


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def files_fingerprint(files: dict[str, Path], cache: str | Path | None = None) -> dict:
    """{table: {path, bytes, sha256}} of the files; ``cache`` (a JSON file) spares re-hashing unchanged files."""
    store: dict = {}
    if cache is not None and Path(cache).is_file():
        try:
            store = json.loads(Path(cache).read_text())
        except (OSError, ValueError):
            store = {}
    out, fresh = {}, {}
    for name, path in sorted(files.items()):
        path = Path(path).resolve()
        key = _stat_key(path)
        hit = store.get(str(path))
        digest = hit["sha256"] if hit and hit.get("stat") == key else file_sha256(path)
        fresh[str(path)] = {"stat": key, "sha256": digest}
        out[name] = {"path": _recorded(path), "bytes": key[0], "sha256": digest}
    if cache is not None and fresh != store:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(f"{cache}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(fresh, indent=1, sort_keys=True))
        tmp.replace(cache)
    return out


# ---------------------------------------------------------------------------------------
# Databases


def public_url(url: str) -> str:
    """The URL as it may be shown and recorded: never a password."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=None).render_as_string(hide_password=True)


def connect_url(url: str):
    """The URL to connect with: the password from ``$PBR_DB_PASSWORD`` when set (else the driver's
    own sources, such as ``~/.pgpass``)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    password = os.environ.get(PASSWORD_ENV)
    return u.set(password=password) if password else u


def check_url(url: str) -> None:
    """Stop on a URL that cannot be parsed or that carries a password (it would be recorded)."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except sa.exc.ArgumentError:
        raise SourceError(
            "'data.real.url' is not a valid SQLAlchemy URL. Give one such as "
            "postgresql+psycopg://analyst@dbhost:5432/pbr"
        ) from None
    if u.password is not None:
        raise SourceError(
            f"'data.real.url' holds a password ({public_url(url)} with the password hidden here). A password "
            "in the configuration would be recorded in Snakemake's metadata and the report. Remove it from "
            f"the URL and put it in ~/.pgpass (PostgreSQL) or the environment variable {PASSWORD_ENV}, "
            "then run again."
        )


def _qualified(name: str, schema: str | None, engine) -> str:
    quote = engine.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def database_fingerprint(url: str, schema: str | None) -> dict:
    """{url (no credentials), schema, tables: {table: {rows, checksum}}}; raises SourceError when the
    database cannot be reached or a table is missing."""
    import sqlalchemy as sa

    check_url(url)
    shown = public_url(url)
    try:
        engine = sa.create_engine(connect_url(url))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
        raise SourceError(f"cannot use the database URL {shown} ({type(e).__name__}: {e}).") from None
    tables: dict[str, dict] = {}
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            missing = [t for t in TABLE_NAMES if not insp.has_table(t, schema=schema)]
            if missing:
                where = f"schema {schema!r} of " if schema else ""
                raise SourceError(
                    f"table(s) {', '.join(missing)} not found in {where}the database {shown}. Create or load "
                    "them (docs/input-contract.md), or set 'data.real.db_schema' to the schema that holds them."
                )
            for t in TABLE_NAMES:
                tables[t] = _table_checksum(conn, _qualified(t, schema, engine))
    except sa.exc.DBAPIError as e:
        first = str(e.orig if e.orig is not None else e).strip().splitlines()[0]
        raise SourceError(
            f"cannot reach the database at {shown}: {first}. Check that the server is running, the URL "
            f"(host, port, database name, user) and the password (~/.pgpass or {PASSWORD_ENV}), then run again."
        ) from None
    finally:
        engine.dispose()
    return {"url": shown, "schema": schema, "tables": tables}


def _table_checksum(conn, qualified: str) -> dict:
    """Row count and an order-free checksum of one table's rows."""
    import sqlalchemy as sa

    if conn.dialect.name == "postgresql":
        # sum over rows of the first 60 bits of md5(row as text); numeric sum, no overflow
        q = sa.text(
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text "
            f"FROM {qualified} AS t"
        )
        rows, checksum = conn.execute(q).one()
        return {"rows": int(rows), "checksum": f"pg-md5-sum:{checksum}"}
    total, rows = 0, 0
    result = conn.execution_options(stream_results=True).execute(sa.text(f"SELECT * FROM {qualified}"))
    for row in result:
        total = (total + int(hashlib.md5(repr(tuple(row)).encode()).hexdigest()[:15], 16)) % (1 << 64)
        rows += 1
    return {"rows": rows, "checksum": f"py-md5-sum:{total}"}


# ---------------------------------------------------------------------------------------
# The whole source


def real_source(real: dict) -> dict:
    """What the validation rule reads, as plain values without credentials."""
    if real.get("url"):
        return {
            "kind": "database",
            "url": public_url(real["url"]),
            "db_schema": real.get("db_schema"),
            "directory": None,
            "format": "auto",
        }
    return {
        "kind": "files",
        "directory": _recorded(real["directory"]),
        "format": real["format"],
        "url": None,
        "db_schema": None,
    }


def check_directory(directory: str | Path, fmt: str) -> dict[str, Path]:
    """The table files, or SourceError naming each missing or doubled file."""
    folder = Path(directory)
    if not folder.exists():
        raise SourceError(
            f"the extract directory 'data.real.directory' = {folder} does not exist. Put the five table files there "
            f"({', '.join(TABLE_NAMES)}, each .csv or .parquet; see docs/input-contract.md) or point the "
            "configuration at the right place."
        )
    if not folder.is_dir():
        raise SourceError(
            f"'data.real.directory' = {folder} is a file, not a directory. Point it at the directory that holds "
            f"the five table files ({', '.join(TABLE_NAMES)})."
        )
    if fmt not in FORMATS:
        raise SourceError(f"'data.real.format' = {fmt!r}: use one of {', '.join(FORMATS)}.")
    files, problems = table_files(folder, fmt)
    if problems:
        lines = "\n".join(f"  - {where}: {what}. {todo}." for where, what, todo in problems)
        raise SourceError(f"the extract in {folder} is incomplete ({len(problems)} problem(s)):\n{lines}")
    return files


def fingerprint(real: dict, cache: str | Path | None = None) -> dict:
    """The fingerprint of a real source (see the module docstring); raises SourceError."""
    if real.get("url"):
        return {"kind": "database", **database_fingerprint(real["url"], real.get("db_schema"))}
    files = check_directory(real["directory"], real["format"])
    return {
        "kind": "files",
        "directory": _recorded(real["directory"]),
        "tables": files_fingerprint(files, cache),
    }


def read_fingerprint(src: dict) -> dict:
    """The fingerprint of what the validation reads, taken afresh (no cache): ``src`` as given by
    the workflow (kind synthetic, files or database; never a credential)."""
    if src["kind"] == "database":
        return {"kind": "database", **database_fingerprint(src["url"], src["db_schema"])}
    files = table_files(src["directory"], src["format"])[0]
    return {
        "kind": src["kind"],
        "directory": _recorded(src["directory"]),
        "tables": files_fingerprint(files),
    }


def check_unchanged(read: dict, expected: dict | None) -> None:
    """Stop when the source read now differs from its fingerprint when the run started."""
    if expected is None:
        return
    changed = sorted(
        t
        for t in {**read.get("tables", {}), **expected.get("tables", {})}
        if read.get("tables", {}).get(t) != expected.get("tables", {}).get(t)
    )
    if changed or {k: v for k, v in read.items() if k != "tables"} != {
        k: v for k, v in expected.items() if k != "tables"
    }:
        raise SourceError(
            f"the data source changed after this run started (table(s) {', '.join(changed) or 'location'}). "
            "Results from a moving source would not describe one data set: wait until the extract is complete, "
            "then run again."
        )


def describe(source_fingerprint: dict) -> str:
    """One line for logs and the report: where, and how much (no credentials)."""
    tables = source_fingerprint.get("tables", {})
    if source_fingerprint["kind"] == "database":
        rows = sum(t["rows"] for t in tables.values())
        where = source_fingerprint["url"] + (
            f" (schema {source_fingerprint['schema']})" if source_fingerprint.get("schema") else ""
        )
        return f"database {where}: {len(tables)} tables, {rows:,} rows"
    size = sum(t["bytes"] for t in tables.values())
    where = source_fingerprint["directory"]
    return f"{source_fingerprint['kind']} files in {where}: {len(tables)} tables, {size / 1e6:,.1f} MB"


def check_key_id(kind: str, expected: str) -> None:
    """Stop when the key in the environment is not the one the run was planned with."""
    if key_id(kind) != expected:
        raise SourceError(
            f"{KEY_ENV} differs from the key this run was planned with (it changed while Snakemake was "
            "running, or a cluster job sees another environment). Use one key for the whole run and run again."
        )
