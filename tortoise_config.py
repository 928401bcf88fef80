"""Entry for Tortoise's own CLI (``tortoise -c tortoise_config.TORTOISE_ORM makemigrations``)."""

from config.settings import Settings
from core.db import tortoise_config

TORTOISE_ORM = tortoise_config(Settings())
