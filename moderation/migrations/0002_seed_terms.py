"""The starting term list (moderation/seeds/terms.json), added once on a new installation;
moderators edit it in the admin from then on."""

import json
from pathlib import Path

from django.db import migrations

SEED_FILE = Path(__file__).resolve().parent.parent / "seeds" / "terms.json"


def seed(apps, schema_editor):
    FilterTerm = apps.get_model("moderation", "FilterTerm")
    rows = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    FilterTerm.objects.bulk_create(
        [
            FilterTerm(
                term=row["term"],
                category=row["category"],
                language=row["language"],
                action=row["action"],
            )
            for row in rows
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
