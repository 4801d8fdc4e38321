"""Extract stage: read the five input tables, validate them against the contract, count what is dropped.

Input comes from a directory (``<table>.csv`` or ``<table>.parquet`` for every table in
:data:`pbr.contract.TABLES`) or from a database (tables of those names, read with
SQLAlchemy). Whatever the source, each column goes through the same two steps:

1. **conversion** to its canonical dtype (string -> pandas ``string``, int -> ``Int64``,
   float -> ``Float64``, bool -> ``boolean``, date -> ``datetime64[s]``). CSV is read as
   text only (no type guessing) and each value is parsed explicitly, so every value that
   does not parse is reported with its row. Text (CSV values, text columns of any source)
   is first cleaned: surrounding spaces removed, and a blank value or a null token
   (:data:`pbr.contract.NULL_TOKENS`: 'NULL', 'N/A', ...; in name columns
   :data:`pbr.contract.NAME_NULL_TOKENS`) read as missing, both counted; free-text columns
   (``area_name``, ``region``) are kept exactly, only ``""`` being missing.
   Parquet and SQL columns must have a compatible physical type (below); they are then
   converted without loss or the offending rows are reported.
2. **validation** with a pandera ``DataFrameSchema`` built from the contract: dtypes,
   empty values, code lists, ranges, unique keys, date orders and dates in the future.

Validated tables have the contract's columns in contract order, canonical dtypes and
rows sorted by key (so the result does not depend on the source's row order).

Rows are numbered from 1 as data rows in the file (the CSV line number minus the header
line, when no value spans lines; the row position in Parquet). Database rows are
numbered in the order of the table's key (``ORDER BY <key>``).

Accepted text spellings (CSV, and text columns of frames given to :func:`~pbr.extract.tables.validate_tables`;
an empty string is an empty value in every source, since CSV cannot tell them apart):

- int: ``123``, ``-4``, ``+5``; ``80.0`` (a whole number written with a zero decimal
  part) is accepted, ``80.5``, ``1e3`` are not (``80 `` is ``80`` once trimmed, counted);
- float: decimal notation with optional exponent (``1.5``, ``-2``, ``3e-2``), not
  ``nan`` or ``inf``;
- bool: ``true``/``false``, ``t``/``f``, ``yes``/``no``, ``y``/``n``, ``1``/``0``, in any case;
- date: ``YYYY-MM-DD`` only, and a real calendar date.

Accepted physical types (Parquet, SQL; text is not parsed there, so a number or date
stored as text is a type error): string columns need a text type; int columns an
integer type, or a floating/decimal type holding whole numbers only; float columns any
numeric type; bool columns a boolean type, or an integer type holding only 0 and 1;
date columns a date type, or a time-zone-naive timestamp at midnight. A column with no
values at all (type ``null``) is accepted for any type.

Fatal problems (raise :class:`~pbr.extract.problems.ExtractError`; all problems found are listed together,
one line each, with the file or table, the column, the number of rows and up to five
example row numbers; nothing is written):

- the source: no or both of ``directory``/``url``; a directory that does not exist; a
  table file missing, or present both as CSV and Parquet with ``fmt="auto"``; a
  database that cannot be reached; a database table missing;
- the file: empty; not UTF-8 (UTF-8 with or without a byte-order mark is fine; UTF-16 and
  UTF-32, with or without a mark, are named; NUL bytes are named by line); not
  comma-separated; a row with more or fewer values than the header (a truncated file,
  an unquoted comma; trailing commas are named as such); a quote that is never closed
  (a value may be of any length: Python's csv field-size limit is lifted while reading);
  no line break at the end (a file cut inside its last value still parses, so this is
  the only sign of the cut); a row that repeats the header (two exports joined); a
  column name twice in the header; values in a column with no name in the header
  (such columns empty in every row, e.g. from trailing commas, are ignored with a
  warning); a Parquet file that cannot be read; a table with no rows. A Parquet file
  written by pandas is read as stored: an index that is a contract column (a key saved
  as the index) is read as that column, any other index is left out;
- the columns: a contract column missing; a column not in the contract; a Parquet/SQL
  column whose physical type cannot hold the contract type;
- the values: not parseable as the column's type (text in an int column, a date not
  written ``YYYY-MM-DD`` or not a real date, a timestamp with a time of day, ...);
  empty in a column that may not be empty; a code not in the column's code list; a
  number outside the column's range;
- the keys: two or more rows with the same key;
- the dates: any contract ``date_orders`` rule broken (discharge before referral, triage
  or first intervention after discharge, death before birth, ...; a row is named once per
  later date); a date after ``today`` (a date of birth in the future, or any other event
  in the future); a date before :data:`pbr.contract.EARLIEST_DATE` (a year centuries
  off; a listed placeholder date of birth is counted instead);
- the identifiers: an NDTMS initials column in which more than half of the values are
  not one letter A-Z (names or codes, not initials); no episode with both initials and
  a usable date of birth (the message names the NDTMS columns, not the registers);
- the codes: a ``pilot_sub_area`` on an area that is not a pilot area;
- the whole extract: no area marked pilot, or every area; no episode in a known area;
  a register (``ons_deaths``, ``pnc_offences``) in which no record shares initials and
  date of birth with an episode (it could never be linked; the message names the
  register's columns when its names give no initial or it has no date of birth).

Values of identifier columns (names, initials, dates of birth) are never printed in
messages, only their row numbers, so messages can leave a secure environment.

Tolerable problems (counted in the flow table, stage ``extract``; ``dropped`` rows are
removed, ``flagged`` rows are kept; each logged as a warning naming the file, the
column, the count and example rows, never an identifier's value):

- every table: values with surrounding spaces (removed), values that are a null token or
  blank (read as missing): flagged;
- ``ndtms_episodes`` initials that are not one letter A-Z ('?', '1', '-', a name): read
  as missing, flagged (the episode is then dropped when persons are built, stage link);
- ``ons_deaths``/``pnc_offences`` names that give no initial: flagged;
- dates of birth: a placeholder (``placeholder_dates_of_birth``, config
  ``linkage.placeholder_dates_of_birth``) or an age over ``max_age`` (``study.max_age``)
  at referral: the episode is dropped; in a register, at the death or offence: the date
  of birth is set to missing (not linkable), flagged; an NDTMS date of birth shared by far
  more clients than chance (a placeholder not listed?): flagged, kept;
- ``sub_area`` and ``pilot_sub_area`` in another spelling (case, spaces, hyphens):
  normalised (:func:`pbr.contract.normal_sub_area`), flagged; a pilot sub-area that none
  of its area's episodes records: a warning (the derive stage stops on it when the
  partial-pilot rule splits the area);
- ``ndtms_episodes`` whose ``area_code`` is not in ``areas``: dropped (an episode must
  belong to a known area to be assigned to the pilot or comparison group; the unknown
  codes are logged, quoted, with any known code they equal but for case or spaces);
- ``ndtms_top`` records whose ``episode_id`` is not in ``ndtms_episodes``: dropped;
- ``ndtms_top`` records whose episode was dropped above: dropped;
- ``ndtms_episodes`` with a ``discharge_date`` but no ``discharge_reason``, or the
  reverse: flagged;
- ``ndtms_top`` records dated before their episode's referral or after its discharge:
  flagged;
- ``ons_deaths`` and ``pnc_offences`` with an ``area_code`` not in ``areas``: flagged
  (the area there is descriptive only; linkage does not rely on it).

Every table also gets one ``kept`` row with its final row count, and every tolerable
check gets a row even when its count is zero, so that for each table the rows read equal
``kept`` plus the sum of ``dropped``.

Modules (imports run one way, down this list; nothing is re-exported here, importers use
the module they need, e.g. ``from pbr.extract.tables import read_extracts``):

- :mod:`pbr.extract.problems`: :class:`~pbr.extract.problems.ExtractError`, one fatal
  :class:`~pbr.extract.problems.Problem` per line of its message, and how messages show
  columns, example values and rows;
- :mod:`pbr.extract.readers`: reading the sources as they are (CSV text with its encoding,
  NUL-byte, field-size and structure problems; Parquet; database tables);
- :mod:`pbr.extract.conversion`: each column to its canonical dtype (text cleaning, null
  tokens, text parsing incl. dates, typed columns), and the column helpers the checks share;
- :mod:`pbr.extract.validation`: one table's columns and the pandera schema of its values,
  failures turned into problems naming the rows;
- :mod:`pbr.extract.identifiers`: initials, names, dates of birth (placeholders, ages,
  heaping) and sub-area codes;
- :mod:`pbr.extract.cross_table`: the fatal whole-extract checks, and the tolerable
  problems dropped or flagged and counted in the flow table;
- :mod:`pbr.extract.tables`: the entry points :func:`~pbr.extract.tables.read_extracts`,
  :func:`~pbr.extract.tables.validate_tables`, :func:`~pbr.extract.tables.write_extracts`
  and :func:`~pbr.extract.tables.load_extracts`.
"""
