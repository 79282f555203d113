from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "huitouke.demo"
    label = "demo"
    verbose_name = "Demo data"
