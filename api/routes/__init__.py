"""Blueprints, one per resource. Each domain appends its blueprint here; create_app groups them under /api/v1."""

from api.routes.admin import bp as admin_bp
from api.routes.auth import bp as auth_bp
from api.routes.health import bp as health_bp
from api.routes.leases import bp as leases_bp
from api.routes.leases import me_bp as me_leases_bp
from api.routes.units import bp as units_bp
from api.routes.workorders import bp as workorders_bp

BLUEPRINTS = [health_bp, auth_bp, units_bp, leases_bp, me_leases_bp, workorders_bp, admin_bp]
