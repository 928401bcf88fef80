/**
 * The offline queue: everything captured in the field (status reports, confirmations) goes through here,
 * online or not, so there is one path from "tap" to "the server acknowledged it".
 *
 * Storage layout (wx storage: 1 MB per key, 10 MB in total, JSON values, may be cleared by the system):
 *   rw.q.index        {ids: [client_id, ...]}      capture order
 *   rw.q.i.<id>       one item                      metadata and saved-file paths only, never photo bytes
 *   rw.q.done         the last DONE_KEEP acknowledged items, for the "recently synced" list
 * Each item lives under its own key, so no key grows with the queue; the index holds ids only.
 *
 * Never losing an item:
 *   - capture writes the item key before the index; on start, item keys missing from the index are adopted;
 *   - an item goes PENDING → SENDING (persisted) before the request; a SENDING item found later (the app was
 *     killed, or the answer was lost) is simply sent again — the server answers DUPLICATE with the original
 *     result for a client_id it already has;
 *   - the server's per-item answer is persisted on the item (state DONE or REFUSED) before the item leaves
 *     the index; only DONE items leave, and only after that write;
 *   - refused items (REJECTED, CONFLICT, a photo the server refused) stay with their reason until the user
 *     retries or discards them.
 * Photos an item references are uploaded (idempotently, by their client UUID) before the batch that
 * references them is sent. Sync runs on reconnect (wx.onNetworkStatusChange), on app show, and after capture.
 */

const { ApiError, messageFor, RESULT_LABELS, resultLabel } = require('./errors');
const { uuid4 } = require('./uuid');
const { storedSize } = require('./wxp');
const { uploadPhoto, removePhotoFile } = require('./upload');

const INDEX_KEY = 'rw.q.index';
const ITEM_PREFIX = 'rw.q.i.';
const DONE_KEY = 'rw.q.done';
const DONE_KEEP = 30;
const KEY_LIMIT_BYTES = 1024 * 1024;
const TOTAL_LIMIT_KB = 10 * 1024;
const RESERVE_KB = 512; // leave room for the session, settings and the done list
const MAX_ITEM_BYTES = 64 * 1024; // far under the 1 MB key limit: an item is metadata only
const MAX_ITEMS = 2000; // keeps the index key small (≈ 80 KB)
const BATCH_SIZE = 50; // server limit is 200 per batch

/** Server results that acknowledge an item: it reached the server and was recorded (or already was). */
const ACK_RESULTS = new Set(['ACCEPTED', 'PENDING_CONFIRMATION', 'AWAITING_MEDIA', 'HELD_FOR_REVIEW',
  'CONFIRMED', 'DUPLICATE']);
/** Server results that refuse an item: kept for the user with the reason. */
const REFUSED_RESULTS = new Set(['REJECTED', 'CONFLICT']);

const State = Object.freeze({ PENDING: 'PENDING', SENDING: 'SENDING', DONE: 'DONE', REFUSED: 'REFUSED' });

function reasonOf(error) {
  if (!error) return null;
  const details = error.details || {};
  return { code: error.code, message: error.message || messageFor(error.code, details), details };
}

/**
 * One entry of the server's sync answer (inspections/sync.py: {index, kind, client_id, result,
 * original_result?, report?, confirmation?, error?: {code, message, details, status}}) → what the queue does:
 *   {result, reason, transient}. A CONFLICT for a stale status version carries no error, only
 *   report.state_reason; a REJECTED item whose error status is 5xx (DATABASE_ERROR) is transient: kept pending.
 */
function readResult(entry) {
  const result = String(entry.result || '').toUpperCase();
  const err = entry.error || null;
  let reason = null;
  if (err && (err.code || err.message)) {
    reason = { code: err.code || result, message: messageFor(err.code, err.details || {}, err.message),
      details: err.details || {} };
  } else if (REFUSED_RESULTS.has(result)) {
    const report = entry.report || {};
    const code = report.state_reason || result;
    reason = { code, message: messageFor(code, report), details: { report_id: report.id || null } };
  }
  const transient = result === 'REJECTED' && Boolean(err) && Number(err.status) >= 500;
  // A manager's decision to reject a report comes back REJECTED with the recorded confirmation and no error:
  // the item was applied (acknowledged), it is not a refusal.
  const decided = !err && Boolean(entry.confirmation) && (result === 'REJECTED' || result === 'CONFLICT');
  const acknowledged = ACK_RESULTS.has(result) || (decided && result === 'REJECTED');
  return { result, reason: acknowledged ? null : reason, transient, acknowledged,
    original: entry.original_result || null };
}

function createQueue({ wx, api, now = () => Date.now(), batchSize = BATCH_SIZE, logger = null }) {
  const listeners = [];
  let running = null;
  let rerun = false;
  let online = true;
  let started = false;

  function log(...args) {
    if (logger) logger(...args);
  }

  // ----- storage -----------------------------------------------------------------------------------------
  function readIndex() {
    const value = wx.getStorageSync(INDEX_KEY);
    return value && Array.isArray(value.ids) ? value.ids.slice() : [];
  }

  function writeIndex(ids) {
    wx.setStorageSync(INDEX_KEY, { ids });
  }

  function readItem(id) {
    return wx.getStorageSync(ITEM_PREFIX + id) || null;
  }

  function writeItem(item) {
    item.updated_at = new Date(now()).toISOString();
    const size = storedSize(item);
    if (size > KEY_LIMIT_BYTES) throw new ApiError({ code: 'ITEM_TOO_LARGE', status: -1 });
    wx.setStorageSync(ITEM_PREFIX + item.client_id, item);
    return item;
  }

  function notify() {
    const snapshot = list();
    listeners.forEach((fn) => {
      try {
        fn(snapshot);
      } catch (e) { /* a page's listener failing must not break the queue */ }
    });
  }

  /** Adopt item keys the index does not know (killed between the two writes of capture). */
  function recover() {
    const ids = readIndex();
    const known = new Set(ids);
    let changed = false;
    let keys = [];
    try {
      keys = wx.getStorageInfoSync().keys || [];
    } catch (e) { /* no key listing: nothing to adopt */ }
    const orphans = keys.filter((k) => k.startsWith(ITEM_PREFIX) && !known.has(k.slice(ITEM_PREFIX.length)))
      .map((k) => readItem(k.slice(ITEM_PREFIX.length))).filter(Boolean)
      .sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
    orphans.forEach((item) => {
      ids.push(item.client_id);
      changed = true;
    });
    const present = ids.filter((id) => readItem(id));
    if (present.length !== ids.length) changed = true;
    if (changed) writeIndex(present);
    cleanupAcknowledged();
    return present.length;
  }

  /** DONE items whose removal was interrupted: finish removing them. */
  function cleanupAcknowledged() {
    const ids = readIndex();
    const done = ids.map(readItem).filter((item) => item && item.state === State.DONE);
    done.forEach(forget);
  }

  function forget(item) {
    // 1. remember it in the done list, 2. drop it from the index, 3. drop its key, 4. its photo files.
    const recent = (wx.getStorageSync(DONE_KEY) || []).filter((d) => d.client_id !== item.client_id);
    recent.unshift({ client_id: item.client_id, kind: item.kind, label: item.label, unit_code: item.unit_code,
      result: item.result, original: item.original || null, server: item.server || null,
      created_at: item.created_at, done_at: item.updated_at });
    wx.setStorageSync(DONE_KEY, recent.slice(0, DONE_KEEP));
    writeIndex(readIndex().filter((id) => id !== item.client_id));
    wx.removeStorageSync(ITEM_PREFIX + item.client_id);
    const stillUsed = new Set();
    list().forEach((other) => (other.photos || []).forEach((p) => stillUsed.add(p.path)));
    (item.photos || []).forEach((p) => {
      if (p.path && !stillUsed.has(p.path)) removePhotoFile(wx, p.path);
    });
  }

  function checkCapacity(item) {
    const size = storedSize(item);
    if (size > MAX_ITEM_BYTES) throw new ApiError({ code: 'ITEM_TOO_LARGE', status: -1, details: { bytes: size } });
    const ids = readIndex();
    if (ids.length >= MAX_ITEMS) throw new ApiError({ code: 'QUEUE_FULL', status: -1, details: { items: ids.length } });
    let info = null;
    try {
      info = wx.getStorageInfoSync();
    } catch (e) { /* unknown: rely on setStorageSync failing */ }
    if (info) {
      const limitKb = Math.min(info.limitSize || TOTAL_LIMIT_KB, TOTAL_LIMIT_KB);
      const indexGrowthKb = 0.05;
      if (info.currentSize + size / 1024 + indexGrowthKb > limitKb - RESERVE_KB) {
        throw new ApiError({ code: 'QUEUE_FULL', status: -1,
          details: { used_kb: info.currentSize, limit_kb: limitKb } });
      }
    }
  }

  // ----- reading ----------------------------------------------------------------------------------------
  function list() {
    return readIndex().map(readItem).filter(Boolean);
  }

  function recent() {
    return wx.getStorageSync(DONE_KEY) || [];
  }

  function counts() {
    const c = { PENDING: 0, SENDING: 0, REFUSED: 0, DONE: 0, total: 0 };
    list().forEach((item) => {
      c[item.state] = (c[item.state] || 0) + 1;
      c.total += 1;
    });
    return c;
  }

  /** What a queue page shows for one item. */
  function describe(item) {
    const label = item.state === State.REFUSED ? RESULT_LABELS[item.result] || '被拒绝'
      : item.state === State.DONE ? resultLabel(item.kind, item.result) || '已同步' : RESULT_LABELS[item.state];
    return { client_id: item.client_id, kind: item.kind, title: item.label || item.kind, unit_code: item.unit_code,
      state: item.state, state_label: label, reason: item.reason ? item.reason.message : '',
      reason_code: item.reason ? item.reason.code : '', last_error: item.last_error ? item.last_error.message : '',
      photos: (item.photos || []).length, created_at: item.created_at, attempts: item.attempts || 0 };
  }

  // ----- capture ----------------------------------------------------------------------------------------
  /**
   * Put one action in the queue. `body` is the server body without client_id; `photos` are records from
   * upload.capturePhoto (their ids are added to photo_ids for status reports). Resolves the stored item.
   * Throws QUEUE_FULL / ITEM_TOO_LARGE (the user is told; nothing half-stored).
   */
  function add({ kind, body, photos = [], label = '', unitCode = '' }) {
    const clientId = uuid4(wx);
    const payload = Object.assign({}, body, { kind, client_id: clientId });
    if (kind === 'status_report') {
      payload.photo_ids = photos.map((p) => p.id);
      if (!payload.client_created_at) payload.client_created_at = new Date(now()).toISOString();
    }
    const item = { client_id: clientId, kind, payload, photos: photos.map((p) => Object.assign({}, p)),
      label, unit_code: unitCode, state: State.PENDING, result: null, reason: null, last_error: null,
      attempts: 0, created_at: new Date(now()).toISOString(), updated_at: null };
    checkCapacity(item);
    try {
      writeItem(item); // the item first ...
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError({ code: 'QUEUE_FULL', status: -1, serverMessage: String(e && e.message) });
    }
    const ids = readIndex();
    ids.push(clientId);
    try {
      writeIndex(ids); // ... then the index (an orphan item key is adopted by recover())
    } catch (e) {
      // Storage refused the index: undo the item so the user's retry does not create a second report.
      try {
        wx.removeStorageSync(ITEM_PREFIX + clientId);
      } catch (ignored) { /* adopted by recover() at worst */ }
      throw new ApiError({ code: 'QUEUE_FULL', status: -1, serverMessage: String(e && e.message) });
    }
    notify();
    return item;
  }

  /** add(), then try to send at once when online. Resolves {item, sync} where sync is the sync summary. */
  async function capture(entry) {
    const item = add(entry);
    const summary = await sync('capture');
    return { item: readItem(item.client_id) || item, sync: summary };
  }

  // ----- user actions on refused items ------------------------------------------------------------------
  /**
   * Retry a refused (or stuck) item. A refused item gets a fresh client_id (the old one is spent on the
   * server); `changes` may update the body, e.g. a new location or base_status_version.
   */
  function retry(clientId, changes = {}) {
    const item = readItem(clientId);
    if (!item) return null;
    if (item.state === State.REFUSED) {
      const fresh = Object.assign({}, item, {
        client_id: uuid4(wx), state: State.PENDING, result: null, reason: null, last_error: null, attempts: 0,
        previous_client_ids: (item.previous_client_ids || []).concat([item.client_id]),
        photos: (item.photos || []).map((p) => (p.refused ? Object.assign({}, p, { refused: false }) : p)),
      });
      fresh.payload = Object.assign({}, item.payload, changes, { client_id: fresh.client_id });
      writeItem(fresh);
      writeIndex(readIndex().map((id) => (id === clientId ? fresh.client_id : id)));
      wx.removeStorageSync(ITEM_PREFIX + clientId);
      notify();
      return fresh;
    }
    if (Object.keys(changes).length && item.state === State.PENDING) {
      item.payload = Object.assign({}, item.payload, changes);
    }
    item.state = item.state === State.DONE ? item.state : State.PENDING;
    writeItem(item);
    notify();
    return item;
  }

  /** Discard an item the user gave up on (only refused ones, or pending ones with explicit force). */
  function discard(clientId, { force = false } = {}) {
    const item = readItem(clientId);
    if (!item) return false;
    if (item.state !== State.REFUSED && !force) return false;
    writeIndex(readIndex().filter((id) => id !== clientId));
    wx.removeStorageSync(ITEM_PREFIX + clientId);
    (item.photos || []).forEach((p) => removePhotoFile(wx, p.path));
    notify();
    return true;
  }

  // ----- sync -------------------------------------------------------------------------------------------
  function markRefused(item, result, reason) {
    item.state = State.REFUSED;
    item.result = result;
    item.reason = reason;
    writeItem(item);
  }

  function markDone(item, result, entry) {
    item.state = State.DONE;
    item.result = result;
    item.reason = null;
    item.original = (entry && entry.original_result) || null;
    item.server = entry ? Object.assign({}, entry) : null;
    writeItem(item); // the acknowledgement is persisted ...
    forget(item); // ... before the item leaves the queue
  }

  async function uploadPhotosOf(item) {
    for (const photo of item.photos || []) {
      if (photo.uploaded) continue;
      // eslint-disable-next-line no-await-in-loop
      const answer = await uploadPhoto(api, photo, { unitCode: item.unit_code, location: item.payload.location });
      photo.uploaded = true;
      photo.server = answer && typeof answer === 'object'
        ? { id: answer.id || answer.photo_id || photo.id, sha256: answer.sha256 || null } : null;
      writeItem(item); // persisted per photo: a restart does not upload it again (it would be idempotent anyway)
    }
  }

  function isStop(error) {
    // Conditions under which the whole sync pauses (nothing is refused): no network, throttled, server
    // trouble, or we are not logged in any more.
    return !(error instanceof ApiError) || error.isTransient || error.status === 401 || error.code === 'NOT_BOUND'
      || error.code === 'WX_LOGIN_FAILED';
  }

  async function sendBatch(items, summary) {
    items.forEach((item) => {
      item.state = State.SENDING;
      item.attempts = (item.attempts || 0) + 1;
      item.last_error = null;
      writeItem(item);
    });
    notify();
    let answer;
    try {
      answer = await api.post('/api/v1/sync', { items: items.map((item) => item.payload) });
    } catch (error) {
      if (isStop(error)) {
        items.forEach((item) => {
          item.last_error = reasonOf(error);
          writeItem(item); // stays SENDING: treated as pending next time
        });
        throw error;
      }
      if (items.length > 1) {
        // The batch as a whole was refused (e.g. one malformed item): find the culprit item by item.
        for (const item of items) {
          // eslint-disable-next-line no-await-in-loop
          await sendBatch([item], summary);
        }
        return;
      }
      markRefused(items[0], 'REJECTED', reasonOf(error));
      summary.refused += 1;
      return;
    }
    const entries = (answer && (answer.results || answer.items)) || [];
    const byId = new Map(entries.map((e) => [String(e.client_id), e]));
    items.forEach((item) => {
      const entry = byId.get(item.client_id);
      if (!entry) {
        item.last_error = { code: 'BAD_RESPONSE', message: messageFor('BAD_RESPONSE'), details: {} };
        writeItem(item);
        summary.unanswered += 1;
        return;
      }
      const { result, reason, transient, acknowledged } = readResult(entry);
      if (transient) {
        item.last_error = reason;
        writeItem(item); // stays SENDING: sent again on the next sync
        summary.unanswered += 1;
      } else if (acknowledged) {
        markDone(item, result, entry);
        summary.acknowledged += 1;
        summary.results[item.client_id] = result;
      } else if (REFUSED_RESULTS.has(result)) {
        markRefused(item, result, reason);
        summary.refused += 1;
        summary.results[item.client_id] = result;
      } else {
        item.last_error = { code: 'BAD_RESPONSE', message: messageFor('BAD_RESPONSE'), details: { result } };
        writeItem(item);
        summary.unanswered += 1;
      }
    });
  }

  async function syncOnce() {
    const summary = { acknowledged: 0, refused: 0, unanswered: 0, offline: false, error: null, results: {} };
    cleanupAcknowledged();
    const due = list().filter((item) => item.state === State.PENDING || item.state === State.SENDING);
    if (!due.length) return summary;
    try {
      const ready = [];
      for (const item of due) {
        try {
          // eslint-disable-next-line no-await-in-loop
          await uploadPhotosOf(item);
          ready.push(item);
        } catch (error) {
          if (isStop(error)) throw error;
          // This photo will never be accepted (missing file, too large, not an image): refuse the item.
          markRefused(item, 'REJECTED', reasonOf(error));
          summary.refused += 1;
        }
      }
      for (let i = 0; i < ready.length; i += batchSize) {
        // eslint-disable-next-line no-await-in-loop
        await sendBatch(ready.slice(i, i + batchSize), summary);
      }
    } catch (error) {
      summary.offline = error instanceof ApiError && error.isNetwork;
      summary.error = reasonOf(error instanceof ApiError ? error
        : new ApiError({ code: 'NETWORK_ERROR', status: 0, serverMessage: String(error) }));
      log('sync paused', summary.error);
    }
    return summary;
  }

  /** Send everything pending. One sync at a time; a call during a sync schedules one more pass. */
  function sync(reason = 'manual') {
    if (!online) {
      return Promise.resolve({ acknowledged: 0, refused: 0, unanswered: 0, offline: true, skipped: reason,
        error: reasonOf(new ApiError({ code: 'NETWORK_ERROR', status: 0 })), results: {} });
    }
    if (running) {
      rerun = true;
      return running;
    }
    running = (async () => {
      // Callers joining a running sync get the results of every pass they waited for.
      const total = { acknowledged: 0, refused: 0, unanswered: 0, offline: false, error: null, results: {} };
      do {
        rerun = false;
        const pass = await syncOnce(); // eslint-disable-line no-await-in-loop
        total.acknowledged += pass.acknowledged;
        total.refused += pass.refused;
        total.unanswered += pass.unanswered;
        total.offline = pass.offline;
        total.error = pass.error;
        Object.assign(total.results, pass.results);
      } while (rerun && !total.error);
      return total;
    })().then((summary) => {
      running = null;
      notify();
      return summary;
    }, (error) => {
      running = null;
      throw error;
    });
    return running;
  }

  /** Register the triggers: reconnect and (from app.js) app show. Also recovers after a kill. */
  function start() {
    recover();
    if (started) return;
    started = true;
    if (typeof wx.onNetworkStatusChange === 'function') {
      wx.onNetworkStatusChange((res) => {
        const wasOnline = online;
        online = Boolean(res.isConnected);
        if (online && !wasOnline) sync('reconnect');
      });
    }
    if (typeof wx.getNetworkType === 'function') {
      wx.getNetworkType({
        success: (res) => {
          online = res.networkType !== 'none';
        },
      });
    }
  }

  return {
    start, recover, add, capture, sync, retry, discard, list, recent, counts, describe,
    onChange: (fn) => {
      listeners.push(fn);
      return () => {
        const i = listeners.indexOf(fn);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    isOnline: () => online,
    setOnline: (value) => {
      online = Boolean(value);
    },
    get syncing() {
      return Boolean(running);
    },
  };
}

module.exports = {
  createQueue, State, ACK_RESULTS, REFUSED_RESULTS, INDEX_KEY, ITEM_PREFIX, DONE_KEY, MAX_ITEM_BYTES,
  readResult,
};
