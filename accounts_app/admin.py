from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts_app.models import User


@admin.register(User)
class SluiceUserAdmin(UserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "name", "password"]}),
        ("Access", {"fields": ["role", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "name", "role", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
