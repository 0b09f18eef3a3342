/* onestop-metrics dashboard: plain JS, no build step. Every figure comes from the read API.
 * State lives in the URL (?unit=&from=&to=&indicator=&lang=) so a view can be bookmarked or
 * shared; the API key (or single sign-on token) lives only in this browser's localStorage, never
 * in the URL: a token handed back in the fragment (#access_token=…) is stored, then removed. */
"use strict";

(() => {
  const API = "/api/v1";
  const TOKEN_KEY = "onestop.readToken";
  const LANG_KEY = "onestop.lang";

  // ---------------------------------------------------------------- labels (vi default, en)
  const I18N = {
    vi: {
      "doc.title": "Chỉ số giải quyết thủ tục hành chính · onestop-metrics",
      skip: "Bỏ qua, đến nội dung chính",
      title: "Chỉ số giải quyết thủ tục hành chính",
      subtitle: "Tiếp nhận trực tuyến · Đúng hạn · Trễ hạn · Số hóa",
      "token.label": "Khóa API hoặc mã đăng nhập một lần (quyền đọc)",
      "token.placeholder": "Dán khóa API hoặc mã đăng nhập vào đây",
      "token.save": "Lưu khóa",
      "token.clear": "Xóa",
      "token.saved": "Đã lưu trong trình duyệt này",
      "token.none": "Chưa có khóa",
      "filters.title": "Chọn đơn vị và kỳ báo cáo",
      "filters.unit": "Đơn vị",
      "filters.from": "Từ ngày",
      "filters.to": "Đến ngày",
      "filters.year": "Năm",
      "filters.presets": "Chọn nhanh",
      "filters.allUnits": "Tất cả đơn vị",
      "filters.lineage": "Gồm số liệu đơn vị tiền thân",
      "unit.former": "đơn vị cũ, đến {day}",
      "filters.level": "Cấp xử lý",
      "filters.allLevels": "Tất cả các cấp",
      "level.province": "Cấp tỉnh",
      "level.department": "Sở, ban, ngành",
      "level.district": "Cấp huyện",
      "level.commune": "Cấp xã",
      "preset.month": "Tháng này",
      "preset.q1": "Quý I",
      "preset.q2": "Quý II",
      "preset.q3": "Quý III",
      "preset.q4": "Quý IV",
      "preset.year": "Cả năm",
      "overview.title": "Tổng quan",
      "trends.title": "Diễn biến theo tháng",
      "chart.intake": "Hồ sơ tiếp nhận theo kênh",
      "chart.rates": "Các tỷ lệ theo tháng (%)",
      "chart.online": "Trực tuyến",
      "chart.direct": "Trực tiếp",
      "chart.postal": "Bưu chính",
      "chart.unknown": "Không rõ kênh",
      "chart.unavailable": "Không tải được thư viện biểu đồ.",
      "trends.csv": "Tải số liệu theo tháng (CSV)",
      "trends.csvMachine": "CSV cho máy (tên cột tiếng Anh, tỷ lệ dạng phân số)",
      "trends.table": "Xem số liệu theo tháng dạng bảng",
      "monthly.month": "Tháng",
      "monthly.received": "Tiếp nhận",
      "chart.empty": "Không có dữ liệu trong kỳ.",
      "ranking.title": "Xếp hạng đơn vị trực thuộc",
      "ranking.indicator": "Chỉ tiêu",
      "ranking.rank": "Hạng",
      "ranking.unit": "Đơn vị",
      "ranking.value": "Tỷ lệ",
      "ranking.ratio": "Số hồ sơ",
      "ranking.noChildren": "Đơn vị này không có đơn vị trực thuộc.",
      "ranking.noRows": "Không có số liệu để xếp hạng trong kỳ.",
      "ranking.lowerBetter": "thấp hơn là tốt hơn",
      "ranking.caption": "Xếp hạng theo {indicator}, cấp {level}",
      "overdue.title": "Hồ sơ đang quá hạn",
      "overdue.code": "Mã hồ sơ",
      "overdue.unit": "Đơn vị",
      "overdue.received": "tiếp nhận",
      "overdue.due": "Hạn trả",
      "overdue.late": "Quá hạn (ngày làm việc)",
      "overdue.none": "Không có hồ sơ quá hạn. Tốt!",
      "overdue.more": "Đang hiển thị {shown} / {total} hồ sơ.",
      "overdue.caption": "Hồ sơ chưa giải quyết đã quá hạn trả tính đến hôm nay, mọi ngày tiếp nhận",
      "overdue.sub": "Tính đến hôm nay, mọi ngày tiếp nhận; quá hạn lâu nhất trước.",
      "tile.online_rate": "Tiếp nhận trực tuyến",
      "tile.online_rate.hint": "hồ sơ nộp trực tuyến / hồ sơ tiếp nhận",
      "tile.on_time_rate": "Giải quyết đúng hạn",
      "tile.on_time_rate.hint": "trước hạn và đúng hạn / hồ sơ đã giải quyết",
      "tile.overdue_rate": "Trễ hạn",
      "tile.overdue_rate.hint": "(giải quyết trễ + đang xử lý quá hạn) / (đã giải quyết + đang xử lý)",
      "tile.fully_digitized_rate": "Số hóa toàn bộ hồ sơ",
      "tile.fully_digitized_rate.hint": "hồ sơ có mọi thành phần được số hóa / hồ sơ tiếp nhận",
      "tile.result_digitized_rate": "Kết quả được số hóa",
      "tile.result_digitized_rate.hint": "kết quả có bản điện tử / hồ sơ đã giải quyết",
      "tile.dossiers": "hồ sơ",
      "tile.noData": "không có hồ sơ",
      "tile.lowerBetter": "Thấp hơn là tốt hơn",
      "ind.online_rate": "Tỷ lệ tiếp nhận trực tuyến",
      "ind.on_time_rate": "Tỷ lệ giải quyết đúng hạn",
      "ind.overdue_rate": "Tỷ lệ trễ hạn",
      "ind.fully_digitized_rate": "Tỷ lệ số hóa toàn bộ hồ sơ",
      "ind.result_digitized_rate": "Tỷ lệ số hóa kết quả",
      "ind.digitized_component_rate": "Tỷ lệ hồ sơ có thành phần số hóa",
      "ind.result_signed_rate": "Tỷ lệ kết quả ký số",
      "ind.online_payment_rate": "Tỷ lệ thanh toán trực tuyến",
      "totals.received": "Tiếp nhận",
      "totals.resolved": "Đã giải quyết",
      "totals.in_progress": "Đang xử lý",
      "totals.overdue_open": "Đang xử lý quá hạn",
      "totals.p50": "Một nửa số hồ sơ giải quyết trong",
      "totals.p90": "90% số hồ sơ giải quyết trong",
      "totals.days": "{days} ngày làm việc",
      "totals.payment": "Thanh toán trực tuyến",
      "totals.signed": "Kết quả ký số",
      "score.title": "Điểm Quyết định 766",
      "score.hint": "cách Cổng DVC quốc gia tính, trên {max} điểm của các chỉ số tính được từ dữ liệu hồ sơ (Quyết định 766 chấm trên 100)",
      "score.none": "chưa có chỉ số nào tính được trong kỳ",
      "score.failed": "không tải được điểm",
      "score.indicator": "Chỉ số",
      "score.rate": "Tỷ lệ",
      "score.points": "Điểm",
      "score.caption": "Điểm từng chỉ số Quyết định 766",
      "score.threshold": "đạt tối đa {max} điểm khi tỷ lệ từ {threshold} trở lên, dưới đó tỷ lệ × {max} / {threshold}",
      "score.linear": "điểm = tỷ lệ × {max}",
      "score.key.progress": "2.1 Tiến độ giải quyết",
      "score.key.online_submission": "3.3 Nộp hồ sơ trực tuyến",
      "score.key.online_payment": "3.6 Thanh toán trực tuyến",
      "score.key.electronic_result": "4.1 Cấp kết quả điện tử",
      "score.key.dossiers_digitized": "4.2 Số hóa hồ sơ",
      "scope.all": "Tất cả đơn vị",
      "notice.needToken": "Nhập khóa API có quyền đọc ở thanh trên cùng rồi bấm “Lưu khóa” để xem số liệu.",
      "notice.loading": "Đang tải số liệu…",
      "notice.badToken": "Khóa API không hợp lệ, đã bị thu hồi hoặc đã hết hạn. Hãy nhập lại khóa ở thanh trên cùng.",
      "notice.forbidden": "Khóa này không được xem số liệu này (cần quyền “read”, và đơn vị phải thuộc phạm vi của khóa).",
      "notice.network": "Không kết nối được với máy chủ. Kiểm tra mạng rồi thử lại.",
      "notice.badDates": "Ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
      "notice.error": "Máy chủ báo lỗi: {detail}",
      "notice.partial": "Một phần số liệu chưa tải được: {detail}",
      "footer.defs": "Định nghĩa các chỉ số và tài liệu API:",
      "footer.tz": "Ngày được tính theo múi giờ của hệ thống (mặc định giờ Việt Nam).",
      "filters.unregistered": "Mã đơn vị chưa đăng ký (chỉ thấy trong sự kiện)",
      "filters.datePlaceholder": "dd/mm/yyyy",
      "notice.badDate": "Ngày “{value}” không hợp lệ: hãy nhập theo dạng ngày/tháng/năm, ví dụ 31/03/2024.",
      "notice.noData": "Không có hồ sơ nào tiếp nhận hay giải quyết trong kỳ này.",
      "notice.dataRange": "Dữ liệu của đơn vị có từ {first} đến {last}.",
      "notice.jump": "Xem kỳ có dữ liệu gần nhất",
      "ranking.open": "Xem đơn vị {unit}",
      "overdue.open": "Xem diễn biến hồ sơ {code}",
      "dossier.title": "Diễn biến hồ sơ",
      "dossier.close": "Đóng",
      "dossier.loading": "Đang tải hồ sơ…",
      "dossier.status": "Trạng thái",
      "dossier.unit": "Đơn vị",
      "dossier.procedure": "Thủ tục",
      "dossier.channel": "Kênh",
      "dossier.received": "Tiếp nhận",
      "dossier.due": "Hạn trả",
      "dossier.resolved": "Giải quyết",
      "dossier.events": "Các sự kiện (theo thứ tự xử lý)",
      "dossier.at": "Thời điểm",
      "dossier.event": "Sự kiện",
      "dossier.dueMoves": "Hạn trả được dời",
      "dossier.noDueMoves": "Hạn trả không thay đổi.",
      "dossier.dueSet": "Đặt hạn {due}",
      "dossier.dueMoved": "Dời hạn từ {from} sang {to}",
      "dossier.waits": "Thời gian chờ công dân",
      "dossier.noWaits": "Hồ sơ không phải chờ công dân bổ sung hay thanh toán.",
      "dossier.waitOpen": "đang chờ",
      "dossier.waitDays": "{days} ngày",
      "dossier.notFound": "Không tìm thấy hồ sơ {code}.",
      "status.submitted": "Nộp hồ sơ",
      "status.received": "Tiếp nhận",
      "status.refused": "Từ chối tiếp nhận",
      "status.processing": "Đang xử lý",
      "status.supplement_requested": "Yêu cầu bổ sung",
      "status.payment_requested": "Yêu cầu thanh toán",
      "status.withdrawn": "Rút hồ sơ",
      "status.stopped": "Dừng xử lý",
      "status.resolved": "Đã giải quyết",
      "status.returned": "Đã trả kết quả",
      "channel.direct": "Trực tiếp",
      "channel.online": "Trực tuyến",
      "channel.postal": "Bưu chính",
    },
    en: {
      "doc.title": "Administrative procedure metrics · onestop-metrics",
      skip: "Skip to main content",
      title: "Administrative procedure metrics",
      subtitle: "Online intake · On time · Overdue · Digitization",
      "token.label": "API key or sign-in token (read scope)",
      "token.placeholder": "Paste an API key or a sign-in token here",
      "token.save": "Save key",
      "token.clear": "Clear",
      "token.saved": "Saved in this browser",
      "token.none": "No key yet",
      "filters.title": "Choose a unit and a period",
      "filters.unit": "Unit",
      "filters.from": "From",
      "filters.to": "To",
      "filters.year": "Year",
      "filters.presets": "Quick pick",
      "filters.allUnits": "All units",
      "filters.lineage": "Include former units merged into it",
      "unit.former": "former unit, until {day}",
      "filters.level": "Handled at level",
      "filters.allLevels": "All levels",
      "level.province": "Province",
      "level.department": "Departments",
      "level.district": "District",
      "level.commune": "Commune",
      "preset.month": "This month",
      "preset.q1": "Q1",
      "preset.q2": "Q2",
      "preset.q3": "Q3",
      "preset.q4": "Q4",
      "preset.year": "Whole year",
      "overview.title": "Overview",
      "trends.title": "Month by month",
      "chart.intake": "Dossiers received, by channel",
      "chart.rates": "Rates by month (%)",
      "chart.online": "Online",
      "chart.direct": "At the desk",
      "chart.postal": "By post",
      "chart.unknown": "Channel unknown",
      "chart.unavailable": "The chart library could not be loaded.",
      "trends.csv": "Download monthly figures (CSV)",
      "trends.csvMachine": "Machine CSV (snake_case columns, rates as fractions)",
      "trends.table": "Show the monthly figures as a table",
      "monthly.month": "Month",
      "monthly.received": "Received",
      "chart.empty": "No data in this period.",
      "ranking.title": "Ranking of the units below",
      "ranking.indicator": "Indicator",
      "ranking.rank": "Rank",
      "ranking.unit": "Unit",
      "ranking.value": "Rate",
      "ranking.ratio": "Dossiers",
      "ranking.noChildren": "This unit has no units below it.",
      "ranking.noRows": "Nothing to rank in this period.",
      "ranking.lowerBetter": "lower is better",
      "ranking.caption": "Ranked by {indicator}, level {level}",
      "overdue.title": "Dossiers overdue now",
      "overdue.code": "Dossier code",
      "overdue.unit": "Unit",
      "overdue.received": "received",
      "overdue.due": "Due",
      "overdue.late": "Working days late",
      "overdue.none": "No overdue dossiers. Well done!",
      "overdue.more": "Showing {shown} of {total} dossiers.",
      "overdue.caption": "Dossiers still open and past their due date today, whatever their receipt date",
      "overdue.sub": "As of today, any receipt date; most overdue first.",
      "tile.online_rate": "Received online",
      "tile.online_rate.hint": "filed online / all dossiers received",
      "tile.on_time_rate": "Resolved on time",
      "tile.on_time_rate.hint": "early or on time / dossiers resolved",
      "tile.overdue_rate": "Overdue",
      "tile.overdue_rate.hint": "(resolved late + open past due) / (resolved + open)",
      "tile.fully_digitized_rate": "Fully digitized",
      "tile.fully_digitized_rate.hint": "every component digitized / dossiers received",
      "tile.result_digitized_rate": "Digitized results",
      "tile.result_digitized_rate.hint": "electronic result / dossiers resolved",
      "tile.dossiers": "dossiers",
      "tile.noData": "no dossiers",
      "tile.lowerBetter": "Lower is better",
      "ind.online_rate": "Online intake rate",
      "ind.on_time_rate": "On-time rate",
      "ind.overdue_rate": "Overdue rate",
      "ind.fully_digitized_rate": "Fully digitized rate",
      "ind.result_digitized_rate": "Digitized result rate",
      "ind.digitized_component_rate": "Dossiers with a digitized component",
      "ind.result_signed_rate": "Digitally signed results",
      "ind.online_payment_rate": "Online payment rate",
      "totals.received": "Received",
      "totals.resolved": "Resolved",
      "totals.in_progress": "In progress",
      "totals.overdue_open": "Open and overdue",
      "totals.p50": "Half of the dossiers resolved within",
      "totals.p90": "90% of the dossiers resolved within",
      "totals.days": "{days} working days",
      "totals.payment": "Paid online",
      "totals.signed": "Digitally signed results",
      "score.title": "Decision 766 score",
      "score.hint": "as the national portal computes it, of the {max} points of the indicators the dossier data supports (Decision 766 scores out of 100)",
      "score.none": "no indicator can be scored in this period",
      "score.failed": "the score could not be loaded",
      "score.indicator": "Indicator",
      "score.rate": "Rate",
      "score.points": "Points",
      "score.caption": "Points per Decision 766 indicator",
      "score.threshold": "full {max} points at a rate of {threshold} or more, below it rate × {max} / {threshold}",
      "score.linear": "points = rate × {max}",
      "score.key.progress": "2.1 Processing progress",
      "score.key.online_submission": "3.3 Online submission",
      "score.key.online_payment": "3.6 Online payment",
      "score.key.electronic_result": "4.1 Electronic results",
      "score.key.dossiers_digitized": "4.2 Dossiers digitized",
      "scope.all": "All units",
      "notice.needToken": "Enter an API key with the read scope in the top bar and press “Save key” to see the figures.",
      "notice.loading": "Loading figures…",
      "notice.badToken": "This API key or token is unknown, revoked or expired. Enter a key again in the top bar.",
      "notice.forbidden": "This key may not read these figures (it needs the “read” scope, and the unit must be within its units).",
      "notice.network": "Cannot reach the server. Check the network and try again.",
      "notice.badDates": "The start date must be on or before the end date.",
      "notice.error": "The server reported an error: {detail}",
      "notice.partial": "Some figures could not be loaded: {detail}",
      "footer.defs": "Metric definitions and API documentation:",
      "footer.tz": "Dates are counted in the service's time zone (Vietnam time by default).",
      "filters.unregistered": "Unit codes not registered (seen only in events)",
      "filters.datePlaceholder": "dd/mm/yyyy",
      "notice.badDate": "“{value}” is not a date: enter it as day/month/year, e.g. 31/03/2024.",
      "notice.noData": "No dossier was received or resolved in this period.",
      "notice.dataRange": "This unit's data runs from {first} to {last}.",
      "notice.jump": "Show the latest period with data",
      "ranking.open": "Open unit {unit}",
      "overdue.open": "Open the timeline of dossier {code}",
      "dossier.title": "Dossier timeline",
      "dossier.close": "Close",
      "dossier.loading": "Loading the dossier…",
      "dossier.status": "Status",
      "dossier.unit": "Unit",
      "dossier.procedure": "Procedure",
      "dossier.channel": "Channel",
      "dossier.received": "Received",
      "dossier.due": "Due",
      "dossier.resolved": "Resolved",
      "dossier.events": "Events (in fold order)",
      "dossier.at": "When",
      "dossier.event": "Event",
      "dossier.dueMoves": "Due date moves",
      "dossier.noDueMoves": "The due date never moved.",
      "dossier.dueSet": "Due {due}",
      "dossier.dueMoved": "Moved from {from} to {to}",
      "dossier.waits": "Waiting on the citizen",
      "dossier.noWaits": "The dossier never waited on the citizen for a supplement or a payment.",
      "dossier.waitOpen": "still waiting",
      "dossier.waitDays": "{days} days",
      "dossier.notFound": "No dossier {code}.",
      "status.submitted": "Submitted",
      "status.received": "Received",
      "status.refused": "Refused",
      "status.processing": "Processing",
      "status.supplement_requested": "Supplement requested",
      "status.payment_requested": "Payment requested",
      "status.withdrawn": "Withdrawn",
      "status.stopped": "Stopped",
      "status.resolved": "Resolved",
      "status.returned": "Returned",
      "channel.direct": "At the desk",
      "channel.online": "Online",
      "channel.postal": "By post",
    },
  };
  const LOCALES = { vi: "vi-VN", en: "en-GB" };
  // The service's zone (ONESTOP_TIMEZONE): timestamps are shown as dates in it, like the API.
  const ZONE =
    (document.querySelector('meta[name="onestop-timezone"]') || {}).content || "Asia/Ho_Chi_Minh";

  // ------------------------------------------------------------- the indicators (one place)
  const n = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  /* The rates the dashboard shows. Their formulas live in the service only
   * (app/metrics/formulas.py): each row carries `<rate>`, `<rate>_numerator` and
   * `<rate>_denominator`, and the dashboard shows those. `lowerIsBetter` only decides colours
   * and the ranking caption (the rankings answer says it too). */
  const INDICATORS = {
    online_rate: {},
    on_time_rate: {},
    overdue_rate: { lowerIsBetter: true },
    fully_digitized_rate: {},
    result_digitized_rate: {},
    digitized_component_rate: {},
    result_signed_rate: {},
    online_payment_rate: {},
  };
  const TILES = [
    "online_rate",
    "on_time_rate",
    "overdue_rate",
    "fully_digitized_rate",
    "result_digitized_rate",
  ];
  const RANKABLE = Object.keys(INDICATORS);
  const RATE_COLORS = {
    online_rate: "#0b62c4",
    on_time_rate: "#1a7f37",
    overdue_rate: "#c62828",
    fully_digitized_rate: "#6f42c1",
    result_digitized_rate: "#0e7c86",
  };

  function figure(row, id) {
    // The rate (null: over zero dossiers, or not sent), its numerator and its denominator,
    // as the API sent them.
    const value = row[id];
    return {
      value: typeof value === "number" && Number.isFinite(value) ? value : null,
      num: n(row[`${id}_numerator`]),
      den: n(row[`${id}_denominator`]),
    };
  }

  // ------------------------------------------------------------------------------ state
  const $ = (sel) => document.querySelector(sel);
  const state = {
    lang: "vi",
    token: "",
    unit: "",
    level: "", // count only dossiers of units with this level label ("" = all)
    lineage: true, // figures include the units merged into the selected one (?lineage=0: not)
    from: "",
    to: "",
    indicator: "on_time_rate",
    dossier: "", // the dossier whose timeline is open ("" = none)
    coverage: null, // GET /metrics/coverage of the unit: its first and last receipt day
    dossierView: null, // {code, loading | body | error} of the open dossier
    dossierController: null,
    loadedKey: null, // viewKey() of the figures on screen
    roots: [],
    index: new Map(), // code -> node
    data: null, // last loaded figures, re-rendered on a language switch
    controller: null,
    chartVersion: 0, // the latest chart render; an older one waiting for plotly is dropped
  };

  const t = (key, vars) => {
    let text = (I18N[state.lang] && I18N[state.lang][key]) || I18N.vi[key] || key;
    for (const [k, v] of Object.entries(vars || {})) text = text.replace(`{${k}}`, v);
    return text;
  };
  const locale = () => LOCALES[state.lang];
  const fmtInt = (v) => new Intl.NumberFormat(locale()).format(v);
  const fmtPct = (v) =>
    v === null || v === undefined
      ? "—"
      : new Intl.NumberFormat(locale(), {
          style: "percent",
          maximumFractionDigits: 2,
          minimumFractionDigits: 0,
        }).format(v);
  const fmtDays = (v) =>
    v === null || v === undefined
      ? "—"
      : new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v);
  // Decision 766 points, as the API sends them (not rounded there): two decimals at most.
  const fmtPoints = (v) =>
    typeof v === "number" && Number.isFinite(v)
      ? new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(v)
      : "—";
  const parseDay = (iso) => {
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  };
  /* Dates are shown and entered as dd/mm/yyyy whatever the browser's locale (a leader's
   * browser in English must not turn 05/01 into May 1st). */
  const dmy = (y, m, d) => `${pad(d)}/${pad(m)}/${y}`;
  const fmtDay = (iso) => {
    if (!iso) return "—";
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return dmy(y, m, d);
  };
  /** The local day (in the service's zone) of a timestamp, as YYYY-MM-DD. */
  const zoneDay = (ts) => {
    const parts = {};
    for (const part of new Intl.DateTimeFormat("en-GB", {
      day: "2-digit",
      month: "2-digit",
      year: "numeric",
      timeZone: ZONE,
    }).formatToParts(new Date(ts))) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}`;
  };
  const fmtTimestampDay = (ts) => (ts ? fmtDay(zoneDay(ts)) : "—");
  /** A timestamp as dd/mm/yyyy HH:MM in the service's zone. */
  const fmtTimestamp = (ts) => {
    if (!ts) return "—";
    const time = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: ZONE,
    }).format(new Date(ts));
    return `${fmtTimestampDay(ts)} ${time}`;
  };
  /** "31/03/2024" (or 31-03-2024, 31.03.2024, 1/3/2024) -> "2024-03-31"; null if not a date. */
  const parseDmy = (text) => {
    const match = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(text || "");
    if (!match) return null;
    const [d, m, y] = match.slice(1).map(Number);
    if (m < 1 || m > 12 || d < 1 || d > lastDay(y, m)) return null;
    return isoDay(y, m, d);
  };
  const fmtMonth = (key) => {
    const [y, m] = key.split("-").map(Number);
    if (state.lang === "vi") return `T${m}/${y}`;
    return new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" })
      .format(new Date(Date.UTC(y, m - 1, 1)));
  };
  const pad = (v) => String(v).padStart(2, "0");
  const isoDay = (y, m, d) => `${y}-${pad(m)}-${pad(d)}`;
  const lastDay = (y, m) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const today = () => {
    const now = new Date();
    return isoDay(now.getFullYear(), now.getMonth() + 1, now.getDate());
  };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "style") node.setAttribute("style", v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // ------------------------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || `HTTP ${status}`);
      this.status = status;
      this.detail = detail;
    }
  }

  async function api(path, params, signal) {
    const url = new URL(API + path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    let response;
    try {
      response = await fetch(url, {
        headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
        signal,
        cache: "no-cache",
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "network");
    }
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try {
        const body = await response.json();
        if (typeof body.detail === "string") detail = body.detail;
        else if (Array.isArray(body.detail))
          detail = body.detail.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ");
      } catch (_) {
        /* not JSON: keep the status line */
      }
      throw new ApiError(response.status, detail);
    }
    return response.json();
  }

  function describe(err) {
    if (err.status === 401) return t("notice.badToken");
    if (err.status === 403) return t("notice.forbidden");
    if (err.status === 0) return t("notice.network");
    return t("notice.error", { detail: err.detail || err.message });
  }

  function notice(kind, text, action) {
    const box = $("#notice");
    if (!kind) {
      box.hidden = true;
      box.replaceChildren();
      box.className = "notice";
      return;
    }
    box.hidden = false;
    box.className = `notice notice-${kind}`;
    box.replaceChildren(el("span", { class: "notice-text", text }));
    if (action) {
      const button = el("button", { type: "button", class: "btn btn-outline notice-action" }, action.label);
      button.addEventListener("click", action.run);
      box.append(" ", button);
    }
  }

  // ------------------------------------------------------------------------------ units
  function indexUnits(nodes, depth, parent) {
    for (const node of nodes) {
      node.depth = depth;
      node.parent = parent;
      node.children = node.children || [];
      state.index.set(node.code, node);
      indexUnits(node.children, depth + 1, node);
    }
  }

  const unitName = (code) => {
    const node = state.index.get(code);
    return (node && node.name) || code;
  };

  /** A code seen only in events (never described by PUT /units): shown apart in the picker. */
  const isUnregistered = (node) => node.registered === false;

  function renderUnitOptions() {
    const select = $("#unit-select");
    select.replaceChildren(el("option", { value: "", text: t("filters.allUnits") }));
    const option = (entry) => {
      const indent = "\u00a0\u00a0\u00a0".repeat(entry.depth);
      const former = entry.node.valid_to
        ? ` (${t("unit.former", { day: fmtDay(entry.node.valid_to) })})`
        : "";
      const label = `${indent}${entry.node.name || entry.node.code}${former}`;
      return el("option", { value: entry.node.code, text: label, class: entry.current ? "" : "unit-former" });
    };
    for (const entry of unitPickerEntries(state.roots.filter((node) => !isUnregistered(node)))) {
      select.append(option(entry));
    }
    const unregistered = state.roots.filter(isUnregistered);
    if (unregistered.length) {
      const group = el("optgroup", { label: t("filters.unregistered"), "data-role": "unregistered" });
      for (const entry of unitPickerEntries(unregistered)) group.append(option(entry));
      select.append(group);
    }
    select.value = state.index.has(state.unit) ? state.unit : "";
  }

  // -------------------------------------------------------------------- units that change
  /** Valid today: no end, or an end not yet passed (and begun). */
  function unitIsCurrent(node) {
    const day = today();
    return (!node.valid_from || node.valid_from <= day) && (!node.valid_to || node.valid_to >= day);
  }

  /** The first unit valid today along a former unit's successor chain (null: none). */
  function currentSuccessor(node) {
    const seen = new Set();
    let code = node.successor_code;
    while (code && !seen.has(code)) {
      seen.add(code);
      const next = state.index.get(code);
      if (!next) return null;
      if (unitIsCurrent(next)) return next;
      code = next.successor_code;
    }
    return null;
  }

  /**
   * The picker's order: today's tree, and each former unit right under the unit of today
   * that took it over (its successor chain), marked with its end date; a former unit that
   * nobody took over stays where it was in the tree.
   */
  function unitPickerEntries(roots) {
    const absorbed = new Map(); // code of today's unit -> former units it took over
    const placed = new Set();
    for (const node of state.index.values()) {
      if (unitIsCurrent(node)) continue;
      const heir = currentSuccessor(node);
      if (heir) {
        if (!absorbed.has(heir.code)) absorbed.set(heir.code, []);
        absorbed.get(heir.code).push(node);
        placed.add(node.code);
      }
    }
    const entries = [];
    const emit = (node, depth) => {
      entries.push({ node, depth, current: unitIsCurrent(node) });
      for (const former of absorbed.get(node.code) || []) emit(former, depth + 1);
      walk(node.children, depth + 1);
    };
    const walk = (nodes, depth) => {
      const ordered = [...nodes].sort((a, b) => Number(!unitIsCurrent(a)) - Number(!unitIsCurrent(b)));
      for (const node of ordered) if (!placed.has(node.code)) emit(node, depth); // else: under its successor
    };
    walk(roots, 0);
    return entries;
  }

  async function loadUnits() {
    const body = await api("/units", { at: "all" }); // former units too: the picker places them
    state.roots = body.units || [];
    state.index = new Map();
    indexUnits(state.roots, 0, null);
    if (!state.index.has(state.unit)) {
      // One registered root (a district, a province): start there; otherwise all units.
      const registered = state.roots.filter((node) => !isUnregistered(node));
      state.unit = registered.length === 1 ? registered[0].code : "";
    }
    renderUnitOptions();
    renderLevelOptions();
  }

  const levelName = (level) => {
    const key = `level.${level}`;
    const text = t(key);
    return text === key ? level : text;
  };

  /** The level labels in the selected subtree, top-down: the choices of the level filter. */
  function subtreeLevels() {
    const node = state.index.get(state.unit);
    const seen = [];
    const walk = (nodes) => {
      for (const unit of nodes) {
        if (unit.level && !seen.includes(unit.level)) seen.push(unit.level);
      }
      const next = nodes.flatMap((unit) => unit.children);
      if (next.length) walk(next);
    };
    walk(node ? [node] : state.roots);
    return seen;
  }

  function renderLevelOptions() {
    const levels = subtreeLevels();
    if (!levels.includes(state.level)) state.level = "";
    const select = $("#level-select");
    select.replaceChildren(
      el("option", { value: "", text: t("filters.allLevels") }),
      ...levels.map((level) => el("option", { value: level, text: levelName(level) })),
    );
    select.value = state.level;
  }

  /** The level label of the units directly below the selected one (the most common one). */
  function childLevel() {
    const node = state.index.get(state.unit);
    const children = node ? node.children : state.unit ? [] : state.roots;
    const counts = new Map();
    for (const child of children) {
      if (child.level) counts.set(child.level, (counts.get(child.level) || 0) + 1);
    }
    let best = null;
    for (const [level, count] of counts) if (!best || count > counts.get(best)) best = level;
    return best;
  }

  // ---------------------------------------------------------------------------- filters
  function presetRange(preset, year) {
    if (preset === "month") {
      const [y, m] = today().split("-").map(Number);
      return [isoDay(y, m, 1), isoDay(y, m, lastDay(y, m))];
    }
    if (preset === "year") return [isoDay(year, 1, 1), isoDay(year, 12, 31)];
    const q = Number(preset.slice(1));
    const first = (q - 1) * 3 + 1;
    return [isoDay(year, first, 1), isoDay(year, first + 2, lastDay(year, first + 2))];
  }

  function activePreset() {
    const year = Number(state.from.slice(0, 4));
    for (const preset of ["month", "q1", "q2", "q3", "q4", "year"]) {
      const [from, to] = presetRange(preset, year);
      if (from === state.from && to === state.to) return preset;
    }
    return null;
  }

  function renderYearOptions() {
    const select = $("#year-select");
    const current = Number(today().slice(0, 4));
    const chosen = Number(state.from.slice(0, 4)) || current;
    const years = new Set();
    for (let y = current; y >= current - 6; y -= 1) years.add(y);
    years.add(chosen);
    select.replaceChildren(
      ...[...years].sort((a, b) => b - a).map((y) => el("option", { value: y, text: y })),
    );
    select.value = String(chosen);
  }

  function syncFilterControls() {
    $("#from-date").value = state.from ? fmtDay(state.from) : "";
    $("#to-date").value = state.to ? fmtDay(state.to) : "";
    $("#from-date").removeAttribute("aria-invalid");
    $("#to-date").removeAttribute("aria-invalid");
    renderYearOptions();
    const active = activePreset();
    for (const button of document.querySelectorAll("[data-preset]")) {
      button.setAttribute("aria-pressed", String(button.dataset.preset === active));
    }
    $("#indicator-select").value = state.indicator;
    $("#lineage-toggle").checked = state.lineage;
    if (state.index.size) $("#unit-select").value = state.index.has(state.unit) ? state.unit : "";
    $("#level-select").value = state.level;
  }

  // ------------------------------------------------------------------ the URL and history
  /* The view lives in the URL. Each choice a person makes (a unit, a period, an indicator, a
   * ranking row, a dossier) is a new history entry, so Back walks the views; the language and
   * defaults filled in by the page replace the current entry. */
  function urlOf(view) {
    const params = new URLSearchParams();
    if (view.unit) params.set("unit", view.unit);
    if (view.level) params.set("level", view.level);
    if (view.lineage === false) params.set("lineage", "0");
    if (view.from) params.set("from", view.from);
    if (view.to) params.set("to", view.to);
    if (view.indicator && view.indicator !== "on_time_rate") params.set("indicator", view.indicator);
    if (view.dossier) params.set("dossier", view.dossier);
    if (state.lang !== "vi") params.set("lang", state.lang);
    return `${window.location.pathname}?${params}`;
  }

  function writeUrl(mode) {
    const url = urlOf(state);
    if (mode === "push" && url !== `${window.location.pathname}${window.location.search}`) {
      window.history.pushState(null, "", url);
    } else {
      window.history.replaceState(null, "", url);
    }
  }

  /** A person's choice: change the view, add a history entry, load what it shows. */
  function navigate(changes) {
    const periodOrUnit = ["unit", "level", "lineage", "from", "to", "indicator"].some(
      (key) => key in changes && changes[key] !== state[key],
    );
    Object.assign(state, changes);
    if ("unit" in changes) renderLevelOptions();
    writeUrl("push");
    syncFilterControls();
    renderDossierPanel();
    if (periodOrUnit || !state.data) refresh();
  }

  function readUrl() {
    const params = new URLSearchParams(window.location.search);
    const day = /^\d{4}-\d{2}-\d{2}$/;
    const lang = params.get("lang") || window.localStorage.getItem(LANG_KEY);
    state.lang = lang in I18N ? lang : "vi";
    state.unit = params.get("unit") || "";
    state.level = params.get("level") || "";
    state.lineage = params.get("lineage") !== "0";
    const from = params.get("from");
    const to = params.get("to");
    // No period chosen: start() asks the API for the latest period that has data.
    const valid = from && to && day.test(from) && day.test(to);
    state.from = valid ? from : "";
    state.to = valid ? to : "";
    const indicator = params.get("indicator");
    state.indicator = indicator && RANKABLE.includes(indicator) ? indicator : "on_time_rate";
    state.dossier = params.get("dossier") || "";
  }

  /** The period to open on when the URL names none: the year of the latest receipt, up to
   * its month (GET /metrics/coverage); this year to date when there is no data at all. */
  async function defaultPeriod() {
    const fallback = [`${today().slice(0, 4)}-01-01`, today()];
    try {
      const coverage = await api("/metrics/coverage", { unit: state.unit });
      state.coverage = coverage;
      if (!coverage.suggested_from) return fallback;
      const to = coverage.suggested_to < today() ? coverage.suggested_to : today();
      return [coverage.suggested_from, to < coverage.suggested_from ? coverage.suggested_to : to];
    } catch (err) {
      if (err.name === "AbortError") throw err;
      return fallback;
    }
  }

  // --------------------------------------------------------------------------- language
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.title = t("doc.title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    $("#token-input").placeholder = t("token.placeholder");
    for (const id of ["#from-date", "#to-date"]) $(id).placeholder = t("filters.datePlaceholder");
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    const indicator = $("#indicator-select");
    indicator.replaceChildren(
      ...RANKABLE.map((id) => el("option", { value: id, text: t(`ind.${id}`) })),
    );
    indicator.value = state.indicator;
    renderTokenState();
    if (state.roots.length) {
      renderUnitOptions();
      renderLevelOptions();
    }
  }

  function renderTokenState() {
    $("#token-state").textContent = state.token ? `✓ ${t("token.saved")}` : t("token.none");
  }

  // ------------------------------------------------------------------------- rendering
  function renderScopeLine() {
    const unit = state.unit ? unitName(state.unit) : t("scope.all");
    const level = state.level ? ` (${levelName(state.level)})` : "";
    $("#scope-line").textContent = `${unit}${level} · ${fmtDay(state.from)} – ${fmtDay(state.to)}`;
  }

  function renderTiles(row) {
    const box = $("#tiles");
    box.replaceChildren(
      ...TILES.map((id) => {
        const { value, num, den } = figure(row || {}, id);
        const lower = Boolean(INDICATORS[id].lowerIsBetter);
        const width = value === null ? 0 : Math.max(0, Math.min(1, value)) * 100;
        return el(
          "article",
          {
            class: `tile tile-${id}${lower ? " tile-lower" : ""}`,
            "data-indicator": id,
            "aria-labelledby": `tile-title-${id}`,
            style: `--accent:${RATE_COLORS[id]}`,
          },
          el("h3", { id: `tile-title-${id}`, class: "tile-title", text: t(`tile.${id}`) }),
          el("p", { class: "tile-value", "data-role": "value" }, fmtPct(value)),
          el(
            "div",
            { class: "tile-bar", "aria-hidden": "true" },
            el("span", { style: `width:${width.toFixed(2)}%` }),
          ),
          el(
            "p",
            { class: "tile-ratio" },
            el("strong", { "data-role": "numerator" }, fmtInt(num)),
            " / ",
            el("strong", { "data-role": "denominator" }, fmtInt(den)),
            " ",
            den > 0 ? t("tile.dossiers") : `${t("tile.dossiers")} (${t("tile.noData")})`,
          ),
          el("p", { class: "tile-hint", text: t(`tile.${id}.hint`) }),
          lower ? el("p", { class: "tile-note", text: `↓ ${t("tile.lowerBetter")}` }) : null,
        );
      }),
      renderScoreTile(state.data ? state.data.scorecard : null),
    );
  }

  /* The Decision 766 score beside the rates, for the same unit, level and period: the row of
   * GET /metrics/scorecard as it is sent (points, max_points and each indicator's figures; the
   * formulas are the service's). Its 2.1 is the portal's on time, not the on_time_rate tile. */
  function renderScoreTile(card) {
    const failed = card instanceof Error;
    const row = card && !failed ? card : {};
    const indicators = Array.isArray(row.indicators) ? row.indicators : [];
    const scored = indicators.some((i) => typeof i.points === "number");
    const tile = el(
      "article",
      {
        class: "tile tile-score",
        "data-indicator": "score",
        "aria-labelledby": "tile-title-score",
        style: "--accent:#b35c00",
      },
      el("h3", { id: "tile-title-score", class: "tile-title", text: t("score.title") }),
      el(
        "p",
        { class: "tile-value", "data-role": "value" },
        el("span", { "data-role": "total", "data-points": scored ? String(row.points) : null }, scored ? fmtPoints(row.points) : "—"),
        el("span", { class: "tile-score-max" }, " / ", el("span", { "data-role": "maximum" }, scored ? fmtPoints(row.max_points) : "—")),
      ),
      el("p", {
        class: "tile-hint",
        text: failed ? t("score.failed") : scored ? t("score.hint", { max: fmtPoints(row.max_points) }) : t("score.none"),
      }),
    );
    if (indicators.length) {
      const body = el("tbody");
      for (const i of indicators) {
        const label = t(`score.key.${i.key}`);
        const vars = { max: fmtPoints(i.max_points), threshold: fmtPct(i.threshold) };
        const rule = typeof i.threshold === "number" ? t("score.threshold", vars) : t("score.linear", vars);
        body.append(
          el(
            "tr",
            { "data-key": i.key, title: rule },
            el("th", { scope: "row", text: label === `score.key.${i.key}` ? `${i.number} ${i.name}` : label }),
            el(
              "td",
              { class: "num", "data-role": "rate" },
              `${fmtPct(i.rate)} (${fmtInt(n(i.numerator))}/${fmtInt(n(i.denominator))})`,
            ),
            el(
              "td",
              { class: "num", "data-role": "points" },
              `${fmtPoints(i.points)} / ${fmtPoints(i.max_points)}`,
            ),
          ),
        );
      }
      tile.append(
        el(
          "table",
          { class: "score-table" },
          el("caption", { class: "visually-hidden", text: t("score.caption") }),
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { scope: "col", text: t("score.indicator") }),
              el("th", { scope: "col", class: "num", text: t("score.rate") }),
              el("th", { scope: "col", class: "num", text: t("score.points") }),
            ),
          ),
          body,
        ),
      );
    }
    return tile;
  }

  function renderTotals(row) {
    const r = row || {};
    const payment = figure(r, "online_payment_rate");
    const signed = figure(r, "result_signed_rate");
    const items = [
      ["totals.received", fmtInt(n(r.received))],
      ["totals.resolved", fmtInt(n(r.resolved))],
      ["totals.in_progress", fmtInt(n(r.in_progress))],
      ["totals.overdue_open", fmtInt(n(r.in_progress_overdue))],
      ["totals.p50", t("totals.days", { days: fmtDays(r.processing_days_p50) })],
      ["totals.p90", t("totals.days", { days: fmtDays(r.processing_days_p90) })],
      ["totals.payment", `${fmtPct(payment.value)} (${fmtInt(payment.num)}/${fmtInt(payment.den)})`],
      ["totals.signed", `${fmtPct(signed.value)} (${fmtInt(signed.num)}/${fmtInt(signed.den)})`],
    ];
    $("#totals").replaceChildren(
      ...items.map(([key, value]) =>
        el("div", { class: "total", "data-total": key.split(".")[1] }, el("dt", { text: t(key) }), el("dd", { text: value })),
      ),
    );
  }

  /** The month a trend row belongs to: the API's bucket key, "YYYY-MM". */
  const monthKey = (row) => String(row.period || "").slice(0, 7);

  function chartLayout(extra) {
    return {
      margin: { t: 8, r: 12, b: 44, l: 52 },
      height: 300,
      font: { family: "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', Arial, sans-serif", size: 13, color: "#1f2a37" },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      separators: state.lang === "vi" ? ",." : ".,",
      legend: { orientation: "h", y: -0.18, x: 0 },
      xaxis: { type: "category", tickfont: { size: 12 }, fixedrange: true },
      hovermode: "x unified",
      ...extra,
    };
  }

  /* plotly.js (~1.4 MB gzipped) loads `async`: the tiles and tables do not wait for it, and
   * the charts are drawn as soon as it is there. */
  const plotlyReady = new Promise((resolve, reject) => {
    if (window.Plotly) return resolve(window.Plotly);
    const script = document.getElementById("plotly-bundle");
    if (!script) return reject(new Error("no chart library"));
    script.addEventListener("load", () => (window.Plotly ? resolve(window.Plotly) : reject()));
    script.addEventListener("error", () => reject(new Error("chart library failed")));
  });

  function renderCharts(rows) {
    const version = ++state.chartVersion;
    if (!rows) {
      clearCharts();
      return;
    }
    plotlyReady.then(
      () => {
        if (version !== state.chartVersion) return; // a newer render is on its way
        drawCharts(rows);
        document.body.dataset.charts = "ready";
      },
      () => {
        $("#chart-intake").textContent = t("chart.unavailable");
        $("#chart-rates").textContent = "";
        document.body.dataset.charts = "unavailable";
      },
    );
  }

  /** Both charts emptied (no stale figures under a new label). */
  function clearCharts() {
    for (const id of ["#chart-intake", "#chart-rates"]) {
      const node = $(id);
      if (window.Plotly) window.Plotly.purge(node);
      node.replaceChildren();
      node.removeAttribute("data-empty");
    }
    delete document.body.dataset.charts;
  }

  /** A chart with nothing to draw says so instead of drawing axes around nothing. */
  function emptyChart(node) {
    if (window.Plotly) window.Plotly.purge(node);
    node.replaceChildren(el("p", { class: "chart-empty", text: t("chart.empty") }));
    node.dataset.empty = "true";
  }

  /* Each rate line has its own colour, dash and marker, and the thinner ones are drawn on
   * top: two lines at the same height (fully digitized and digitized results, both near
   * 100 %) stay visible. */
  const LINE_STYLES = {
    result_digitized_rate: { width: 6, dash: "solid", symbol: "circle-open", size: 11 },
    online_rate: { width: 3, dash: "solid", symbol: "circle", size: 7 },
    on_time_rate: { width: 3, dash: "solid", symbol: "square", size: 7 },
    overdue_rate: { width: 3, dash: "dot", symbol: "diamond", size: 8 },
    fully_digitized_rate: { width: 2, dash: "dash", symbol: "triangle-up", size: 8 },
  };

  function drawCharts(rows) {
    const intake = $("#chart-intake");
    const rates = $("#chart-rates");
    const months = rows.map(monthKey);
    const labels = months.map(fmtMonth);
    const config = { displayModeBar: false, responsive: true, staticPlot: false };
    const most = Math.max(0, ...rows.map((r) => n(r.received)));
    if (most === 0) {
      emptyChart(intake);
    } else {
      intake.removeAttribute("data-empty");
      if (intake.querySelector(".chart-empty")) intake.replaceChildren();
      const channel = (key, name, color) => ({
        type: "bar",
        name,
        x: labels,
        y: rows.map((r) => n(r[key])),
        marker: { color },
        hovertemplate: "%{y:,d}<extra>" + name + "</extra>",
      });
      window.Plotly.react(
        intake,
        [
          channel("received_online", t("chart.online"), "#0b62c4"),
          channel("received_direct", t("chart.direct"), "#9aa9bb"),
          channel("received_postal", t("chart.postal"), "#d8a31a"),
          channel("received_channel_unknown", t("chart.unknown"), "#c9ced6"),
        ].filter((trace) => trace.y.some((v) => v > 0) || trace.name === t("chart.online")),
        chartLayout({
          barmode: "stack",
          legend: { orientation: "h", y: -0.18, x: 0, traceorder: "normal" },
          // counts are whole: never ticks of 0.2 rounded to "1, 1, 1, 0, 0, 0"
          yaxis: {
            rangemode: "tozero",
            tickformat: ",d",
            dtick: most < 5 ? 1 : undefined,
            range: most < 5 ? [0, most + 0.5] : undefined,
            gridcolor: "#e3e8ef",
            fixedrange: true,
          },
        }),
        config,
      );
    }
    const line = (id) => ({
      type: "scatter",
      mode: "lines+markers",
      name: t(`ind.${id}`),
      meta: id,
      x: labels,
      y: rows.map((r) => {
        const v = figure(r, id).value;
        return v === null ? null : Math.round(v * 10000) / 100;
      }),
      line: { color: RATE_COLORS[id], width: LINE_STYLES[id].width, dash: LINE_STYLES[id].dash },
      marker: { size: LINE_STYLES[id].size, symbol: LINE_STYLES[id].symbol, color: RATE_COLORS[id] },
      connectgaps: false,
      hovertemplate: "%{y:.2f}%<extra>" + t(`ind.${id}`) + "</extra>",
    });
    // a rate over zero dossiers is no point at all (null), not 0 % or 100 %
    const traces = Object.keys(LINE_STYLES).map(line);
    if (!traces.some((trace) => trace.y.some((v) => v !== null))) {
      emptyChart(rates);
      return;
    }
    rates.removeAttribute("data-empty");
    if (rates.querySelector(".chart-empty")) rates.replaceChildren();
    window.Plotly.react(
      rates,
      traces,
      chartLayout({
        yaxis: { range: [0, 105], ticksuffix: "%", gridcolor: "#e3e8ef", fixedrange: true },
        legend: { orientation: "h", y: -0.18, x: 0, font: { size: 12 } },
        margin: { t: 8, r: 12, b: 70, l: 52 },
        height: 320,
      }),
      config,
    );
  }

  /** The same monthly figures as the charts, as a table (for screen readers, and exact values). */
  function renderMonthlyTable(rows) {
    const ids = TILES;
    if (!rows) {
      $("#monthly-table thead tr").replaceChildren();
      $("#monthly-table tbody").replaceChildren();
      return;
    }
    $("#monthly-caption").textContent = t("trends.table");
    $("#monthly-table thead tr").replaceChildren(
      el("th", { scope: "col", text: t("monthly.month") }),
      el("th", { scope: "col", class: "num", text: t("monthly.received") }),
      el("th", { scope: "col", class: "num", text: t("chart.online") }),
      el("th", { scope: "col", class: "num", text: t("chart.direct") }),
      el("th", { scope: "col", class: "num", text: t("chart.postal") }),
      ...ids.map((id) => el("th", { scope: "col", class: "num", text: t(`tile.${id}`) })),
    );
    $("#monthly-table tbody").replaceChildren(
      ...rows.map((row) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: fmtMonth(monthKey(row)) }),
          ...["received", "received_online", "received_direct", "received_postal"].map((key) =>
            el("td", { class: "num", text: fmtInt(n(row[key])) }),
          ),
          ...ids.map((id) => {
            const { value, num, den } = figure(row, id);
            return el("td", { class: "num", title: `${fmtInt(num)} / ${fmtInt(den)}` }, fmtPct(value));
          }),
        ),
      ),
    );
    labelCells($("#monthly-table"));
  }

  /** Each cell carries its column's header as data-label: on a phone a row is shown as a
   * card of "label: value" lines instead of a table wider than the screen. */
  function labelCells(table) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (heads[i]) cell.setAttribute("data-label", heads[i]);
      });
    }
  }

  /** The monthly figures as CSV: for leaders (headers in the page's language, rates as
   * percentages, `lang=`), or the machine CSV (snake_case headers, fractions). */
  async function downloadCsv(forLeaders) {
    const params = new URLSearchParams({ from: state.from, to: state.to, period: "month", format: "csv" });
    if (forLeaders) params.set("lang", state.lang);
    if (state.unit) params.set("unit", state.unit);
    if (state.level) params.set("level", state.level);
    if (state.lineage) params.set("lineage", "true");
    try {
      const response = await fetch(`${API}/metrics/summary?${params}`, {
        headers: { Authorization: `Bearer ${state.token}` },
      });
      if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
      const blob = await response.blob();
      const link = el("a", {
        href: URL.createObjectURL(blob),
        download: `onestop-${state.unit || "all"}-${state.from}-${state.to}${forLeaders ? `-${state.lang}` : ""}.csv`,
      });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (err) {
      notice("error", describe(err));
    }
  }

  function renderRanking(result, loaded) {
    const body = $("#ranking-table tbody");
    const empty = $("#ranking-empty");
    const table = $("#ranking-table");
    body.replaceChildren();
    if (!loaded) {
      table.hidden = true;
      empty.hidden = true;
      return;
    }
    const level = childLevel();
    const lower =
      result && typeof result.lower_is_better === "boolean"
        ? result.lower_is_better
        : Boolean(INDICATORS[state.indicator].lowerIsBetter);
    $("#ranking-caption").textContent = t("ranking.caption", {
      indicator: t(`ind.${state.indicator}`) + (lower ? ` (${t("ranking.lowerBetter")})` : ""),
      level: level ? levelName(level) : "—",
    });
    const note = $("#ranking-note");
    note.hidden = !lower;
    note.textContent = `↓ ${t("tile.lowerBetter")}`;
    if (!level) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = t("ranking.noChildren");
      return;
    }
    if (result instanceof Error) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = describe(result);
      return;
    }
    const rows = (result && result.rows) || [];
    if (!rows.length) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = t("ranking.noRows");
      return;
    }
    table.hidden = false;
    empty.hidden = true;
    for (const row of rows) {
      const value = typeof row.value === "number" ? row.value : null;
      const width = value === null ? 0 : Math.max(0, Math.min(1, value)) * 100;
      const name = row.unit_name || unitName(row.unit_code);
      body.append(
        el(
          "tr",
          { "data-unit": row.unit_code, class: "clickable" },
          el("td", { class: "num rank" }, row.rank ?? "—"),
          el(
            "td",
            {},
            // a real link (opens in a new tab too); a click is a drill-down into that unit
            el(
              "a",
              {
                class: "unit-name row-link",
                href: urlOf({ ...state, unit: row.unit_code, level: "", dossier: "" }),
                "data-drill-unit": row.unit_code,
                title: t("ranking.open", { unit: name }),
              },
              name,
            ),
            el("span", { class: "unit-code", text: row.unit_code }),
          ),
          el(
            "td",
            { class: "num" },
            el("span", { class: "cell-bar", "aria-hidden": "true" },
              el("span", { style: `width:${width.toFixed(1)}%;background:${RATE_COLORS[state.indicator] || "#0b62c4"}` })),
            el("strong", { text: fmtPct(value) }),
          ),
          el("td", { class: "num muted" }, `${fmtInt(n(row.numerator))} / ${fmtInt(n(row.denominator))}`),
        ),
      );
    }
    labelCells(table);
  }

  function renderOverdue(result, loaded) {
    const body = $("#overdue-table tbody");
    const empty = $("#overdue-empty");
    const table = $("#overdue-table");
    const count = $("#overdue-count");
    $("#overdue-caption").textContent = t("overdue.caption");
    body.replaceChildren();
    count.textContent = "";
    if (!loaded) {
      table.hidden = true;
      empty.hidden = true;
      return;
    }
    if (result instanceof Error) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = describe(result);
      return;
    }
    const rows = (result && result.items) || [];
    const total = result && typeof result.total === "number" ? result.total : rows.length;
    count.textContent = fmtInt(total);
    if (!rows.length) {
      table.hidden = true;
      empty.hidden = false;
      empty.textContent = t("overdue.none");
      return;
    }
    table.hidden = false;
    empty.hidden = total <= rows.length;
    empty.textContent = t("overdue.more", { shown: fmtInt(rows.length), total: fmtInt(total) });
    for (const row of rows) {
      body.append(
        el(
          "tr",
          { "data-dossier": row.dossier_code, class: "clickable" },
          el(
            "td",
            {},
            el(
              "a",
              {
                class: "mono row-link",
                href: urlOf({ ...state, dossier: row.dossier_code }),
                "data-open-dossier": row.dossier_code,
                title: t("overdue.open", { code: row.dossier_code }),
              },
              row.dossier_code,
            ),
            el("span", { class: "sub" }, `${t("overdue.received")} ${fmtTimestampDay(row.received_at)}`),
          ),
          el("td", { text: row.unit_name || unitName(row.unit_code) }),
          el("td", { class: "nowrap", text: fmtTimestampDay(row.due_at) }),
          el("td", { class: "num late" }, fmtInt(n(row.working_days_overdue))),
        ),
      );
    }
    labelCells(table);
  }

  // ------------------------------------------------------------------ a dossier's timeline
  const WAIT_STATUSES = ["supplement_requested", "payment_requested"];
  const statusName = (status) => {
    const text = t(`status.${status}`);
    return text === `status.${status}` ? status : text;
  };
  const dayNumber = (iso) => Math.round(parseDay(iso).getTime() / 86400000);

  /** The due date's moves over the events in fold order: each event that sets a due date
   * other than the one in force. */
  function dueMoves(events) {
    const moves = [];
    let current = null;
    for (const event of events) {
      if (!event.due_at) continue;
      if (current !== null && new Date(event.due_at).getTime() === new Date(current).getTime()) continue;
      moves.push({ at: event.occurred_at, from: current, to: event.due_at });
      current = event.due_at;
    }
    return moves;
  }

  /** Waits on the citizen (CONTRACT "The national index"): from a supplement_requested or
   * payment_requested event to the next event of another status; a repeat of the same
   * status continues the wait. Days are calendar days between the local dates. */
  function waitIntervals(events) {
    const waits = [];
    let open = null;
    for (const event of events) {
      if (open && event.status !== open.status) {
        open.end = event.occurred_at;
        waits.push(open);
        open = null;
      }
      if (!open && WAIT_STATUSES.includes(event.status)) {
        open = { status: event.status, start: event.occurred_at, end: null };
      }
    }
    if (open) waits.push(open);
    return waits;
  }

  async function loadDossier(code) {
    if (state.dossierController) state.dossierController.abort();
    const controller = new AbortController();
    state.dossierController = controller;
    state.dossierView = { code, loading: true };
    renderDossierPanel();
    let view;
    try {
      const body = await api(`/dossiers/${encodeURIComponent(code)}`, {}, controller.signal);
      view = { code, body };
    } catch (err) {
      if (err.name === "AbortError") return;
      view = { code, error: err };
    }
    if (state.dossierController !== controller) return;
    state.dossierController = null;
    state.dossierView = view;
    renderDossierPanel();
  }

  /** The panel of state.dossier: its folded state, events in fold order, due date moves
   * and waits (GET /api/v1/dossiers/{code}); hidden when no dossier is open. */
  function renderDossierPanel() {
    const panel = $("#dossier-panel");
    const body = $("#dossier-body");
    if (!state.dossier || !state.token) {
      if (state.dossierController) state.dossierController.abort();
      state.dossierController = null;
      state.dossierView = null;
      panel.hidden = true;
      body.replaceChildren();
      delete panel.dataset.state;
      return;
    }
    const wasHidden = panel.hidden;
    panel.hidden = false;
    $("#dossier-code").textContent = state.dossier;
    const view = state.dossierView;
    if (!view || view.code !== state.dossier) {
      loadDossier(state.dossier);
      return;
    }
    if (wasHidden) panel.scrollIntoView({ block: "start" });
    if (view.loading) {
      panel.dataset.state = "loading";
      body.replaceChildren(el("p", { class: "empty", text: t("dossier.loading") }));
      return;
    }
    if (view.error) {
      panel.dataset.state = "error";
      const text =
        view.error.status === 404 ? t("dossier.notFound", { code: view.code }) : describe(view.error);
      body.replaceChildren(el("p", { class: "empty", text }));
      return;
    }
    panel.dataset.state = "ready";
    body.replaceChildren(...dossierParts(view.body));
    labelCells($("#dossier-events"));
  }

  function dossierParts(dossier) {
    const st = dossier.state || {};
    const events = dossier.events || [];
    const facts = [
      ["dossier.status", statusName(st.status)],
      ["dossier.unit", `${unitName(st.unit_code)} (${st.unit_code})`],
      ["dossier.procedure", st.procedure_code || "—"],
      ["dossier.channel", st.channel ? t(`channel.${st.channel}`) : "—"],
      ["dossier.received", fmtTimestamp(st.received_at)],
      ["dossier.due", fmtTimestamp(st.due_at)],
      ["dossier.resolved", fmtTimestamp(st.resolved_at)],
    ];
    const summary = el(
      "dl",
      { class: "dossier-facts" },
      ...facts.map(([key, value]) =>
        el("div", { class: "total" }, el("dt", { text: t(key) }), el("dd", { text: value })),
      ),
    );
    const moves = dueMoves(events);
    const moved = new Set(moves.slice(1).map((m) => m.at));
    const table = el(
      "table",
      { id: "dossier-events", class: "data-table" },
      el("caption", { class: "visually-hidden", text: t("dossier.events") }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col", text: t("dossier.at") }),
          el("th", { scope: "col", text: t("dossier.event") }),
          el("th", { scope: "col", text: t("dossier.unit") }),
          el("th", { scope: "col", text: t("dossier.due") }),
        ),
      ),
      el(
        "tbody",
        {},
        ...events.map((event) =>
          el(
            "tr",
            { "data-status": event.status },
            el("td", { class: "nowrap", text: fmtTimestamp(event.occurred_at) }),
            el(
              "td",
              {},
              el("strong", { text: statusName(event.status) }),
              el("span", { class: "sub mono", text: event.event_id }),
            ),
            el("td", { text: event.unit_code }),
            el(
              "td",
              { class: moved.has(event.occurred_at) && event.due_at ? "nowrap moved" : "nowrap" },
              event.due_at ? fmtTimestamp(event.due_at) : "",
            ),
          ),
        ),
      ),
    );
    const moveList = moves.length > 1
      ? el(
          "ul",
          { class: "dossier-list", "data-role": "due-moves" },
          ...moves.slice(1).map((m) =>
            el("li", {}, `${fmtTimestamp(m.at)}: `, t("dossier.dueMoved", {
              from: fmtTimestamp(m.from),
              to: fmtTimestamp(m.to),
            })),
          ),
        )
      : el("p", { class: "empty", "data-role": "due-moves", text: t("dossier.noDueMoves") });
    const waits = waitIntervals(events);
    const waitList = waits.length
      ? el(
          "ul",
          { class: "dossier-list", "data-role": "waits" },
          ...waits.map((w) => {
            const days = w.end ? dayNumber(zoneDay(w.end)) - dayNumber(zoneDay(w.start)) : null;
            return el(
              "li",
              {},
              el("strong", { text: statusName(w.status) }),
              `: ${fmtTimestamp(w.start)} – ${w.end ? fmtTimestamp(w.end) : t("dossier.waitOpen")}`,
              days === null ? "" : ` (${t("dossier.waitDays", { days: fmtInt(days) })})`,
            );
          }),
        )
      : el("p", { class: "empty", "data-role": "waits", text: t("dossier.noWaits") });
    return [
      summary,
      el("h3", { class: "dossier-sub", text: t("dossier.events") }),
      el("div", { class: "table-wrap" }, table),
      el(
        "div",
        { class: "dossier-cols" },
        el("div", {}, el("h3", { class: "dossier-sub", text: t("dossier.dueMoves") }), moveList),
        el("div", {}, el("h3", { class: "dossier-sub", text: t("dossier.waits") }), waitList),
      ),
    ];
  }

  /** Everything the figures show, from state.data; with no data every part is emptied, so
   * that after an error nothing of the previous view stays under the new label. */
  function renderAll() {
    renderScopeLine();
    const d = state.data;
    renderTiles(d ? d.summary : null);
    renderTotals(d ? d.summary : null);
    renderCharts(d ? d.monthly : null);
    renderMonthlyTable(d ? d.monthly : null);
    renderRanking(d ? d.ranking : null, Boolean(d));
    renderOverdue(d ? d.overdue : null, Boolean(d));
    renderDossierPanel();
  }

  /** Drop the figures on screen (an error, a bad date, no key). */
  function clearFigures() {
    state.data = null;
    renderAll();
  }

  // ---------------------------------------------------------------------------- loading
  /** What the figures on screen were loaded for: a view that differs only in its open
   * dossier (or language) needs no reload. */
  const viewKey = () =>
    JSON.stringify([state.token, state.unit, state.level, state.from, state.to, state.indicator]);

  async function refresh() {
    writeUrl();
    syncFilterControls();
    renderScopeLine();
    if (!state.token) {
      document.body.dataset.state = "needs-token";
      clearFigures();
      notice("info", t("notice.needToken"));
      return;
    }
    if (state.controller) state.controller.abort();
    if (state.from > state.to) {
      state.loadedKey = null;
      clearFigures();
      document.body.dataset.state = "invalid";
      notice("error", t("notice.badDates"));
      return;
    }
    const controller = new AbortController();
    state.controller = controller;
    const key = viewKey();
    document.body.dataset.state = "loading";
    document.body.setAttribute("aria-busy", "true");
    notice("info", t("notice.loading"));
    const period = { from: state.from, to: state.to, unit: state.unit };
    const lineage = state.lineage ? "true" : undefined;
    const counted = { ...period, level: state.level, lineage };
    const level = childLevel();
    // Ranking, overdue list or score failing alone must not blank the tiles: keep their error.
    const settle = (promise) => promise.catch((err) => err);
    try {
      const [summary, monthly, ranking, overdue, scorecard] = await Promise.all([
        api("/metrics/summary", counted, controller.signal),
        api("/metrics/summary", { ...counted, period: "month" }, controller.signal),
        level
          ? settle(
              api("/rankings", { ...period, indicator: state.indicator, level, lineage }, controller.signal),
            )
          : Promise.resolve(null),
        // Overdue *now*, whatever the receipt date: the list a leader urges units with.
        settle(api("/dossiers", { state: "overdue", unit: state.unit, page_size: 50 }, controller.signal)),
        settle(api("/metrics/scorecard", counted, controller.signal)),
      ]);
      if (controller.signal.aborted) return;
      for (const part of [ranking, overdue, scorecard]) if (part && part.name === "AbortError") return;
      state.data = {
        summary: (summary.rows && summary.rows[0]) || {},
        monthly: monthly.rows || [],
        ranking,
        overdue,
        scorecard: scorecard instanceof Error ? scorecard : (scorecard.rows && scorecard.rows[0]) || null,
      };
      state.loadedKey = key;
      renderAll();
      const failed = [ranking, overdue, scorecard].filter((p) => p instanceof Error);
      if (failed.length) notice("warn", t("notice.partial", { detail: failed.map(describe).join(" ") }));
      else if (isEmptyPeriod(state.data.summary)) await explainEmptyPeriod(controller);
      else notice(null);
      if (controller.signal.aborted) return;
      document.body.dataset.state = "ready";
    } catch (err) {
      if (err.name === "AbortError") return;
      state.loadedKey = null;
      clearFigures();
      notice("error", describe(err));
      document.body.dataset.state = "error";
    } finally {
      if (state.controller === controller) {
        state.controller = null;
        document.body.removeAttribute("aria-busy");
      }
    }
  }

  /** Nothing received, resolved or open in the period: not a row of zero rates. */
  const isEmptyPeriod = (row) =>
    n(row.received) === 0 && n(row.resolved) === 0 && n(row.in_progress) === 0;

  /** Say that the period is empty, where the unit's data lies, and offer to go there. */
  async function explainEmptyPeriod(controller) {
    let coverage = state.coverage;
    if (!coverage || coverage.unit !== (state.unit || null)) {
      try {
        coverage = await api("/metrics/coverage", { unit: state.unit }, controller.signal);
        state.coverage = coverage;
      } catch (err) {
        if (err.name === "AbortError") return;
        coverage = null;
      }
    }
    let text = t("notice.noData");
    let action = null;
    if (coverage && coverage.last_received) {
      text += " " + t("notice.dataRange", {
        first: fmtDay(coverage.first_received),
        last: fmtDay(coverage.last_received),
      });
      action = {
        label: t("notice.jump"),
        run: () => navigate({ from: coverage.suggested_from, to: coverage.suggested_to }),
      };
    }
    notice("info", text, action);
  }

  async function start() {
    if (!state.token) {
      await refresh();
      $("#token-input").focus();
      return;
    }
    try {
      await loadUnits();
      if (!state.from) [state.from, state.to] = await defaultPeriod();
    } catch (err) {
      clearFigures();
      notice("error", describe(err));
      document.body.dataset.state = "error";
      if (err.status === 401 || err.status === 403) $("#token-input").focus();
      return;
    }
    await refresh();
  }

  /** Back and Forward: show the view of that history entry. */
  async function onPopState() {
    readUrl();
    applyLanguage();
    if (state.index.size && !state.index.has(state.unit)) state.unit = "";
    renderLevelOptions();
    syncFilterControls();
    if (!state.token) return refresh();
    if (!state.from) [state.from, state.to] = await defaultPeriod();
    renderDossierPanel();
    if (viewKey() !== state.loadedKey) await refresh();
    else renderAll();
  }

  // ----------------------------------------------------------------------------- events
  function wire() {
    $("#token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      state.token = $("#token-input").value.trim();
      if (state.token) window.localStorage.setItem(TOKEN_KEY, state.token);
      else window.localStorage.removeItem(TOKEN_KEY);
      renderTokenState();
      start();
    });
    $("#token-clear").addEventListener("click", () => {
      window.localStorage.removeItem(TOKEN_KEY);
      state.token = "";
      state.data = null;
      $("#token-input").value = "";
      renderTokenState();
      renderAll();
      refresh();
      $("#token-input").focus();
    });
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => {
        state.lang = button.dataset.lang;
        window.localStorage.setItem(LANG_KEY, state.lang);
        applyLanguage();
        writeUrl();
        renderAll();
        if (document.body.dataset.state === "needs-token") notice("info", t("notice.needToken"));
      });
    }
    $("#unit-select").addEventListener("change", (event) => {
      navigate({ unit: event.target.value, dossier: "" });
    });
    $("#lineage-toggle").addEventListener("change", (event) => {
      navigate({ lineage: event.target.checked });
    });
    $("#level-select").addEventListener("change", (event) => {
      navigate({ level: event.target.value });
    });
    for (const [id, key] of [["#from-date", "from"], ["#to-date", "to"]]) {
      $(id).addEventListener("change", (event) => onDateEntered(event.target, key));
    }
    $("#year-select").addEventListener("change", (event) => {
      const year = Number(event.target.value);
      const preset = activePreset() || "year";
      const [from, to] = presetRange(preset === "month" ? "year" : preset, year);
      navigate({ from, to });
    });
    for (const button of document.querySelectorAll("[data-preset]")) {
      button.addEventListener("click", () => {
        const year = Number($("#year-select").value) || Number(today().slice(0, 4));
        const [from, to] = presetRange(button.dataset.preset, year);
        navigate({ from, to });
      });
    }
    $("#csv-download").addEventListener("click", () => downloadCsv(true));
    $("#csv-machine").addEventListener("click", () => downloadCsv(false));
    $("#indicator-select").addEventListener("change", (event) => {
      navigate({ indicator: event.target.value });
    });
    // drill-down: a ranking row opens that unit, an overdue row the dossier's timeline
    $("#ranking-table").addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-unit]");
      if (!row || !plainClick(event)) return;
      event.preventDefault();
      navigate({ unit: row.dataset.unit, level: "", dossier: "" });
      $("#overview-title").scrollIntoView({ block: "start" });
    });
    $("#overdue-table").addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-dossier]");
      if (!row || !plainClick(event)) return;
      event.preventDefault();
      navigate({ dossier: row.dataset.dossier });
    });
    $("#dossier-close").addEventListener("click", () => navigate({ dossier: "" }));
    window.addEventListener("popstate", onPopState);
  }

  /** A click that the page handles itself (not one that opens a new tab or window). */
  const plainClick = (event) =>
    event.button === 0 && !event.ctrlKey && !event.metaKey && !event.shiftKey && !event.altKey;

  /** A typed date (dd/mm/yyyy): a valid one is a new view; anything else is said and the
   * figures of the previous period are taken off the screen. */
  function onDateEntered(input, key) {
    const text = input.value;
    if (!text.trim()) return;
    const iso = parseDmy(text);
    if (!iso) {
      if (state.controller) state.controller.abort();
      state.loadedKey = null;
      clearFigures();
      input.setAttribute("aria-invalid", "true");
      document.body.dataset.state = "invalid";
      notice("error", t("notice.badDate", { value: text.trim() }));
      return;
    }
    input.removeAttribute("aria-invalid");
    navigate({ [key]: iso });
  }

  function main() {
    readUrl();
    const handed = new URLSearchParams(window.location.hash.slice(1)).get("access_token");
    if (handed) {
      // a sign-in token handed back by the identity provider: keep it, drop it from the URL
      window.localStorage.setItem(TOKEN_KEY, handed);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    state.token = window.localStorage.getItem(TOKEN_KEY) || "";
    $("#token-input").value = state.token;
    applyLanguage();
    wire();
    renderAll();
    start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
  else main();
})();
