from django.urls import path

from flows_app.views import api, flows, runs

urlpatterns = [
    path("flows/", flows.flow_list, name="flow_list"),
    *runs.urlpatterns,
    *api.urlpatterns,
]
