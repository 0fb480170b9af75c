from django.urls import path

from outbox_app import views

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
    path("outbox/<int:pk>/", views.message, name="outbox_message"),
]
