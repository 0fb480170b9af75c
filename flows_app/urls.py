from django.urls import path

from flows_app.views import (
    api,
    editor,
    editor_edits,
    flows,
    layouts,
    manage,
    pins,
    runs,
    tenant,
    tokens,
)

urlpatterns = [
    path("flows/", flows.flow_list, name="flow_list"),
    *manage.urlpatterns,
    *layouts.urlpatterns,
    path("flows/pull/", tenant.flow_pull, name="flow_pull"),
    path("flows/<int:pk>/", flows.flow_detail, name="flow_detail"),
    *runs.urlpatterns,
    *api.urlpatterns,
    *tokens.urlpatterns,
    *editor.urlpatterns,
    *pins.urlpatterns,
    *editor_edits.urlpatterns,
]
