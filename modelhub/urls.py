from django.urls import path

from modelhub import views

app_name = "modelhub"

urlpatterns = [
    path("", views.model_list, name="list"),
    path("<int:pk>/", views.model_detail, name="detail"),
]
