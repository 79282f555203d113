from django.urls import path

from huitouke.engagement import views

urlpatterns = [
    path("feedback/<str:token>/", views.complaint_form, name="complaint_form"),
]
