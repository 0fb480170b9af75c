from django.urls import path

from flows_app import views

urlpatterns = [
    path("flows/", views.flow_list, name="flow_list"),
    path("runs/", views.run_list, name="run_list"),
]
