from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = _("Generation")

    def ready(self) -> None:
        # Models are importable only once apps are ready, so the collector is added here.
        from generation.metrics import metrics_register

        metrics_register()
