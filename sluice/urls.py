from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from sluice import health

admin.site.site_header = "Sluice administration"
admin.site.site_title = "Sluice"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="flow_list"), name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics_view, name="metrics"),
    path("audit/", include("audit_app.urls")),
    path("", include("accounts_app.urls")),
    path("", include("flows_app.urls")),
    path("vault/", include("vault_app.urls")),
    path("", include("outbox_app.urls")),
    path("sandbox/", include("sandbox_app.urls")),
    path("", include("sample_app.urls")),
    path("admin/", admin.site.urls),
]
