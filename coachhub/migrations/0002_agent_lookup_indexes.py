"""Indexes for finding an agent by e-mail (every ingested interaction names its agent so).

* ``auth_user (lower(email))``: ingestion looks agents up by lower-cased address; without it
  the lookup read every membership of the organization (~7 ms for 2,000 agents, per call).
* ``membership_user_idx`` duplicated the unique ``membership_user`` (same columns).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("coachhub", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="membership",
            name="membership_user_idx",
        ),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS auth_user_email_lower ON auth_user (lower(email))",
            reverse_sql="DROP INDEX IF EXISTS auth_user_email_lower",
        ),
    ]
