from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ModelhubConfig(AppConfig):
    name = "modelhub"
    verbose_name = _("Model hub")

    def ready(self) -> None:
        # Models are importable only once apps are ready: handlers are registered here.
        from accounts.personal_data import personal_data_register
        from modelhub.personal_data import models_export

        personal_data_register(app=self.name, export=models_export)
