from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "huitouke.web"
    label = "web"
