from django.urls import path

from huitouke.engagement import hooks, views

urlpatterns = [
    path("feedback/<str:token>/", views.complaint_form, name="complaint_form"),
    path("hooks/sms/<slug:shop_slug>/<str:provider>/receipts", hooks.sms_callback, {"kind": "receipts"},
         name="sms_receipts"),
    path("hooks/sms/<slug:shop_slug>/<str:provider>/replies", hooks.sms_callback, {"kind": "replies"},
         name="sms_replies"),
]
