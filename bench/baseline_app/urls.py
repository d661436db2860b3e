from django.urls import path

from . import views

app_name = "bench_baseline"

urlpatterns = [
    path("plain-json/", views.plain_json, name="plain-json"),
    path("drf-insert/", views.DrfInsertView.as_view(), name="drf-insert"),
    path("drf-bulk-insert/", views.DrfBulkInsertView.as_view(), name="drf-bulk-insert"),
]
