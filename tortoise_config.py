"""The application's database wiring: the model modules and their migrations (models/), on the connection the
settings name. The one place that knows both, so core.db stays free of the models. Also the entry for
Tortoise's own CLI (``tortoise -c tortoise_config.TORTOISE_ORM makemigrations``)."""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from core.db import build_tortoise_config, connect
from models import MODEL_MODULES

MIGRATIONS_MODULE = "models.migrations"


def tortoise_config(settings: Settings | str) -> dict[str, Any]:
    return build_tortoise_config(settings, model_modules=MODEL_MODULES, migrations_module=MIGRATIONS_MODULE)


async def init_db(settings: Settings) -> None:
    await connect(tortoise_config(settings))


def __getattr__(name: str) -> Any:
    """``TORTOISE_ORM`` is built when Tortoise's CLI asks for it (building it creates the SQLite directory)."""
    if name == "TORTOISE_ORM":
        return tortoise_config(Settings())
    raise AttributeError(name)
