from django.urls import path

from sample_app import views

urlpatterns = [path("flows/sample/", views.sample_create, name="sample_create")]
