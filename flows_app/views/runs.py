"""Run history: the run list, the run page, live progress, run and cancel."""

from django.shortcuts import render
from django.urls import path


def run_list(request):
    return render(request, "runs/list.html", {})


urlpatterns = [
    path("runs/", run_list, name="run_list"),
]
