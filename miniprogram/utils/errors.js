/**
 * The server's error codes (and the client's own) turned into clear Chinese messages.
 *
 * Server errors always arrive as {"error": {"code", "message", "details"}}; `details` fills the
 * {placeholders} below (e.g. OUTSIDE_GEOFENCE carries distance_m and radius_m).
 */

const MESSAGES = {
  // Client side: the request never got an answer.
  NETWORK_ERROR: '网络不可用,已保存在本机,联网后会自动同步',
  TIMEOUT: '网络超时,请稍后重试',
  QUEUE_FULL: '离线队列已满(本机存储空间不足),请联网同步后再继续填报',
  ITEM_TOO_LARGE: '填报内容过长,请精简备注后再提交',
  PHOTO_MISSING: '照片文件已被系统清理,请删除此条后重新拍照上报',
  BAD_RESPONSE: '服务器返回了无法识别的内容,请稍后重试',
  LOGIN_REQUIRED: '请先登录',
  NOT_BOUND: '该微信尚未绑定账号,请输入管理员或房东提供的绑定码',
  WX_LOGIN_FAILED: '微信登录失败,请重试',
  SCAN_CANCELLED: '已取消扫码',
  NOT_A_STICKER: '这不是房源二维码标签',
  WRONG_UNIT: '扫描的房源与工单不一致,请扫描工单所在房源的标签',
  LOCATION_DENIED: '需要位置权限才能现场上报,请在设置中允许使用位置信息',
  LOCATION_FAILED: '获取定位失败,请到开阔处重试',
  FILE_NOT_FOUND: '文件不存在或您无权查看',
  FILE_GONE: '文件已不存在,请联系管理员',
  OPEN_DOCUMENT_FAILED: '无法打开该文件,请稍后重试',

  // Foundation.
  AUTH_REQUIRED: '请先登录',
  INVALID_TOKEN: '登录已失效,请重新登录',
  TOKEN_EXPIRED: '登录已过期,请重新登录',
  UNAUTHORIZED: '请先登录',
  FORBIDDEN: '您没有权限执行此操作',
  NOT_FOUND: '未找到相关数据,可能不在您负责的楼宇内',
  ROUTE_NOT_FOUND: '服务器暂不支持此功能,请升级后台',
  METHOD_NOT_ALLOWED: '服务器暂不支持此操作',
  BAD_REQUEST: '请求有误',
  MALFORMED_JSON: '请求格式错误',
  VALIDATION_ERROR: '填写的内容有误,请检查后重试',
  CONFLICT: '数据已被他人修改,请刷新后重试',
  INVALID_TRANSITION: '当前状态“{current}”不能变更为“{requested}”',
  UNKNOWN_UNIT: '未找到该房源',
  UNKNOWN_USER: '账号不存在或已停用',
  DEV_LOGIN_DISABLED: '演示登录未开启',
  INVALID_BINDING_CODE: '绑定码无效或已过期,请向管理员重新获取',
  ALREADY_BOUND: '该账号已绑定其他微信',
  PAYLOAD_TOO_LARGE: '照片太大(超过10MB),请重新拍摄',
  RATE_LIMITED: '操作太频繁,请稍后再试',
  REQUEST_TIMEOUT: '请求超时,请重试',
  INTERNAL_ERROR: '服务器出错了,请稍后重试',
  UPSTREAM_UNAVAILABLE: '服务暂时不可用,请稍后重试',
  WECHAT_CODE_INVALID: '微信登录凭证无效,请重试',
  WECHAT_CODE_USED: '微信登录凭证已使用,请重试',
  WECHAT_RATE_LIMITED: '登录太频繁,请一分钟后再试',
  WECHAT_USER_BLOCKED: '微信判定该账号存在风险,无法登录',
  WECHAT_BUSY: '微信繁忙,请稍后再试',
  WECHAT_ERROR: '微信服务异常,请稍后再试',
  WECHAT_UNREACHABLE: '无法连接微信服务,请稍后再试',
  LEASE_OVERLAP: '该房源在此期间已有租约',

  // Field inspection (stickers, reports, photos, sync) — inspections/service.py, photos.py, sync.py.
  INVALID_QR: '不是有效的房源标签(二维码被篡改或不属于本系统)',
  REVOKED_QR: '该标签已作废,请扫描房源上的新标签,或联系管理员重新张贴',
  OUTSIDE_GEOFENCE: '您不在房源现场:距离{distance_m}米,允许范围{radius_m}米',
  LOCATION_TOO_INACCURATE: '定位精度不足({accuracy_m}米,要求{max_accuracy_m}米以内),请到窗边或室外重试',
  LOCATION_REQUIRED: '需要现场定位才能上报',
  SUSPECTED_MOCK_LOCATION: '定位异常(疑似模拟定位),请关闭模拟定位软件后在现场重试',
  LOCATION_ACCURACY_REQUIRED: '定位缺少精度信息,请重新定位',
  STATUS_NOT_REQUESTABLE: '巡检不能将房源设为该状态',
  EVIDENCE_REQUIRED: '该类上报需要现场照片,请先拍照',
  CAPTURED_AT_IN_FUTURE: '手机时间不正确(记录时间在未来),请校准时间后重新上报',
  CAPTURED_AT_TOO_OLD: '离线记录已超过{horizon_days}天有效期,服务器不再接受,请重新到现场上报',
  CLIENT_ID_REUSED: '该记录与已提交的内容不一致,请删除后重新上报',
  STALE_STATUS_VERSION: '房源状态已被他人更新,请重新扫码后再上报',
  SELF_CONFIRMATION: '不能确认自己提交的状态变更,需另一位经理现场确认',
  CONFIRMATION_EXPIRED: '确认已超时,该变更已失效',
  REPORT_NOT_PENDING: '该上报已处理(当前:{state}),无需再确认',
  QR_UNIT_MISMATCH: '扫描的标签不是该上报所属的房源',
  REASON_REQUIRED: '驳回需要填写原因',
  CORRUPT_IMAGE: '照片文件损坏,请重新拍摄',
  UNSUPPORTED_IMAGE_TYPE: '照片格式不支持(仅支持 JPEG、PNG、WebP)',
  DECOMPRESSION_BOMB: '照片像素过大,请降低分辨率后重拍',
  PHOTO_ID_CONFLICT: '照片编号冲突,请删除此条后重新拍照',
  PHOTO_FILE_MISSING: '服务器上的照片文件丢失,请联系管理员',
  LABEL_FONT_MISSING: '服务器缺少中文字体,无法生成标签',
  DATABASE_ERROR: '服务器暂时无法保存此条,稍后会自动重试',

  // Deposit refunds — refunds/service.py, refunds/progress.py.
  LEASE_NOT_LIVE: '该租约已结束,无需申请退押金',
  REFUND_ALREADY_OPEN: '该租约已有进行中的退租申请,请查看退款进度',
  REFUND_CHANGED: '退款进度刚刚更新,请刷新后重试',
  DELIVERABLE_MISSING: '缺少必要材料:{missing}',
  DELIVERABLE_INVALID: '提交的材料不符合要求',
  SETTLEMENT_MISMATCH: '结算清单与扣款明细不一致',
  AMOUNT_MISMATCH: '审批金额与结算金额不一致',
  NOT_YOUR_STEP: '当前步骤不由您处理',
  TOO_LATE_TO_WITHDRAW: '已完成现场查验,无法自行撤回,请联系楼宇经理',
  UNKNOWN_PHOTO: '引用的照片尚未上传',
  UNKNOWN_DOCUMENT: '引用的单据不存在',
  UNSUPPORTED_DOCUMENT: '单据仅支持 PDF、JPEG、PNG',
  DOCUMENT_FILE_MISSING: '服务器上的单据文件丢失,请联系楼宇经理或财务',
  INVALID_PROGRESS_LINK: '进度链接无效',
  PROGRESS_LINK_EXPIRED: '进度链接已过期,请在小程序中重新生成',

  // 商家转账 of a deposit refund — payments/transfers.py, utils/transfers.js.
  NO_TRANSFER_WAITING: '没有等待您确认的转账,请下拉刷新查看最新进度',
  WX_TRANSFER_UNSUPPORTED: '当前微信版本过低,请升级微信后再确认收款',
  WX_TRANSFER_FAILED: '微信未能完成确认收款,请稍后重试',
};

/** Server result states of an offline item, as shown in the queue page. */
const RESULT_LABELS = {
  PENDING: '待同步',
  SENDING: '同步中',
  ACCEPTED: '已受理',
  PENDING_CONFIRMATION: '待经理现场确认',
  AWAITING_MEDIA: '等待照片上传',
  HELD_FOR_REVIEW: '待复核',
  CONFIRMED: '已确认生效',
  DUPLICATE: '已同步(重复提交)',
  CONFLICT: '有冲突,需处理',
  REJECTED: '被拒绝',
};

// Status codes inside details (e.g. INVALID_TRANSITION's current/requested) are shown with their Chinese names.
const { UNIT_STATUS, WORK_ORDER_STATUS, REFUND_STEP } = require('./labels');

const VALUE_LABELS = Object.assign({}, REFUND_STEP, WORK_ORDER_STATUS, UNIT_STATUS);

/** The label of a server result for an item of `kind` (a manager's rejection is a decision, not a refusal). */
function resultLabel(kind, result) {
  if (kind === 'confirmation' && result === 'REJECTED') return '已驳回';
  if (kind === 'confirmation' && result === 'ACCEPTED') return '已放行';
  return RESULT_LABELS[result] || result || '';
}

function fill(template, details) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => {
    const value = details && details[key];
    if (value === undefined || value === null) return '—';
    if (Array.isArray(value)) return value.map((v) => VALUE_LABELS[v] || v).join('、');
    return VALUE_LABELS[value] || String(value);
  });
}

/** A clear Chinese message for an error code; falls back to the server's own message. */
function messageFor(code, details, fallback) {
  const template = MESSAGES[code];
  if (template) return fill(template, details || {});
  if (fallback) return fallback;
  return `操作失败(${code || '未知错误'})`;
}

class ApiError extends Error {
  constructor({ code, status = 0, serverMessage = '', details = {} }) {
    super(messageFor(code, details, serverMessage));
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.serverMessage = serverMessage;
    this.details = details || {};
  }

  /** No answer from the server (offline, DNS, reset, timeout): the action may be retried later. */
  get isNetwork() {
    return this.status === 0;
  }

  /** Worth retrying later without changing anything: network trouble, throttling, server errors. */
  get isTransient() {
    return this.status === 0 || this.status === 429 || this.status === 408 || this.status >= 500;
  }

  toJSON() {
    return { code: this.code, status: this.status, message: this.message, details: this.details };
  }
}

module.exports = { MESSAGES, RESULT_LABELS, ApiError, messageFor, resultLabel };
