from django.urls import path

from social import views

app_name = "social"

urlpatterns = [
    path("", views.feed, name="feed"),
    path("follow/<str:username>/", views.follow_toggle, name="follow"),
]
