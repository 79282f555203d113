from django.urls import path

from huitouke.platform import views

urlpatterns = [
    path("platform/", views.console, name="platform_console"),
    path("platform/merchant/", views.portal, name="platform_portal"),
    path("platform/till/", views.till, name="platform_till"),
    path("platform/merchants/<int:merchant_id>/", views.portal, name="platform_merchant"),
    path("platform/statements/<int:statement_id>.csv", views.statement_csv, name="platform_statement_csv"),
    path("platform/statements/<int:statement_id>.pdf", views.statement_pdf, name="platform_statement_pdf"),
    path("platform/disputes/", views.dispute_raise, name="platform_dispute_raise"),
    path("platform/disputes/<int:dispute_id>/resolve/", views.dispute_resolve, name="platform_dispute_resolve"),
    path("platform/m/<str:token>/", views.member_page, name="platform_member_page"),
    path("platform/m/<str:token>/qr/", views.member_qr, name="platform_member_qr"),
]
