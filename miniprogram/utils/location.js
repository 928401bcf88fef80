/**
 * Location helper: every fix is labelled with the coordinate system it was captured in, and a local geofence
 * pre-check warns the user before the server would refuse.
 *
 * wx.getLocation({type: 'gcj02'}) returns GCJ-02 ("Mars coordinates", what WeChat maps use); building centres
 * from the server are WGS-84. The pre-check converts the fix to WGS-84 first (the same maths as the server's
 * inspections/geo.py: Krasovsky ellipsoid, closed forward formula, iterative inverse, identity outside China).
 * Distances here are haversine on a sphere — within 0.5 % of the server's geodesic — so the pre-check only
 * warns; the server decides. The accuracy limit is the server's own (the unit card's `on_site_limits`, from
 * the server's settings): none is written here, so the two cannot disagree.
 */

const { call } = require('./wxp');
const { messageFor } = require('./errors');

const A = 6378245.0;
const EE = 0.00669342162296594323;
const EARTH_RADIUS_M = 6371008.8;
const WGS84 = 'wgs84';
const GCJ02 = 'gcj02';

function outOfChina(lat, lng) {
  return !(lng > 73.66 && lng < 135.05 && lat > 3.86 && lat < 53.55);
}

function transformLat(x, y) {
  let ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  ret += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  ret += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return ret;
}

function transformLng(x, y) {
  let ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  ret += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  ret += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  ret += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return ret;
}

function wgs84ToGcj02(lat, lng) {
  if (outOfChina(lat, lng)) return { lat, lng };
  let dLat = transformLat(lng - 105.0, lat - 35.0);
  let dLng = transformLng(lng - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * Math.PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * Math.PI);
  dLng = (dLng * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * Math.PI);
  return { lat: lat + dLat, lng: lng + dLng };
}

function gcj02ToWgs84(lat, lng) {
  if (outOfChina(lat, lng)) return { lat, lng };
  let wLat = lat;
  let wLng = lng;
  for (let i = 0; i < 30; i += 1) {
    const g = wgs84ToGcj02(wLat, wLng);
    const dLat = g.lat - lat;
    const dLng = g.lng - lng;
    wLat -= dLat;
    wLng -= dLng;
    if (Math.abs(dLat) < 1e-9 && Math.abs(dLng) < 1e-9) break;
  }
  return { lat: wLat, lng: wLng };
}

function toWgs84(fix) {
  const system = String(fix.coord_system || '').toLowerCase();
  if (system === GCJ02) return gcj02ToWgs84(fix.lat, fix.lng);
  if (system === WGS84) return { lat: fix.lat, lng: fix.lng };
  throw new Error(`unknown coordinate system ${fix.coord_system}`);
}

function distanceM(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A fix as the server wants it: {lat, lng, accuracy_m, coord_system, captured_at}. */
function labelFix(res, coordSystem, capturedAt) {
  return {
    lat: Number(res.latitude),
    lng: Number(res.longitude),
    accuracy_m: Number(res.horizontalAccuracy || res.accuracy || 0),
    coord_system: coordSystem,
    captured_at: new Date(capturedAt).toISOString(),
  };
}

/** wx.getLocation in GCJ-02 (what WeChat returns natively), labelled. Errors become LOCATION_* ApiErrors. */
async function getFix(wx, { now = () => Date.now(), type = GCJ02 } = {}) {
  try {
    const res = await call(wx, 'getLocation', { type, isHighAccuracy: true, highAccuracyExpireTime: 4000 });
    return labelFix(res, type, now());
  } catch (e) {
    const denied = /auth|deny|denied|permission/i.test(e.errMsg || '');
    const code = denied ? 'LOCATION_DENIED' : 'LOCATION_FAILED';
    const err = new Error(messageFor(code));
    err.code = code;
    throw err;
  }
}

/**
 * Local geofence pre-check. `geofence` is the unit card's {lat, lng, radius_m} in WGS-84 (the server's shape
 * is normalised by `geofenceOf`); `limits` the server's on-site limits ({max_accuracy_m}, see `limitsOf`) —
 * without them (offline, no card) the accuracy is left to the server. Returns {ok, distance_m, warnings:
 * [{code, message, details}]}.
 */
function precheck(fix, geofence, limits = null) {
  const warnings = [];
  if (!fix) {
    warnings.push({ code: 'LOCATION_REQUIRED', message: messageFor('LOCATION_REQUIRED'), details: {} });
    return { ok: false, distance_m: null, warnings };
  }
  const maxAccuracyM = limits ? Number(limits.max_accuracy_m) : NaN;
  if (Number.isFinite(maxAccuracyM) && fix.accuracy_m > maxAccuracyM) {
    const details = { accuracy_m: Math.round(fix.accuracy_m), max_accuracy_m: maxAccuracyM };
    warnings.push({ code: 'LOCATION_TOO_INACCURATE', message: messageFor('LOCATION_TOO_INACCURATE', details),
      details });
  }
  let distance = null;
  if (geofence && Number.isFinite(geofence.lat) && Number.isFinite(geofence.lng)) {
    distance = distanceM(toWgs84(fix), { lat: geofence.lat, lng: geofence.lng });
    if (distance > geofence.radius_m) {
      const details = { distance_m: Math.round(distance), radius_m: geofence.radius_m };
      warnings.push({ code: 'OUTSIDE_GEOFENCE', message: messageFor('OUTSIDE_GEOFENCE', details), details });
    }
  }
  return { ok: warnings.length === 0, distance_m: distance === null ? null : Math.round(distance), warnings };
}

/** The geofence from a unit card, whatever the exact nesting: {lat, lng, radius_m} or null. */
function geofenceOf(card) {
  const g = card && (card.geofence || card.unit && card.unit.geofence);
  if (!g) return null;
  const centre = g.centre || g.center || g;
  const lat = Number(centre.lat !== undefined ? centre.lat : centre.latitude);
  const lng = Number(centre.lng !== undefined ? centre.lng : centre.longitude);
  const radius = Number(g.radius_m !== undefined ? g.radius_m : g.radius);
  if (!Number.isFinite(lat) || !Number.isFinite(lng) || !Number.isFinite(radius)) return null;
  return { lat, lng, radius_m: radius };
}

/** The server's on-site limits from a unit card ({max_accuracy_m, max_speed_kmh}), or null. */
function limitsOf(card) {
  const limits = card && card.on_site_limits;
  if (!limits || !Number.isFinite(Number(limits.max_accuracy_m))) return null;
  return { max_accuracy_m: Number(limits.max_accuracy_m), max_speed_kmh: Number(limits.max_speed_kmh) };
}

module.exports = {
  WGS84, GCJ02,
  outOfChina, wgs84ToGcj02, gcj02ToWgs84, toWgs84, distanceM, labelFix, getFix, precheck, geofenceOf, limitsOf,
};
