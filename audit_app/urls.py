from audit_app.views import urlpatterns

__all__ = ["urlpatterns"]
