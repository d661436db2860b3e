from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve as media_serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from coachhub.accounts import views as account_views
from coachhub.core import views as core_views

# Every page of an organization lives under /o/<org>/ so TenancyMiddleware can resolve it once.
org_patterns = [
    path("", account_views.org_home, name="org_home"),
    path("", include("coachhub.accounts.urls")),
    path("notifications/", include("coachhub.core.urls")),
    path("feedback/", include("feedback.urls")),
    path("qa/", include("qa.urls")),
    path("recognition/", include("recognition.urls")),
    path("coaching/", include("coaching.urls")),
]

# Every API endpoint lives under /api/v1/; the key decides the organization.
api_patterns = [
    path("", include("feedback.api.urls")),
    path("", include("qa.api.urls")),
    path("", include("recognition.api.urls")),
    path("", include("coaching.api.urls")),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("accounts/", include("coachhub.accounts.public_urls")),
    path("o/<slug:org>/", include(org_patterns)),
    path("api/v1/", include(api_patterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("platform/", admin.site.urls),
    # Inbound helpdesk webhooks: outside /o/ and /api/, each view resolves its endpoint itself.
    path("hooks/", include("feedback.hook_urls")),
    # Customer survey links: the token resolves the organization (GlobalLookup).
    path("s/", include("feedback.survey_urls")),
    # Floor-screen leaderboards: the token resolves the organization (GlobalLookup tv_link).
    path("tv/", include("recognition.tv_urls")),
]

# Benchmark reference endpoints, only when COACHHUB_BENCH=1 (bench/run.py; see settings.py).
if settings.COACHHUB_BENCH:
    urlpatterns.append(path("bench/", include("bench.baseline_app.urls")))


def media(request, path):
    return media_serve(request, path, document_root=settings.MEDIA_ROOT)  # read per request


# Agent photos (uploaded or seeded) under unguessable names; they also appear in customer
# e-mails, so they are public. A deployment serving media elsewhere sets SERVE_MEDIA=False.
if getattr(settings, "SERVE_MEDIA", True):
    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", media))
