from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SocialConfig(AppConfig):
    name = "social"
    verbose_name = _("Social")

    def ready(self) -> None:
        # Models are importable only once apps are ready: handlers are registered here.
        from accounts.personal_data import personal_data_register
        from social.personal_data import follows_erase

        personal_data_register(app=self.name, erase=follows_erase)
