"""The Sandbox pages under /sandbox/, and each tenant's Management API beside them."""

from django.urls import path, re_path

from sandbox_app import api, views

TENANT = r"(?P<tenant>[a-z0-9-]{1,40})"

app_name = "sandbox"
urlpatterns = [
    path("", views.tenant_list, name="list"),
    path("<slug:slug>/", views.tenant_page, name="tenant"),
    path("<slug:slug>/settings/", views.tenant_settings, name="settings"),
    path("<slug:slug>/users/new/", views.user_add, name="user_add"),
    path("<slug:slug>/users/<int:pk>/", views.user_edit, name="user_edit"),
    path("<slug:slug>/users/<int:pk>/delete/", views.user_delete, name="user_delete"),
    re_path(rf"^{TENANT}/oauth/token$", api.token, name="token"),
    re_path(rf"^{TENANT}/api/v2/(?P<rest>.*)$", api.management_api, name="api"),
]
