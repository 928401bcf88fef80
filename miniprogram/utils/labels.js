/** Chinese labels for the server's constants (statuses, categories, work orders, refund steps). */

const UNIT_STATUS = {
  VACANT: '空置', RESERVED: '已预订', PENDING_DELIVERY: '待交付', OCCUPIED: '已入住', MOVE_OUT_PENDING: '待退租',
  UNDER_REPAIR: '维修中', RENOVATION: '装修中', INTERNAL_USE: '内部使用', TRIAL_STAY: '试住', OFF_MARKET: '已下架',
};

/** Report categories (inspections/choices.py ReportCategory). */
const CATEGORIES = [
  { value: 'ROUTINE', label: '例行巡检' },
  { value: 'STATUS_UPDATE', label: '状态更新' },
  { value: 'DAMAGE', label: '损坏报修' },
  { value: 'CLEANING_CHECK', label: '保洁验收' },
  { value: 'REFUND_INSPECTION', label: '退租查验' },
];

const REPORT_STATE = {
  ACCEPTED: '已受理', PENDING_CONFIRMATION: '待现场确认', AWAITING_MEDIA: '等待照片', HELD_FOR_REVIEW: '待复核',
  CONFLICT: '有冲突', CONFIRMED: '已确认', REJECTED: '已驳回', EXPIRED: '已过期',
};

const WORK_ORDER_TYPE = {
  CLEANING: '保洁', REPAIR: '维修', INSPECTION: '巡检', RENOVATION: '装修', MOVE_IN: '入住交付', MOVE_OUT: '退租交接',
  VIEWING: '带看', TASK: '待办',
};

const WORK_ORDER_STATUS = {
  OPEN: '待派单', ASSIGNED: '已派单', IN_PROGRESS: '处理中', DONE: '已完成', VERIFIED: '已验收', CANCELLED: '已取消',
};

const ROLE = {
  INSPECTOR: '巡检员', MANAGER: '区域经理', FINANCE: '财务', ADMIN: '管理员', EXECUTIVE: '总经理', TENANT: '租户',
};

/** Deposit refund steps (seed table: 申请 → 查验 → 结算 → 审批 → 打款 → 完成). */
const REFUND_STEP = {
  APPLIED: '已申请', INSPECTED: '已查验', SETTLED: '已结算', APPROVED: '已审批', PAID: '已打款', COMPLETED: '已完成',
  RETURNED: '退回修改', CANCELLED: '已取消',
};

const DEDUCTION_CATEGORY = {
  CLEANING: '保洁费', DAMAGE: '损坏赔偿', UNPAID_RENT: '欠缴租金', UTILITIES: '水电燃气', KEYS: '钥匙/门卡', OTHER: '其他',
};

/** Refund documents a tenant sees (refunds/choices.py DocumentKind). */
const DOCUMENT_KIND = { QUOTE: '维修报价', BANK_RECEIPT: '银行回单', OTHER: '其他单据' };

function label(table, value) {
  return (value && table[value]) || value || '';
}

function pad2(n) {
  return n < 10 ? `0${n}` : String(n);
}

/** Integer fen → "¥1,234.50". */
function yuan(fen) {
  if (fen === null || fen === undefined || fen === '') return '';
  const n = Number(fen);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const whole = Math.floor(abs / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}¥${whole}.${pad2(abs % 100)}`;
}

/** Bytes → "820 B", "12.5 KB", "1.2 MB". */
function fileSize(bytes) {
  if (bytes === null || bytes === undefined || bytes === '') return '';
  const n = Number(bytes);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** ISO datetime → "2026-11-22 15:04" in China time (the phone may be set to another zone). */
function shortTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const cn = new Date(d.getTime() + 8 * 3600 * 1000);
  const p = pad2;
  return `${cn.getUTCFullYear()}-${p(cn.getUTCMonth() + 1)}-${p(cn.getUTCDate())} ${p(cn.getUTCHours())}:${p(cn.getUTCMinutes())}`;
}

module.exports = {
  UNIT_STATUS, CATEGORIES, REPORT_STATE, WORK_ORDER_TYPE, WORK_ORDER_STATUS, ROLE, REFUND_STEP, DEDUCTION_CATEGORY,
  DOCUMENT_KIND, label, yuan, shortTime, fileSize,
};
