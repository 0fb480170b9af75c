"""Failed sign-ins go to the audit log with the email address that was typed (what an
auditor asks for), never the password."""

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from audit_app.records import Target, record


@receiver(user_login_failed, dispatch_uid="audit_failed_sign_in")
def failed_sign_in(sender, credentials=None, request=None, **kwargs):
    typed = str((credentials or {}).get("username") or (credentials or {}).get("email") or "")
    record(None, "sign_in.failed", Target(label=typed.strip()[:254]))
