"""URL map of /sdapi/v1/ (A1111's paths)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from generation.sdapi import views

app_name = "sdapi"

urlpatterns: list[URLPattern | URLResolver] = [
    path("txt2img", views.Txt2ImgView.as_view(), name="txt2img"),
    path("img2img", views.Img2ImgView.as_view(), name="img2img"),
    path("progress", views.ProgressView.as_view(), name="progress"),
    path("interrupt", views.InterruptView.as_view(), name="interrupt"),
    path("skip", views.SkipView.as_view(), name="skip"),
    path("sd-models", views.SdModelsView.as_view(), name="sd-models"),
    path("samplers", views.SamplersView.as_view(), name="samplers"),
    path("schedulers", views.SchedulersView.as_view(), name="schedulers"),
    path("loras", views.LorasView.as_view(), name="loras"),
    path("scripts", views.ScriptsView.as_view(), name="scripts"),
    path("options", views.OptionsView.as_view(), name="options"),
    path("png-info", views.PngInfoView.as_view(), name="png-info"),
]
