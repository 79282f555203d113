from django.contrib.auth import views as auth_views
from django.urls import path

from huitouke.web import analytics, analytics_tags, imports, views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer"),
    path("customers/<int:customer_id>/profile/", views.customer_profile, name="customer_profile"),
    path("customers/<int:customer_id>/reveal/", views.customer_reveal, name="customer_reveal"),
    path("customers/<int:customer_id>/export/", views.customer_export, name="customer_export"),
    path("customers/<int:customer_id>/erase/", views.customer_erase, name="customer_erase"),
    path("customers/<int:customer_id>/merges/<int:merge_id>/undo/", views.customer_merge_undo,
         name="customer_merge_undo"),
    path("analytics/", analytics.overview, name="analytics"),
    path("analytics/list/", analytics.customers, name="analytics_customers"),
    path("analytics/list.csv", analytics.customers_csv, name="analytics_customers_csv"),
    path("analytics/cohorts/", analytics.cohorts, name="analytics_cohorts"),
    path("analytics/win-back/", analytics.win_back, name="analytics_win_back"),
    path("analytics/model-check/", analytics.model_check, name="analytics_model_check"),
    path("analytics/win-back.csv", analytics.win_back_csv, name="analytics_win_back_csv"),
    path("analytics/segments/<str:segment>/", analytics.segment_lift, name="analytics_segment_lift"),
    path("analytics/look-alikes/", analytics.look_alikes, name="analytics_look_alikes"),
    path("analytics/look-alikes.csv", analytics.look_alikes_csv, name="analytics_look_alikes_csv"),
    path("analytics/tag-rules/", analytics_tags.tag_rules, name="analytics_tag_rules"),
    path("analytics/tag-rules/apply/", analytics_tags.tag_rules_apply, name="analytics_tag_rules_apply"),
    path("analytics/tag-rules/<str:kind>/", analytics_tags.tag_rule_update, name="analytics_tag_rule"),
    path("imports/", imports.import_list, name="imports"),
    path("imports/formats/", imports.import_formats, name="import_formats"),
    path("imports/formats/generic-orders.csv", imports.import_example, name="import_example"),
    path("imports/<int:run_id>/", imports.import_detail, name="import"),
    path("imports/<int:run_id>/progress/", imports.import_progress, name="import_progress"),
    path("imports/<int:run_id>/problems.csv", imports.import_problems, name="import_problems"),
]
