from django.urls import path

from huitouke.loyalty import views

urlpatterns = [
    path("card/<str:token>/", views.member_card, name="member_card"),
]
