"""CSV import: upload → check (preview, every row error, nothing written) → confirm → one
all-or-nothing import in the background with progress visible while it runs."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from coachhub.accounts.services import membership_deactivate
from coachhub.tenancy.context import tenant_context
from feedback.models import FeedbackRequest, Interaction
from feedback.models_channels import CsvImport, CsvImportError, ImportStatus
from feedback.services import activity, csv_import
from feedback.tasks import csv_import_run_task

HEADER = (
    "external_id,channel,agent_email,agent_employee_id,customer_name,customer_email,occurred_at,"
    "tags,do_not_send,property:order_id"
)


def row(
    n,
    *,
    agent="ann@acme.test",
    employee="",
    email=None,
    channel="email",
    tags="billing;vip",
    dns="",
    order="A-1",
):
    email = f"c{n}@example.com" if email is None else email
    return f"T-{n},{channel},{agent},{employee},Customer {n},{email},,{tags},{dns},{order}"


def csv_text(*rows, header=HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def upload(client, text: str | bytes, *, history=False, name="contacts.csv"):
    data = text.encode() if isinstance(text, str) else text
    f = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(
        "/o/acme/feedback/import/", {"file": f, **({"history": "on"} if history else {})}
    )


def the_import(org) -> CsvImport:
    with tenant_context(org):
        return CsvImport.objects.select_related("organization").latest("created_at")


def errors_of(imp) -> list[tuple[int, str, str]]:
    with tenant_context(imp.organization_id):
        return list(
            CsvImportError.objects.filter(csv_import=imp)
            .order_by("row", "id")
            .values_list("row", "column", "reason")
        )


def interactions(org) -> int:
    with tenant_context(org):
        return Interaction.objects.count()


def make_import(org, text: str | bytes, *, history=False, name="t.csv") -> CsvImport:
    data = text.encode() if isinstance(text, str) else text
    with tenant_context(org):
        imp = csv_import.csv_import_create(
            organization=org, uploaded=ContentFile(data, name=name), history=history
        )
        imp = CsvImport.objects.select_related("organization").get(pk=imp.pk)
        return csv_import.csv_import_check(imp)


def confirm_and_run(org, imp) -> CsvImport:
    with tenant_context(org):
        assert csv_import.csv_import_confirm(imp)
    csv_import_run_task(organization_id=org.pk, csv_import_id=imp.pk)  # what the worker runs
    return the_import(org)


@pytest.fixture(autouse=True)
def _media(request, settings, tmp_path):
    if "celery_worker" in request.fixturenames:
        return  # the real worker reads uploads where production puts them
    settings.MEDIA_ROOT = tmp_path  # uploads of the tests never land in the project's media/


@pytest.fixture(autouse=True)
def _no_broker(request, monkeypatch):
    """Doorbells are recorded, not sent: the tests run the task bodies themselves."""
    rung = []
    if "celery_worker" in request.fixturenames:
        return rung  # a real worker answers the doorbells
    monkeypatch.setattr(
        "feedback.tasks.csv_import_run_task.apply_async", lambda **kw: rung.append(("run", kw))
    )
    monkeypatch.setattr(
        "feedback.tasks.csv_import_check_task.apply_async", lambda **kw: rung.append(("check", kw))
    )
    return rung


# --- the whole flow -----------------------------------------------------------------------


def test_upload_shows_preview_writes_nothing_and_confirm_imports_everything(
    cast, client_for, django_capture_on_commit_callbacks, _no_broker
):
    activity.activity_clear(cast.org_a.pk)
    client = client_for(cast.alice)
    resp = upload(client, csv_text(*(row(i) for i in range(1, 13))))
    assert resp.status_code == 302
    imp = the_import(cast.org_a)
    assert imp.status == ImportStatus.READY and imp.total_rows == 12 and imp.error_count == 0
    assert imp.encoding == "utf-8" and interactions(cast.org_a) == 0  # nothing written yet
    page = client.get(resp["Location"]).content.decode()
    assert "Preview: the first 10 rows" in page and "T-1" in page and "Import 12 rows" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/o/acme/feedback/import/{imp.public_id}/confirm/").status_code == 302
    assert _no_broker == [
        ("run", {"kwargs": {"organization_id": cast.org_a.pk, "csv_import_id": imp.pk}})
    ]
    assert the_import(cast.org_a).status == ImportStatus.QUEUED
    progress = client.get(
        f"/o/acme/feedback/import/{imp.public_id}/progress/", HTTP_HX_REQUEST="true"
    )
    assert 'hx-trigger="every 1s"' in progress.content.decode() and "HX-Refresh" not in progress

    csv_import_run_task(organization_id=cast.org_a.pk, csv_import_id=imp.pk)
    imp = the_import(cast.org_a)
    assert (imp.status, imp.created, imp.duplicates, imp.rejected) == (ImportStatus.DONE, 12, 0, 0)
    with tenant_context(cast.org_a):
        i = Interaction.objects.get(external_id="T-3")
        assert (i.source, i.agent_id, i.team_id) == ("csv", cast.ann.pk, cast.team_a1.pk)
        assert i.tags == ["billing", "vip"] and i.properties == {"order_id": "A-1"}
        assert set(FeedbackRequest.objects.values_list("status", flat=True)) == {"scheduled"}
    done = client.get(f"/o/acme/feedback/import/{imp.public_id}/progress/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert "12 created" in client.get(f"/o/acme/feedback/import/{imp.public_id}/").content.decode()
    assert activity.activity_recent_for(cast.org_a.pk, "csv")[0]["outcome"] == "accepted"


def test_confirming_twice_queues_once(
    cast, client_for, django_capture_on_commit_callbacks, _no_broker
):
    imp = make_import(cast.org_a, csv_text(row(1)))
    client = client_for(cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/o/acme/feedback/import/{imp.public_id}/confirm/")
        client.post(f"/o/acme/feedback/import/{imp.public_id}/confirm/")
    assert len(_no_broker) == 1


def test_every_row_error_is_listed_with_row_and_column_and_nothing_is_written(cast, client_for):
    text = csv_text(
        row(1),
        row(2, agent="nobody@acme.test"),
        row(3, email="not-an-email"),
        row(4, channel="pigeon"),
        row(5, dns="maybe"),
        "T-6,email,ann@acme.test",  # too few cells
        row(7, agent="bea@globex.test"),  # an agent of another organization
        row(8, email=""),
        row(9),
    )
    resp = upload(client_for(cast.alice), text)
    imp = the_import(cast.org_a)
    assert imp.status == ImportStatus.INVALID and imp.total_rows == 9
    errors = errors_of(imp)
    assert [(r, c) for r, c, _ in errors] == [
        (3, "agent_email"),
        (4, "customer_email"),
        (5, "channel"),
        (6, "do_not_send"),
        (7, ""),
        (8, "agent_email"),
        (9, "customer_email"),
    ]
    assert "No active agent" in errors[0][2] and "8 columns" not in errors[4][2]
    assert interactions(cast.org_a) == 0
    page = client_for(cast.alice).get(resp["Location"]).content.decode()
    assert (
        "7 problems" in page
        and "Nothing was imported" in page
        and "pigeon" not in page.split("Preview")[0]
    )
    # A refused file cannot be confirmed.
    client_for(cast.alice).post(f"/o/acme/feedback/import/{imp.public_id}/confirm/")
    assert the_import(cast.org_a).status == ImportStatus.INVALID


def test_header_problems_are_named(cast):
    imp = make_import(
        cast.org_a,
        "external_id,channel,agent_email,customer_name,colour,property:\r\nx,email,a,b,c,d\r\n",
    )
    assert imp.status == ImportStatus.INVALID
    assert {(r, c) for r, c, _ in errors_of(imp)} == {
        (1, "colour"),
        (1, "property:"),
        (1, "customer_email"),
    }


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),  # with BOM (what Excel's "Unicode text" writes)
        lambda t: t.encode("utf-16-le"),  # without BOM
        lambda t: t.encode("utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16le", "utf16be"],
)
def test_utf8_and_utf16_files_are_accepted(cast, encode):
    text = csv_text(row(1, order="Zoë-№1"), row(2))
    imp = make_import(cast.org_a, encode(text))
    assert imp.status == ImportStatus.READY, errors_of(imp) or imp.failure_reason
    imp = confirm_and_run(cast.org_a, imp)
    assert imp.created == 2
    with tenant_context(cast.org_a):
        assert Interaction.objects.get(external_id="T-1").properties == {"order_id": "Zoë-№1"}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00 some xlsx bytes", "ZIP archive"),
        (b"%PDF-1.7\n...", "PDF"),
        (bytes(range(256)) * 4, "binary"),
        (b"", "empty"),
        (b"hello world\nthis is a letter, not a table\n", "none of the documented column names"),
        ("external_id,channel\r\nT-1,\xe9mail\r\n".encode("latin-1"), "not UTF-8 or UTF-16"),
    ],
    ids=["xlsx", "pdf", "binary", "empty", "prose", "latin1"],
)
def test_a_file_that_is_not_a_csv_gets_a_clear_error(cast, content, says):
    imp = make_import(cast.org_a, content)
    assert imp.status == ImportStatus.INVALID
    assert says in imp.failure_reason
    assert interactions(cast.org_a) == 0


def test_history_import_sends_no_surveys(cast):
    imp = confirm_and_run(
        cast.org_a, make_import(cast.org_a, csv_text(row(1), row(2)), history=True)
    )
    assert imp.created == 2
    with tenant_context(cast.org_a):
        assert set(FeedbackRequest.objects.values_list("status", flat=True)) == {"do_not_send"}


def test_duplicates_in_the_file_and_already_stored_are_counted_not_doubled(cast):
    confirm_and_run(cast.org_a, make_import(cast.org_a, csv_text(row(1))))
    text = csv_text(row(1), row(2), row(2), row(3, employee="A-2", agent=""))
    imp = confirm_and_run(cast.org_a, make_import(cast.org_a, text))
    assert (imp.created, imp.duplicates) == (2, 2)
    with tenant_context(cast.org_a):
        assert Interaction.objects.get(external_id="T-3").agent_id == cast.andy.pk
    assert interactions(cast.org_a) == 3


def test_rows_keep_their_own_source_for_idempotency(cast):
    header = "external_id,channel,agent_email,customer_name,customer_email,source"
    text = csv_text(
        "X-1,chat,ann@acme.test,A,a@example.com,freshdesk",
        "X-1,chat,ann@acme.test,A,a@example.com,",
        header=header,
    )
    imp = confirm_and_run(cast.org_a, make_import(cast.org_a, text))
    assert imp.created == 2
    with tenant_context(cast.org_a):
        assert sorted(Interaction.objects.values_list("source", flat=True)) == ["csv", "freshdesk"]


def test_a_row_refused_at_import_time_rolls_back_the_whole_file(cast):
    rows = [row(i) for i in range(1, 30)] + [row(30, agent="andy@acme.test")]
    imp = make_import(cast.org_a, csv_text(*rows))
    assert imp.status == ImportStatus.READY
    with tenant_context(cast.org_a):
        membership_deactivate(cast.andy)  # the file was fine when checked
    original_chunk = csv_import.CHUNK_ROWS
    try:
        csv_import.CHUNK_ROWS = 10  # the first chunks are written before the bad row is reached
        imp = confirm_and_run(cast.org_a, imp)
    finally:
        csv_import.CHUNK_ROWS = original_chunk
    assert imp.status == ImportStatus.FAILED and imp.created == 0 and imp.rejected == 1
    assert [(r, c) for r, c, _ in errors_of(imp)] == [(31, "agent_email")]
    assert interactions(cast.org_a) == 0


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_from_outside_while_the_import_transaction_is_open(cast, monkeypatch):
    monkeypatch.setattr(csv_import, "PROGRESS_EVERY_ROWS", 5)
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 5)
    imp = make_import(cast.org_a, csv_text(*(row(i) for i in range(1, 21))))
    with tenant_context(cast.org_a):
        csv_import.csv_import_confirm(imp)

    seen = []
    real_ingest = csv_import_ingest = __import__(
        "feedback.services.ingest", fromlist=["x"]
    ).interactions_ingest_start

    def observing_ingest(*args, **kwargs):
        # Another connection (the progress page's view of the world) while the import runs.
        other = connection.get_new_connection(connection.get_connection_params())
        try:
            with other.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute("SELECT set_config('app.current_org', %s, true)", [str(cast.org_a.pk)])
                cur.execute(
                    "SELECT status, processed_rows FROM feedback_csvimport WHERE id = %s", [imp.pk]
                )
                status, processed = cur.fetchone()
                cur.execute("SELECT count(*) FROM feedback_interaction")
                seen.append((status, processed, cur.fetchone()[0]))
                cur.execute("COMMIT")
        finally:
            other.close()
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr("feedback.services.ingest.interactions_ingest_start", observing_ingest)
    assert csv_import_ingest is real_ingest
    csv_import_run_task(organization_id=cast.org_a.pk, csv_import_id=imp.pk)
    # A chunk is counted once it is written, which the import learns after sending the next
    # one (two chunks in flight): the count trails by a chunk. Nobody outside sees a row.
    assert seen == [("running", 0, 0), ("running", 0, 0), ("running", 5, 0), ("running", 10, 0)]
    imp = the_import(cast.org_a)
    assert (imp.status, imp.created, imp.processed_rows) == (ImportStatus.DONE, 20, 20)


def test_pipelined_chunks_see_the_rows_of_the_chunks_before_them(cast, monkeypatch):
    """Chunks are written on a second thread while the next is read: a customer's second
    contact two chunks later is still suppressed (its check waits for the earlier rows), and
    a repeated external id in a later chunk is a duplicate, not a second interaction."""
    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)
    rows = [row(i) for i in range(1, 10)]
    rows[7] = row(8, email="c1@example.com")  # chunk 3 repeats chunk 1's customer
    rows[8] = row(1)  # and chunk 1's first external id
    imp = confirm_and_run(cast.org_a, make_import(cast.org_a, csv_text(*rows)))
    assert (imp.status, imp.created, imp.duplicates) == (ImportStatus.DONE, 8, 1)
    with tenant_context(cast.org_a):
        status = dict(FeedbackRequest.objects.values_list("interaction__external_id", "status"))
    assert status["T-1"] == "scheduled" and status["T-8"] == "suppressed"
    assert sum(1 for s in status.values() if s == "scheduled") == 7


def test_agents_found_by_an_earlier_chunk_are_not_looked_up_again(cast, monkeypatch):
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 4)
    rows = [row(i) for i in range(1, 13)] + [row(13, agent="", employee="A-2")]
    imp = make_import(cast.org_a, csv_text(*rows), history=True)
    with CaptureQueriesContext(connection) as queries:
        imp = confirm_and_run(cast.org_a, imp)
    assert (imp.status, imp.created) == (ImportStatus.DONE, 13)
    lookups = [q["sql"] for q in queries if "EXECUTE feedback_ingest_agents" in q["sql"]]
    assert len(lookups) == 2  # ann once (first chunk), andy by employee id once (last chunk)
    with tenant_context(cast.org_a):
        assert Interaction.objects.get(external_id="T-13").agent_id == cast.andy.pk


def test_a_long_import_plans_its_statements_again_as_its_rows_grow(cast, monkeypatch):
    """No ANALYZE sees an open import's rows: its statements are planned again at chunks 2, 4,
    8 … (a plan made on empty tables kept probing the wrong index for the whole file)."""
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 2)
    imp = make_import(cast.org_a, csv_text(*(row(i) for i in range(1, 19))), history=True)
    with CaptureQueriesContext(connection) as queries:
        imp = confirm_and_run(cast.org_a, imp)
    assert (imp.status, imp.created) == (ImportStatus.DONE, 18)
    replans = [
        q["sql"] for q in queries if q["sql"].startswith("DEALLOCATE feedback_ingest_insert")
    ]
    assert len(replans) == 3  # 9 chunks: before the 2nd, 4th and 8th


def test_a_database_error_while_a_chunk_is_written_rolls_back_the_whole_file(cast, monkeypatch):
    from feedback.services import ingest

    monkeypatch.setattr(csv_import, "CHUNK_ROWS", 3)
    imp = make_import(cast.org_a, csv_text(*(row(i) for i in range(1, 10))))
    real_submit = ingest.StatementThread.submit
    sent = []

    def failing_second_chunk(self, fn, *args):
        sent.append(fn)
        if len(sent) == 2:  # the second chunk's statement fails in Postgres, on the thread

            def fn(params, write=fn):
                # Rows for another organization: refused by row-level security, on the thread
                # too (it runs in the import's transaction and organization context).
                return write([cast.org_b.pk, *params[1:]])

        return real_submit(self, fn, *args)

    monkeypatch.setattr(ingest.StatementThread, "submit", failing_second_chunk)
    with tenant_context(cast.org_a):
        assert csv_import.csv_import_confirm(imp)
    with pytest.raises(Exception, match="row-level security"):
        csv_import_run_task(organization_id=cast.org_a.pk, csv_import_id=imp.pk)
    assert len(sent) >= 2
    assert interactions(cast.org_a) == 0


def test_large_files_are_read_in_chunks_not_all_at_once(cast, monkeypatch):
    sizes = []
    real = csv_import.chunks

    def spy(reader, names, size):
        for items, rows, errors, total in real(reader, names, 7):
            sizes.append(len(items))
            yield items, rows, errors, total

    monkeypatch.setattr(csv_import, "chunks", spy)
    imp = make_import(cast.org_a, csv_text(*(row(i) for i in range(1, 31))))
    assert imp.status == ImportStatus.READY and sizes == [7, 7, 7, 7, 2]


# --- the pages ----------------------------------------------------------------------------


def test_upload_form_names_the_missing_file(cast, client_for):
    resp = client_for(cast.alice).post("/o/acme/feedback/import/", {})
    assert resp.status_code == 400 and "file" in resp.context["form"].errors
    empty = upload(client_for(cast.alice), b"")
    assert empty.status_code == 400 and "file" in empty.context["form"].errors


def test_import_page_documents_the_columns(cast, client_for):
    page = client_for(cast.alice).get("/o/acme/feedback/import/").content.decode()
    for name in (
        "external_id",
        "agent_employee_id",
        "customer_language",
        "do_not_send",
        "property:&lt;name&gt;",
    ):
        assert name in page


def test_large_upload_is_checked_by_a_worker(
    cast, client_for, django_capture_on_commit_callbacks, _no_broker, monkeypatch
):
    monkeypatch.setattr(csv_import, "INLINE_CHECK_BYTES", 10)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client_for(cast.alice), csv_text(row(1)))
    imp = the_import(cast.org_a)
    assert imp.status == ImportStatus.VALIDATING
    assert _no_broker == [
        ("check", {"kwargs": {"organization_id": cast.org_a.pk, "csv_import_id": imp.pk}})
    ]
    page = client_for(cast.alice).get(f"/o/acme/feedback/import/{imp.public_id}/").content.decode()
    assert "Checking the file" in page


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_non_admins_get_403_on_import_pages(cast, client_for, who):
    imp = make_import(cast.org_a, csv_text(row(1)))
    client = client_for(getattr(cast, who))
    assert client.get("/o/acme/feedback/import/").status_code == 403
    assert client.get(f"/o/acme/feedback/import/{imp.public_id}/").status_code == 403
    assert client.post(f"/o/acme/feedback/import/{imp.public_id}/confirm/").status_code == 403


def test_other_organizations_import_is_404(cast, client_for):
    imp_b = make_import(cast.org_b, csv_text(row(1, agent="bea@globex.test")))
    client = client_for(cast.alice)
    assert client.get(f"/o/acme/feedback/import/{imp_b.public_id}/").status_code == 404
    assert client.post(f"/o/acme/feedback/import/{imp_b.public_id}/confirm/").status_code == 404
    assert the_import(cast.org_b).status == ImportStatus.READY


def test_a_stuck_import_can_ring_the_worker_again_and_a_second_run_does_nothing(
    cast, client_for, django_capture_on_commit_callbacks, _no_broker
):
    imp = make_import(cast.org_a, csv_text(row(1)))
    with tenant_context(cast.org_a):
        csv_import.csv_import_confirm(imp)  # its doorbell was lost (nothing captured here)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(cast.alice).post(f"/o/acme/feedback/import/{imp.public_id}/ring/")
    assert resp.status_code == 302
    assert _no_broker == [
        ("run", {"kwargs": {"organization_id": cast.org_a.pk, "csv_import_id": imp.pk}})
    ]
    imp = confirm_and_run_again = the_import(cast.org_a)
    csv_import_run_task(organization_id=cast.org_a.pk, csv_import_id=imp.pk)
    csv_import_run_task(organization_id=cast.org_a.pk, csv_import_id=imp.pk)  # a duplicate doorbell
    imp = the_import(cast.org_a)
    assert (imp.status, imp.created) == (ImportStatus.DONE, 1) and confirm_and_run_again
    assert interactions(cast.org_a) == 1
    # Finished imports have nothing to ring.
    with tenant_context(cast.org_a):
        assert csv_import.csv_import_ring(imp) == ""


def test_semicolon_separated_files_from_european_excel_are_read(cast):
    text = csv_text(
        'T-1;email;ann@acme.test;;Lee;lee@example.com;;"billing;vip";;A-1',
        header=HEADER.replace(",", ";"),
    )
    imp = make_import(cast.org_a, codecs.BOM_UTF8 + text.encode())
    assert imp.status == ImportStatus.READY, errors_of(imp)
    assert confirm_and_run(cast.org_a, imp).created == 1
    with tenant_context(cast.org_a):
        assert Interaction.objects.get().tags == ["billing", "vip"]


@pytest.mark.django_db(transaction=True)
def test_the_upload_is_deleted_once_its_rows_are_committed(cast, settings):
    imp = make_import(cast.org_a, csv_text(row(1)))
    path = Path(settings.MEDIA_ROOT) / imp.file.name
    assert path.exists()
    assert confirm_and_run(cast.org_a, imp).status == ImportStatus.DONE
    assert not path.exists()


def test_the_sweep_task_runs(cast, django_capture_on_commit_callbacks, _no_broker):
    from datetime import timedelta

    from django.utils import timezone

    from feedback.tasks import csv_imports_sweep_task

    imp = make_import(cast.org_a, csv_text(row(1)))
    fresh = make_import(cast.org_a, csv_text(row(2)))  # its doorbell may still be on the way
    done = confirm_and_run(cast.org_a, make_import(cast.org_a, csv_text(row(3))))
    with tenant_context(cast.org_a):
        csv_import.csv_import_confirm(imp)
        csv_import.csv_import_confirm(fresh)
        old = timezone.now() - timedelta(minutes=5)
        CsvImport.objects.filter(pk__in=[imp.pk, done.pk]).update(created_at=old)
    _no_broker.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert csv_imports_sweep_task() == 1
    assert _no_broker == [
        ("run", {"kwargs": {"organization_id": cast.org_a.pk, "csv_import_id": imp.pk}})
    ]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_a_confirmed_file(cast, client_for, celery_worker):
    from .worker import wait_for

    client = client_for(cast.alice)
    resp = upload(client, csv_text(*(row(i) for i in range(1, 8))), history=True)
    imp = the_import(cast.org_a)
    assert imp.status == ImportStatus.READY
    assert client.post(f"/o/acme/feedback/import/{imp.public_id}/confirm/").status_code == 302
    done = wait_for(
        lambda: the_import(cast.org_a).status == ImportStatus.DONE,
        timeout=30,
        message="the worker to finish the import",
    )
    assert done and the_import(cast.org_a).created == 7 and interactions(cast.org_a) == 7
    assert "7 created" in client.get(resp["Location"]).content.decode()
