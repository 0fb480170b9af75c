from django.contrib.auth import views as auth_views
from django.urls import path

from accounts_app import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_edit, name="person_edit"),
]
