from __future__ import annotations

import factory

from generation.models import GenerationJob
from tests.accounts.factories import UserFactory
from tests.modelhub.factories import ModelVersionFactory


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenerationJob

    user = factory.SubFactory(UserFactory)
    model_version = factory.SubFactory(ModelVersionFactory)
    prompt = "a red circle on a blue background"
    seed = 42
    steps = 4
    width = 64
    height = 64
