from django.apps import AppConfig


class SampleConfig(AppConfig):
    name = "sample_app"
    verbose_name = "Sample flow"
