from django.contrib import admin
from django.urls import include, path

from huitouke.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("huitouke.loyalty.urls")),
    path("", include("huitouke.quality.urls")),
    path("", include("huitouke.engagement.urls")),
    path("", include("huitouke.platform.urls")),
    path("", include("huitouke.web.urls")),
]
