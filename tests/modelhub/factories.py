from __future__ import annotations

import factory

from modelhub.models import AIModel, ModelFile, ModelVersion


class AIModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AIModel

    name = factory.Sequence(lambda n: f"Model {n}")
    type = AIModel.Type.CHECKPOINT


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(AIModelFactory)
    name = "v1"
    base_model = ModelVersion.BaseModel.TINY
    default_width = 64
    default_height = 64
    max_size = 256


class ModelFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelFile

    version = factory.SubFactory(ModelVersionFactory)
    format = ModelFile.Format.DIFFUSERS
    path = factory.Sequence(lambda n: f"test/model-{n}")
    size_bytes = 1024
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
