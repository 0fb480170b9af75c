from django.contrib import admin

from vault_app.models import Connection, Provider


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    """Lists connections for staff; secrets are neither shown nor editable here."""

    list_display = ["name", "kind", "last_test_ok", "last_tested_at", "updated_at"]
    list_filter = ["kind", "last_test_ok"]
    search_fields = ["name"]
    fields = [
        "name",
        "kind",
        "config",
        "secrets_set",
        "last_test_ok",
        "last_test_message",
        "last_tested_at",
    ]
    readonly_fields = [
        "kind",
        "config",
        "secrets_set",
        "last_test_ok",
        "last_test_message",
        "last_tested_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["purpose", "connection"]
