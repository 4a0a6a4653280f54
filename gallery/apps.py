from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = _("Gallery")

    def ready(self) -> None:
        # Models are importable only once apps are ready: handlers are registered here.
        from accounts.personal_data import personal_data_register
        from gallery.personal_data import images_erase, images_export

        personal_data_register(app=self.name, export=images_export, erase=images_erase)
