"""CSV import of interactions: upload → check (preview + every row error, nothing written) →
confirm → one all-or-nothing import by a worker, with progress the page can poll.

Memory stays bounded whatever the file size: the file is read as a stream and handed to
``interactions_ingest`` in chunks; only the current chunk and the first preview rows are held.
The whole import is one transaction (a savepoint inside the task's tenant transaction), so a
row refused halfway rolls everything back. Progress is written through a second database
connection that commits each update on its own, so it is visible while the import runs.
"""

from __future__ import annotations

import logging
import zlib
from datetime import timedelta

from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone

from coachhub.tenancy.context import ORG_SETTING

from ..models_channels import CsvImport, CsvImportError, ImportStatus
from .activity import ACCEPTED, REJECTED, activity_record
from .csv_format import (  # noqa: F401  (COLUMNS and the format's names are used via this module)
    COLUMNS,
    SOURCE,
    CsvReader,
    ImportRefused,
    NotACsv,
    RowError,
    chunks,
    header_check,
    ingest_errors_to_rows,
)

log = logging.getLogger(__name__)

CHUNK_ROWS = 2000  # rows per interactions_ingest call (at most two in flight while importing)
PREVIEW_ROWS = 10
PROGRESS_EVERY_ROWS = 5000
INLINE_CHECK_BYTES = 1024 * 1024  # smaller uploads are checked in the request itself
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024

# --- progress through a second connection -----------------------------------------------


class ProgressWriter:
    """Commits progress columns of one import from its own database connection.

    The import's transaction stays open for minutes; a progress UPDATE inside it would be
    invisible to the page until the end. Rule that avoids self-deadlock: the import's own
    transaction never touches the CsvImport row before its last progress update.
    """

    def __init__(self, csv_import: CsvImport):
        self.csv_import = csv_import
        self.conn = None
        self.last = 0

    def _connection(self):
        if self.conn is None:
            self.conn = connection.get_new_connection(connection.get_connection_params())
            self.conn.autocommit = False
        return self.conn

    def update(self, **values) -> None:
        if not values:
            return
        cols = ", ".join(f"{connection.ops.quote_name(k)} = %s" for k in values)
        table = connection.ops.quote_name(CsvImport._meta.db_table)
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT set_config(%s, %s, true)",
                    [ORG_SETTING, str(self.csv_import.organization_id)],
                )
                cur.execute(
                    f"UPDATE {table} SET {cols} WHERE id = %s AND organization_id = %s",  # noqa: S608
                    [*values.values(), self.csv_import.pk, self.csv_import.organization_id],
                )
            conn.commit()
        except Exception:
            conn.rollback()
            log.warning("could not write import progress", exc_info=True)
        for k, v in values.items():
            setattr(self.csv_import, k, v)

    def rows(self, processed: int, force: bool = False) -> None:
        if force or processed - self.last >= PROGRESS_EVERY_ROWS:
            self.last = processed
            self.update(processed_rows=processed)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None


# --- services ---------------------------------------------------------------------------


@transaction.atomic
def csv_import_create(*, organization, uploaded, history: bool, created_by=None) -> CsvImport:
    """Store the upload (MEDIA_ROOT/imports/…, streamed to disk in chunks by the storage)."""
    imp = CsvImport(
        organization=organization,
        original_name=(getattr(uploaded, "name", "") or "upload.csv")[:255],
        size=getattr(uploaded, "size", 0) or 0,
        history=history,
        created_by=created_by,
        status=ImportStatus.VALIDATING,
    )
    imp.file.save(
        "upload.csv", uploaded if isinstance(uploaded, File) else File(uploaded), save=False
    )
    imp.save()
    return imp


def _store_errors(imp: CsvImport, errors: list[RowError]) -> None:
    if errors:
        CsvImportError.objects.bulk_create(
            [
                CsvImportError(
                    organization_id=imp.organization_id,
                    csv_import=imp,
                    row=e.row,
                    column=e.column[:200],
                    reason=e.reason,
                )
                for e in errors
            ],
            batch_size=2000,
        )


def _validate_items(organization, items: list[dict], history: bool) -> list[dict]:
    """The ingest's own validation of ``items`` (every error, nothing written)."""
    from .ingest import interactions_validate

    if not items:
        return []
    return interactions_validate(organization, items, default_source=SOURCE, history=history)


def csv_import_check(imp: CsvImport, *, chunk_rows: int | None = None) -> CsvImport:
    """Read the whole file: header, preview, row count and every row error. Writes nothing but
    the import's own bookkeeping (status, preview, errors). Runs in the organization context."""
    if imp.status != ImportStatus.VALIDATING or not _try_lock(imp, "check"):
        return imp
    organization = imp.organization
    CsvImportError.objects.filter(organization_id=imp.organization_id, csv_import=imp).delete()
    progress = ProgressWriter(imp)
    error_count = 0
    total = 0
    try:
        with imp.file.open("rb") as binary:
            reader = CsvReader(binary)
            imp.encoding = reader.encoding
            imp.header = [h.strip() for h in reader.header][:200]
            header = header_check(reader.header)
            _store_errors(imp, header.errors)
            error_count += len(header.errors)
            preview = []
            if not header.errors:
                for items, rows, errors, total in chunks(
                    reader, header.names, chunk_rows or CHUNK_ROWS
                ):
                    if len(preview) < PREVIEW_ROWS:
                        preview.extend(
                            _preview_rows(items, rows, errors, PREVIEW_ROWS - len(preview))
                        )
                    errors = errors + ingest_errors_to_rows(
                        _validate_items(organization, items, imp.history), rows
                    )
                    errors.sort(key=lambda e: e.row)
                    _store_errors(imp, errors)
                    error_count += len(errors)
                    progress.rows(total)
            imp.preview = preview
    except NotACsv as exc:
        imp.status = ImportStatus.INVALID
        imp.failure_reason = str(exc)
        imp.error_count = 0
        imp.save(
            update_fields=[
                "status",
                "failure_reason",
                "error_count",
                "encoding",
                "header",
                "preview",
            ]
        )
        activity_record(imp.organization_id, SOURCE, REJECTED, str(exc), ref=imp.original_name)
        return imp
    finally:
        progress.close()
    imp.total_rows = total
    imp.processed_rows = 0
    imp.error_count = error_count
    imp.status = ImportStatus.INVALID if error_count else ImportStatus.READY
    imp.failure_reason = (
        "" if not error_count else f"{error_count} problem(s) in the file; nothing was imported."
    )
    imp.save(
        update_fields=[
            "encoding",
            "header",
            "preview",
            "total_rows",
            "processed_rows",
            "error_count",
            "status",
            "failure_reason",
        ]
    )
    if error_count:
        activity_record(
            imp.organization_id,
            SOURCE,
            REJECTED,
            f"{error_count} row error(s) found by the check",
            ref=imp.original_name,
        )
    return imp


def _preview_rows(items, rows, errors, limit):
    """The first rows as the page shows them: key fields of valid rows, the error of bad ones."""
    out = []
    by_row = {e.row: e for e in errors}
    merged = sorted(
        [(r, i) for r, i in zip(rows, items, strict=True)] + [(r, None) for r in by_row],
        key=lambda x: x[0],
    )
    for row, item in merged[:limit]:
        if item is None:
            out.append({"row": row, "error": f"{by_row[row].column}: {by_row[row].reason}"})
        else:
            agent = item["agent"].get("email") or item["agent"].get("employee_id", "")
            out.append(
                {
                    "row": row,
                    "external_id": item["external_id"],
                    "channel": item["channel"],
                    "agent": agent,
                    "customer": f"{item['customer']['name']} <{item['customer']['email']}>",
                    "occurred_at": item.get("occurred_at", ""),
                    "tags": ", ".join(item["tags"]),
                }
            )
    return out


@transaction.atomic
def csv_import_confirm(imp: CsvImport) -> bool:
    """READY → QUEUED (a conditional UPDATE: a double click queues once); rings the worker on
    commit. Returns whether this call queued it."""
    claimed = CsvImport.objects.filter(
        organization_id=imp.organization_id, pk=imp.pk, status=ImportStatus.READY
    ).update(status=ImportStatus.QUEUED, processed_rows=0)
    if claimed:
        from ..tasks import csv_import_run_task

        org_id, pk = imp.organization_id, imp.pk
        transaction.on_commit(
            lambda: csv_import_run_task.apply_async(
                kwargs={"organization_id": org_id, "csv_import_id": pk}
            )
        )
    return bool(claimed)


def csv_import_ring(imp: CsvImport) -> str:
    """Ring the worker again for a check or import that is not moving (a doorbell lost while
    Redis was down, a worker killed mid-way). Safe to repeat: each phase takes an advisory lock,
    so a second doorbell for a phase that is running does nothing. Returns the phase rung."""
    from ..tasks import csv_import_check_task, csv_import_run_task

    if imp.status == ImportStatus.VALIDATING:
        task, phase = csv_import_check_task, "check"
    elif imp.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        task, phase = csv_import_run_task, "import"
    else:
        return ""
    org_id, pk = imp.organization_id, imp.pk
    transaction.on_commit(
        lambda: task.apply_async(kwargs={"organization_id": org_id, "csv_import_id": pk})
    )
    return phase


SWEEP_AFTER = timedelta(minutes=2)


def csv_imports_sweep() -> int:
    """Beat: ring again for every check or import still busy a while after it was created.

    The row is the truth, the broker a doorbell: a doorbell lost in a Redis restart would leave
    an import queued forever. Ringing one that is running is harmless (its advisory lock turns
    the second task into a no-op). Returns how many were rung."""
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Organization

    before = timezone.now() - SWEEP_AFTER
    busy = [ImportStatus.VALIDATING, ImportStatus.QUEUED, ImportStatus.RUNNING]
    rung = 0
    for org_id in Organization.objects.filter(is_active=True).values_list("id", flat=True):
        with tenant_context(org_id):
            for imp in CsvImport.objects.filter(
                organization_id=org_id, status__in=busy, created_at__lt=before
            ).only("id", "organization_id", "status"):
                rung += bool(csv_import_ring(imp))
    return rung


def _advisory_key(imp: CsvImport, phase: str = "run") -> int:
    # One running phase per file: a second doorbell for the same import waits for nothing.
    return zlib.crc32(f"csv_import:{phase}:{imp.organization_id}:{imp.pk}".encode()) - 2**31


def _try_lock(imp: CsvImport, phase: str) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [_advisory_key(imp, phase)])
        return bool(cur.fetchone()[0])


def csv_import_run(imp: CsvImport, *, chunk_rows: int | None = None) -> CsvImport:
    """Import a checked file in one all-or-nothing transaction. Runs in the organization context
    (the task's transaction); the import itself is a savepoint inside it."""
    from .ingest import (
        IngestValidationError,
        StatementThread,
        allowed_channels,
        interactions_ingest_start,
        items_check,
        known_agents,
        statements_replan,
    )

    if imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return imp
    if not _try_lock(imp, "run"):
        return imp
    organization = imp.organization
    progress = ProgressWriter(imp)
    progress.update(status=ImportStatus.RUNNING.value, started_at=timezone.now(), processed_rows=0)
    created = duplicates = 0
    channels = allowed_channels(organization)
    try:
        with transaction.atomic(), imp.file.open("rb") as binary, StatementThread() as statements:
            # Foreign keys checked as each statement ends, not all at COMMIT: the checks then
            # run while the next chunk is read, instead of after the last one (a million rows'
            # checks at commit were a fifth of the import's time, with nothing else to do).
            with connection.cursor() as cur:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            reader = CsvReader(binary)
            header = header_check(reader.header)
            if header.errors:
                raise ImportRefused(header.errors)
            # Pipelined: each chunk is read, checked and sent while Postgres writes the one
            # before on ``statements``' thread (agents resolved by earlier chunks are reused);
            # at most two chunks are in flight, and a chunk's result is taken once the next
            # one is sent.
            agents = known_agents()
            writing = None  # (the chunk being written, rows read up to its end)

            def take(pending) -> None:
                nonlocal created, duplicates
                result = pending.result()
                created += result.created
                duplicates += result.duplicates

            for number, (items, rows, errors, total) in enumerate(
                chunks(reader, header.names, chunk_rows or CHUNK_ROWS), start=1
            ):
                if errors:
                    raise ImportRefused(errors)
                if number > 1 and number & (number - 1) == 0:
                    # Chunks 2, 4, 8 …: plans that see the rows this import has written.
                    statements_replan(statements)
                written, writing = writing, None
                if items:
                    try:
                        pending = interactions_ingest_start(
                            organization,
                            items,
                            statements=statements,
                            default_source=SOURCE,
                            mode="live",
                            history=imp.history,
                            checked=items_check(
                                organization, items, default_source=SOURCE, channels=channels
                            ),
                            agents_known=agents,
                        )
                    except IngestValidationError as exc:
                        raise ImportRefused(ingest_errors_to_rows(exc.errors, rows)) from exc
                    writing = (pending, total)
                if written is not None:
                    take(written[0])
                    progress.rows(written[1])
                if writing is None:
                    progress.rows(total)
            if writing is not None:
                take(writing[0])
    except (ImportRefused, NotACsv) as exc:
        # The savepoint rolled back every chunk: nothing of this file was imported.
        progress.close()
        errors = exc.errors if isinstance(exc, ImportRefused) else [RowError(0, "", str(exc))]
        CsvImportError.objects.filter(organization_id=imp.organization_id, csv_import=imp).delete()
        _store_errors(imp, errors)
        imp.status = ImportStatus.FAILED
        imp.error_count = len(errors)
        imp.rejected = len({e.row for e in errors})
        imp.created = imp.duplicates = 0
        imp.failure_reason = (
            "The file changed since it was checked (e.g. an agent was removed): "
            f"{len(errors)} problem(s), nothing was imported."
        )
        imp.finished_at = timezone.now()
        imp.save(
            update_fields=[
                "status",
                "error_count",
                "rejected",
                "created",
                "duplicates",
                "failure_reason",
                "finished_at",
            ]
        )
        activity_record(
            imp.organization_id, SOURCE, REJECTED, imp.failure_reason, ref=imp.original_name
        )
        return imp
    except BaseException:
        progress.close()
        raise
    progress.rows(imp.total_rows, force=True)
    progress.close()
    # From here on the import's own transaction owns the row (no more side updates).
    imp.status = ImportStatus.DONE
    imp.created, imp.duplicates, imp.rejected = created, duplicates, 0
    imp.processed_rows = imp.total_rows
    imp.finished_at = timezone.now()
    imp.save(
        update_fields=[
            "status",
            "created",
            "duplicates",
            "rejected",
            "processed_rows",
            "finished_at",
        ]
    )
    # The rows are in the database now; the upload (up to a gigabyte) is not kept once that
    # commits. A refused or failed file stays until the import is replaced.
    name, storage = imp.file.name, imp.file.storage
    transaction.on_commit(lambda: storage.delete(name))
    activity_record(
        imp.organization_id,
        SOURCE,
        ACCEPTED,
        f"{created} created, {duplicates} duplicates"
        + (" (history: no surveys)" if imp.history else ""),
        count=created + duplicates,
        ref=imp.original_name,
    )
    return imp
