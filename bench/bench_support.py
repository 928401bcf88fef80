"""What the database benchmarks share (not a benchmark itself: scripts/bench.sh runs ``bench/*_bench.py``).

A benchmark script runs as ``python bench/<name>_bench.py``, so this folder is on its path: ``import
bench_support``. Here: a fresh migrated database per run (PostgreSQL on 127.0.0.1:5432, created and dropped by
name, or a SQLite file in a temp folder) and the portfolio most benchmarks seed first (one city, 20 buildings,
N units spread over them, N tenants)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import Settings
    from models.portfolio import Building

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
BUILDINGS = 20


async def recreate_pg(db_name: str) -> str:
    """Drop and create database ``db_name``: its URL."""
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {db_name}")
    await conn.close()
    return f"postgres://postgres@127.0.0.1:5432/{db_name}"


async def drop_pg(db_name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    await conn.close()


@asynccontextmanager
async def migrated_database(db_name: str, *, sqlite: bool) -> AsyncIterator[Settings]:
    """A fresh database migrated as production is (``rentwatch migrate``), Tortoise connected to it: the
    settings pointing at it. PostgreSQL ``db_name`` (dropped after), or with ``sqlite`` a file in a temp folder
    (``rwbench-<db_name without rwbench_>-…``, also the settings' var_dir)."""
    from tortoise import Tortoise

    from cli.core_commands import migrate
    from config.settings import Settings
    from tortoise_config import tortoise_config

    tmp = tempfile.mkdtemp(prefix=f"rwbench-{db_name.removeprefix('rwbench_')}-")
    url = f"sqlite://{tmp}/bench.sqlite3" if sqlite else await recreate_pg(db_name)
    settings = Settings(database_url=url, var_dir=Path(tmp))
    await migrate(settings)
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    try:
        yield settings
    finally:
        await Tortoise.close_connections()
        if not sqlite:
            await drop_pg(db_name)


@dataclass
class Portfolio:
    buildings: list[Building]
    unit_buildings: dict[int, int]  # unit id → building id
    unit_ids: list[int]  # ascending, one a tenant
    tenant_ids: list[int]  # ascending


async def seed_portfolio(n: int, *, tenant_phone: str = "139{:08d}") -> Portfolio:
    """City SZ, 20 buildings, ``n`` occupied 45 m² residential units round the buildings and ``n`` tenants
    (the i-th tenant's phone ``tenant_phone.format(i)``), in bulk."""
    from models.leasing import Tenant
    from models.portfolio import Building, City, Unit

    city = await City.create(code="SZ", name="深圳")
    buildings = [await Building.create(city=city, code=f"B{b:02d}", name=f"楼{b}", lat=22.5, lng=113.9)
                 for b in range(BUILDINGS)]
    await Unit.bulk_create([Unit(building_id=buildings[i % BUILDINGS].id, code=f"U{i:06d}",
                                 property_type="RESIDENTIAL", area_m2=Decimal("45.00"), status="OCCUPIED")
                            for i in range(n)], batch_size=2000)
    await Tenant.bulk_create([Tenant(name=f"租户{i}", phone=tenant_phone.format(i)) for i in range(n)],
                             batch_size=2000)
    units = dict(await Unit.all().values_list("id", "building_id"))
    tenants: list[Any] = sorted(await Tenant.all().values_list("id", flat=True))  # ids (typed as rows)
    return Portfolio(buildings=buildings, unit_buildings=units, unit_ids=sorted(units), tenant_ids=tenants)
