"""Link the pictures made before ImageLora existed to the LoRAs their jobs used."""

from typing import Any

from django.db import migrations


def backfill(apps: Any, schema_editor: Any) -> None:
    Image = apps.get_model("gallery", "Image")
    ImageLora = apps.get_model("gallery", "ImageLora")
    ModelVersion = apps.get_model("modelhub", "ModelVersion")
    existing = set(ModelVersion.objects.values_list("pk", flat=True))
    # Every picture with a job (withheld ones too); a JSON lookup would differ between backends.
    images = Image._base_manager.filter(job__isnull=False)
    links = []
    for image_id, loras in images.values_list("pk", "job__loras").iterator():
        weights = {lora["version"]: float(lora["weight"]) for lora in loras or []}
        links += [
            ImageLora(image_id=image_id, version_id=version, weight=weight)
            for version, weight in weights.items()
            if version in existing
        ]
    ImageLora.objects.bulk_create(links, batch_size=500, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0003_image_loras"),
        ("generation", "0005_job_prompt_filter"),
        ("modelhub", "0002_starter_model"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
