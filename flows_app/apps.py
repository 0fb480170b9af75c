from django.apps import AppConfig


class FlowsConfig(AppConfig):
    name = "flows_app"
    verbose_name = "Flows"
