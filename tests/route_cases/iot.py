from accounts.permissions import ALERT_WRITERS as WRITERS
from accounts.permissions import DEVICE_MANAGERS
from config.settings import DEV_QR_SECRET
from inspections.qr import build_sticker_url
from tests.route_cases import ADMINS, ALL_STAFF, RouteCase


def sticker(side):
    unit = side.occupied_unit
    return build_sticker_url("https://rw.example.cn", DEV_QR_SECRET, unit.code, unit.qr_version)


CASES = {
    "alerts.alerts_list": RouteCase("GET", lambda w, s: "/api/v1/alerts?open=true", roles=ALL_STAFF, scoped=False),
    "alerts.alerts_detail": RouteCase("GET", lambda w, s: f"/api/v1/alerts/{s.extra['alert'].id}", roles=ALL_STAFF),
    "alerts.alerts_acknowledge": RouteCase("POST", lambda w, s: f"/api/v1/alerts/{s.extra['alert'].id}/acknowledge",
                                           roles=WRITERS, body=lambda w, s: {"note": "seen"}),
    "alerts.alerts_resolve": RouteCase("POST", lambda w, s: f"/api/v1/alerts/{s.extra['alert'].id}/resolve",
                                       roles=WRITERS, body=lambda w, s: {"note": "cleaner, verified"}),
    "iot.devices_list": RouteCase("GET", lambda w, s: "/api/v1/devices", roles=ALL_STAFF, scoped=False),
    "iot.devices_register": RouteCase(
        "POST", lambda w, s: "/api/v1/devices", roles=DEVICE_MANAGERS,
        body=lambda w, s: {"external_id": f"em-{s.label}", "format": "TASMOTA", "kind": "ELECTRICITY",
                           "unit_code": s.unit.code}),
    "iot.devices_detail": RouteCase("GET", lambda w, s: f"/api/v1/devices/{s.extra['device'].id}", roles=ALL_STAFF),
    "iot.devices_import": RouteCase("POST", lambda w, s: "/api/v1/devices/import?dry_run=true", roles=DEVICE_MANAGERS,
                                    form=lambda w, s: {"files": {"file": (
                                        "d.csv", b"external_id,format,kind\nx1,GENERIC,DOOR\n", "text/csv")}},
                                    scoped=False),
    "iot.devices_commissioning": RouteCase("GET", lambda w, s: "/api/v1/devices/commissioning", roles=ADMINS,
                                           scoped=False),
    "iot.iot_dead_letters": RouteCase("GET", lambda w, s: "/api/v1/iot/dead-letters", roles=ADMINS, scoped=False),
    "iot.units_readings": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}/readings", roles=ALL_STAFF),
    "iot.units_occupancy": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}/occupancy", roles=ALL_STAFF),
    "iot.iot_detect": RouteCase("POST", lambda w, s: "/api/v1/admin/iot/detect", roles=ADMINS, scoped=False,
                                body=lambda w, s: {"as_of": "2026-11-01"}),
    "iot.iot_cleaning_confirm": RouteCase(
        "POST", lambda w, s: f"/api/v1/iot/cleaning/{s.extra['cleaning_order'].id}/confirm", roles=WRITERS,
        body=lambda w, s: {"qr": sticker(s), "location": {"lat": s.building.lat, "lng": s.building.lng,
                                                          "accuracy_m": 10}}),
}
