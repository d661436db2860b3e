"""``coachhub_uuid7()``: a UUIDv7 (RFC 9562) made by the database, for raw SQL inserts (the
ingest statement) — the same format as ``PublicIdMixin``'s Python default: the Unix time in
milliseconds in the first 48 bits, the version nibble 7, the variant bits of
``gen_random_uuid()`` and its remaining random bits."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION coachhub_uuid7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT encode(
        set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                      FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1),
        'hex')::uuid
$$
"""


class Migration(migrations.Migration):
    dependencies = [("coachhub", "0002_agent_lookup_indexes")]

    operations = [
        migrations.RunSQL(FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS coachhub_uuid7()"),
    ]
