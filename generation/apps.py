from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = _("Generation")

    def ready(self) -> None:
        # Models are importable only once apps are ready: the /metrics collector and the
        # personal-data handlers are added here.
        from accounts.personal_data import personal_data_register
        from generation.metrics import metrics_register
        from generation.personal_data import jobs_erase, jobs_export

        metrics_register()
        personal_data_register(app=self.name, export=jobs_export, erase=jobs_erase)
