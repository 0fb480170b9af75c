from django.contrib.auth import views as auth_views
from django.urls import path

from accounts_app import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person_edit, name="person_edit"),
]
