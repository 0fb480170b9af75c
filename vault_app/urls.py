from django.urls import path

from vault_app import views

app_name = "vault"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("new/", views.connection_create, name="create"),
    path("providers/", views.providers, name="providers"),
    path("<int:pk>/", views.connection_edit, name="edit"),
    path("<int:pk>/test/", views.connection_test, name="test"),
    path("<int:pk>/delete/", views.connection_delete, name="delete"),
]
