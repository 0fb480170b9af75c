"""The one record of an installation's first start."""

from django.db import models


class FirstStart(models.Model):
    """The embedded default's first start happened: with ``set_up`` the sample was made
    then; without, the installation was already in use and was left as it was."""

    at = models.DateTimeField(auto_now_add=True)
    set_up = models.BooleanField()

    def __str__(self):
        return f"First start at {self.at:%Y-%m-%d %H:%M}"
