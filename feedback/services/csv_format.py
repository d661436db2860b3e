"""The interactions CSV format: encodings, header names, rows → API-shaped items, and the
row/column of every problem. Pure reading, no database: ``csv_import`` runs the services."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

SOURCE = "csv"

# The documented header names (case-insensitive; extra spaces ignored) and what they become.
COLUMNS = {
    "external_id": "The interaction's id in your helpdesk (required; repeats are duplicates).",
    "channel": "phone, email, chat, sms, social or one of your own channels (required).",
    "agent_email": "The agent's e-mail (this or agent_employee_id is required).",
    "agent_employee_id": "The agent's employee id.",
    "customer_name": "The customer's name (required).",
    "customer_email": "The customer's e-mail (required).",
    "customer_language": "Language code for the survey, e.g. en, es (optional).",
    "occurred_at": "ISO 8601 with offset, e.g. 2026-11-23T10:15:00Z (optional; default now).",
    "source": "Where it came from (optional; default csv); repeats are per source + external_id.",
    "tags": "Semicolon-separated, e.g. billing;vip (up to 20).",
    "ticket_url": "Link to the ticket (optional).",
    "do_not_send": "true/false, yes/no or 1/0: never survey this customer for it (optional).",
    "property:<name>": "One column per property, e.g. property:order_id (text, ≤ 2,000 chars).",
}
REQUIRED = ("external_id", "channel", "customer_name", "customer_email")
PROPERTY_PREFIX = "property:"
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}

# An ingest error's field → the CSV column that holds it.
FIELD_COLUMNS = {
    "external_id": "external_id",
    "channel": "channel",
    "agent": "agent_email",
    "agent.email": "agent_email",
    "agent.employee_id": "agent_employee_id",
    "customer": "customer_name",
    "customer.name": "customer_name",
    "customer.email": "customer_email",
    "customer.language": "customer_language",
    "occurred_at": "occurred_at",
    "source": "source",
    "tags": "tags",
    "ticket_url": "ticket_url",
    "do_not_send": "do_not_send",
    "properties": "property:*",
}
_INDEXED = re.compile(r"^(?:[a-z_]+)?\[(\d+)\]\.?(.*)$")


class NotACsv(Exception):
    """The file cannot be read as a CSV at all (the page shows this message as is)."""


@dataclass
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportRefused(Exception):
    errors: list[RowError] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------

_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument file?)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Word document (.xls/.doc)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
]


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 (BOM, or the NUL pattern of ASCII text)."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotACsv(
                f"This file is {what}, not a CSV. Save it as “CSV UTF-8” and upload that."
            )
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:2000]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4 and not sample[0::2].count(0):
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4 and not sample[1::2].count(0):
        return "utf-16-be"
    if b"\x00" in sample:
        raise NotACsv("This file is binary, not a CSV text file.")
    return "utf-8"


def _norm(name: str) -> str:
    name = (name or "").strip()
    if name.lower().startswith(PROPERTY_PREFIX):
        return PROPERTY_PREFIX + name[len(PROPERTY_PREFIX) :].strip()
    return name.lower()


@dataclass
class Header:
    names: list[str]
    errors: list[RowError]


def header_check(raw: list[str]) -> Header:
    names = [_norm(n) for n in raw]
    errors = []
    seen = set()
    for i, name in enumerate(names):
        if not name:
            errors.append(RowError(1, f"column {i + 1}", "the header is empty: name every column"))
        elif name.startswith(PROPERTY_PREFIX):
            if not name[len(PROPERTY_PREFIX) :]:
                errors.append(
                    RowError(1, name, "a property column needs a name, e.g. property:order_id")
                )
        elif name not in COLUMNS:
            errors.append(
                RowError(1, raw[i].strip(), "unknown column (see the documented header names)")
            )
        if name and name in seen:
            errors.append(RowError(1, raw[i].strip(), "this column appears twice"))
        seen.add(name)
    for name in REQUIRED:
        if name not in seen:
            errors.append(RowError(1, name, "this required column is missing"))
    if "agent_email" not in seen and "agent_employee_id" not in seen:
        errors.append(RowError(1, "agent_email", "add an agent_email or agent_employee_id column"))
    return Header(names, errors)


def _delimiter(head: bytes, encoding: str) -> str:
    """Comma, unless the header line has none and uses ``;`` (Excel in many European locales),
    a tab or ``|`` instead."""
    lines = head.decode(encoding, errors="ignore").lstrip("\ufeff").splitlines()
    first = lines[0] if lines else ""
    if "," in first:
        return ","
    return next((d for d in (";", "\t", "|") if d in first), ",")


class CsvReader:
    """Streams (row number, cells) from a binary file; row 1 is the header."""

    def __init__(self, binary):
        self.binary = binary
        head = binary.read(4096)
        binary.seek(0)
        if not head.strip():
            raise NotACsv("The file is empty.")
        self.encoding = detect_encoding(head)
        self.delimiter = _delimiter(head, self.encoding)
        self.text = io.TextIOWrapper(binary, encoding=self.encoding, newline="")
        self.reader = csv.reader(self.text, delimiter=self.delimiter, strict=False)
        try:
            self.header = next(self.reader)
        except UnicodeDecodeError as exc:
            raise NotACsv("The file is not UTF-8 or UTF-16 text: save it as “CSV UTF-8”.") from exc
        except (csv.Error, StopIteration) as exc:
            raise NotACsv(f"This is not a readable CSV file ({exc}).") from exc
        known = [
            n
            for n in (_norm(h) for h in self.header)
            if n in COLUMNS or n.startswith(PROPERTY_PREFIX)
        ]
        if not known:
            raise NotACsv(
                "The first line has none of the documented column names: this does not look like "
                "an interactions CSV (is the header row missing?)."
            )

    def rows(self):
        row = 1
        while True:
            try:
                cells = next(self.reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise NotACsv(
                    f"Row {row + 1}: the file is not valid {self.encoding} text."
                ) from exc
            except csv.Error as exc:
                raise NotACsv(f"Row {row + 1}: this is not a readable CSV row ({exc}).") from exc
            row += 1
            if not any(c.strip() for c in cells):
                continue  # blank lines (often the last one) are not rows
            yield row, cells


def row_to_item(names: list[str], cells: list[str], row: int) -> tuple[dict | None, list[RowError]]:
    """One CSV row → an item in the API's shape (or the row's own format errors)."""
    if len(cells) != len(names):
        return None, [
            RowError(row, "", f"has {len(cells)} cells but the header has {len(names)} columns")
        ]
    values = {}
    properties = {}
    for name, cell in zip(names, cells, strict=True):
        cell = cell.strip()
        if name.startswith(PROPERTY_PREFIX):
            if cell:
                properties[name[len(PROPERTY_PREFIX) :]] = cell
        else:
            values[name] = cell
    errors = []
    agent = {}
    if values.get("agent_email"):
        agent["email"] = values["agent_email"]
    elif values.get("agent_employee_id"):
        agent["employee_id"] = values["agent_employee_id"]
    customer = {"name": values.get("customer_name", ""), "email": values.get("customer_email", "")}
    if values.get("customer_language"):
        customer["language"] = values["customer_language"]
    item = {
        "external_id": values.get("external_id", ""),
        "channel": values.get("channel", ""),
        "agent": agent,
        "customer": customer,
        "source": values.get("source") or SOURCE,  # each row's own source (idempotency key)
        "tags": [t.strip() for t in values.get("tags", "").split(";") if t.strip()],
        "properties": properties,
    }
    if values.get("occurred_at"):
        item["occurred_at"] = values["occurred_at"]
    if values.get("ticket_url"):
        item["ticket_url"] = values["ticket_url"]
    dns = values.get("do_not_send", "").lower()
    if dns in TRUE:
        item["do_not_send"] = True
    elif dns not in FALSE:
        errors.append(RowError(row, "do_not_send", "use true or false (yes/no, 1/0)"))
    elif dns:
        item["do_not_send"] = False
    for name in REQUIRED:
        if not values.get(name):
            errors.append(RowError(row, name, "this field is required"))
    if not agent:
        errors.append(RowError(row, "agent_email", "give the agent's e-mail or employee id"))
    return (None if errors else item), errors


def ingest_errors_to_rows(errors: list[dict], rows: list[int]) -> list[RowError]:
    """Map ``interactions_ingest`` errors (``[i].customer.email`` style) to (row, column)."""
    out = []
    for e in errors:
        fld = e.get("field") or ""
        m = _INDEXED.match(fld)
        if m and int(m.group(1)) < len(rows):
            row, rest = rows[int(m.group(1))], m.group(2)
        else:
            row, rest = rows[0] if rows else 0, fld
        if rest.startswith("properties.") or rest.startswith("properties["):
            column = PROPERTY_PREFIX + re.split(r"[.\[]", rest, maxsplit=1)[1].rstrip("]")
        else:
            column = FIELD_COLUMNS.get(rest, FIELD_COLUMNS.get(re.split(r"[.\[]", rest)[0], rest))
        out.append(RowError(row, column, e.get("reason", "invalid")))
    return out


def chunks(reader: CsvReader, names: list[str], size: int):
    """Yield (items, their row numbers, format errors, rows read) per chunk of ``size`` rows."""
    items, rows, errors, count = [], [], [], 0
    for row, cells in reader.rows():
        count += 1
        item, row_errors = row_to_item(names, cells, row)
        if row_errors:
            errors.extend(row_errors)
        else:
            items.append(item)
            rows.append(row)
        if count % size == 0:
            yield items, rows, errors, count
            items, rows, errors = [], [], []
    if items or errors or count == 0 or count % size:
        yield items, rows, errors, count
