from django.shortcuts import render

from flows_app.models import Flow


def flow_list(request):
    return render(request, "flows/list.html", {"flows": Flow.objects.select_related("owner")})
