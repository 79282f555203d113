from django.urls import path

from huitouke.quality import views

urlpatterns = [
    path("s/<str:token>/", views.survey_page, name="satisfaction_survey"),
    path("quality/", views.dashboard, name="quality"),
    path("quality/audits/", views.audit_list, name="quality_audits"),
    path("quality/audits/new/", views.audit_new, name="quality_audit_new"),
    path("quality/audits/<int:audit_id>/", views.audit_detail, name="quality_audit"),
    path("quality/photos/<int:photo_id>/", views.audit_photo, name="quality_photo"),
    path("quality/stores/<int:store_id>/", views.store_page, name="quality_store"),
    path("quality/actions/<int:action_id>/status/", views.action_status, name="quality_action_status"),
    path("quality/associates/<int:staff_id>/", views.associate_page, name="quality_associate"),
    path("quality/refunds/", views.refund_reasons, name="quality_refunds"),
    path("quality/settings/", views.settings_page, name="quality_settings"),
    path("quality/templates/", views.template_list, name="quality_templates"),
    path("quality/templates/new/", views.template_new, name="quality_template_new"),
    path("quality/templates/row/", views.template_row, name="quality_template_row"),
    path("quality/templates/<slug:key>/", views.template_edit, name="quality_template"),
    path("quality/templates/<slug:key>/copy/", views.template_copy, name="quality_template_copy"),
    path("quality/customers/<int:customer_id>/churn-reason/", views.customer_churn_reason,
         name="quality_customer_churn"),
    path("quality/customers/<int:customer_id>/survey/", views.customer_survey, name="quality_customer_survey"),
    path("quality/follow-ups/<int:survey_id>/done/", views.follow_up_done, name="quality_follow_up_done"),
]
