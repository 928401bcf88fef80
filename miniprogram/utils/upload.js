/**
 * Photo helper. A photo is identified by a UUID made on the phone (the server's Photo primary key), so an
 * upload repeated after a lost answer is idempotent.
 *
 * Temp files from the camera may be deleted by WeChat once the app is closed, so a photo that waits in the
 * offline queue is first copied into the app's own user-data directory (wx.getFileSystemManager().saveFile,
 * 200 MB budget, kept across restarts). The queue stores only that path — never photo bytes in wx storage.
 */

const { call } = require('./wxp');
const { uuid4 } = require('./uuid');

const PHOTO_PATH = '/api/v1/photos';

/** Take a photo (camera only: evidence must be captured on site). Resolves [{path, size}]. */
async function takePhotos(wx, { count = 1 } = {}) {
  const res = await call(wx, 'chooseMedia', {
    count, mediaType: ['image'], sourceType: ['camera'], sizeType: ['compressed'], camera: 'back',
  });
  return (res.tempFiles || []).map((f) => ({ path: f.tempFilePath, size: f.size }));
}

/** Copy a temp file somewhere that survives an app restart. Falls back to the temp path if saving fails. */
async function persistPhoto(wx, tempPath) {
  try {
    const fs = wx.getFileSystemManager();
    const res = await new Promise((resolve, reject) => {
      fs.saveFile({ tempFilePath: tempPath, success: resolve, fail: reject });
    });
    return res.savedFilePath;
  } catch (e) {
    return tempPath;
  }
}

/** A new photo record for the queue: {id, path, captured_at, uploaded: false}. */
async function capturePhoto(wx, tempPath, { now = () => Date.now() } = {}) {
  return { id: uuid4(wx), path: await persistPhoto(wx, tempPath), captured_at: new Date(now()).toISOString(),
    uploaded: false };
}

/**
 * Upload one photo record to POST /api/v1/photos (multipart field `file`; form fields photo_id, unit_code,
 * lat/lng/coord_system of the report's fix and captured_at, which the server stamps on the evidence copy).
 * Resolves the server's photo description. Re-uploading the same photo id is idempotent on the server.
 */
function uploadPhoto(api, photo, { unitCode, location } = {}) {
  const formData = { photo_id: photo.id };
  if (photo.captured_at) formData.captured_at = photo.captured_at;
  if (unitCode) formData.unit_code = unitCode;
  if (location && Number.isFinite(location.lat) && Number.isFinite(location.lng)) {
    formData.lat = String(location.lat);
    formData.lng = String(location.lng);
    formData.coord_system = location.coord_system;
  }
  return api.upload(PHOTO_PATH, { filePath: photo.path, name: 'file', formData });
}

/** Delete a saved photo file once nobody needs it (best effort). */
function removePhotoFile(wx, path) {
  try {
    const fs = wx.getFileSystemManager();
    if (fs.removeSavedFile) {
      fs.removeSavedFile({ filePath: path, success() {}, fail() {} });
    } else if (fs.unlinkSync) {
      fs.unlinkSync(path);
    }
  } catch (e) { /* already gone */ }
}

module.exports = { PHOTO_PATH, takePhotos, persistPhoto, capturePhoto, uploadPhoto, removePhotoFile };
