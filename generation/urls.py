from django.urls import path

from generation import views

app_name = "generation"

urlpatterns = [
    path("", views.generate, name="generate"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/init.png", views.job_init_image, name="job_init_image"),
    path("jobs/<int:pk>/status", views.job_status_json, name="job_status"),
    path("jobs/<int:pk>/cancel", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/rerun", views.job_rerun, name="job_rerun"),
    path("jobs/<int:pk>/delete", views.job_delete, name="job_delete"),
    path("history/", views.history, name="history"),
]
