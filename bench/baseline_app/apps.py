from django.apps import AppConfig


class BaselineAppConfig(AppConfig):
    name = "bench.baseline_app"
    label = "bench_baseline"
    verbose_name = "Benchmark baselines"
    default_auto_field = "django.db.models.BigAutoField"
