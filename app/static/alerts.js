// The "Alerts" panel: an admin's view of the alert subscriptions and their latest deliveries.
// Kept apart from app.js (the dashboard's own structure): it only reads the token app.js
// stores, and shows itself when that token may list subscriptions (admin scope).
(function () {
  "use strict";

  const TOKEN_KEY = "onestop.readToken";
  const LABELS = {
    vi: {
      title: "Cảnh báo tự động",
      sub: "Các đăng ký nhận cảnh báo (webhook, email) và lần gửi gần nhất.",
      unit: "Đơn vị", events: "Sự kiện", target: "Nơi nhận", pending: "Chờ gửi",
      dead: "Thất bại", last: "Lần gửi gần nhất", none: "Chưa có đăng ký nào.",
      all: "Tất cả đơn vị", never: "Chưa gửi", deliveries: "Các lần gửi",
      at: "Thời điểm", type: "Loại", dossier: "Hồ sơ", result: "Kết quả", next: "Thử lại lúc",
    },
    en: {
      title: "Alerts",
      sub: "Alert subscriptions (webhook, email) and their latest deliveries.",
      unit: "Unit", events: "Events", target: "Target", pending: "Pending",
      dead: "Dead", last: "Last delivery", none: "No subscriptions yet.",
      all: "All units", never: "Never sent", deliveries: "Deliveries",
      at: "At", type: "Type", dossier: "Dossier", result: "Result", next: "Retry at",
    },
  };

  function label(key) {
    const lang = document.documentElement.lang === "en" ? "en" : "vi";
    return LABELS[lang][key];
  }

  function node(tag, text, cls) {
    const element = document.createElement(tag);
    if (text !== undefined && text !== null) element.textContent = String(text);
    if (cls) element.className = cls;
    return element;
  }

  function when(value) {
    if (!value) return "—";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? value : date.toLocaleString(document.documentElement.lang || "vi");
  }

  function result(delivery) {
    if (!delivery) return label("never");
    return delivery.status_code ? `HTTP ${delivery.status_code}` : delivery.error || "—";
  }

  async function get(path) {
    const token = window.localStorage.getItem(TOKEN_KEY) || "";
    if (!token) return null;
    try {
      const response = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
      return response.ok ? await response.json() : null;
    } catch (err) {
      return null; // offline or refused: the panel stays hidden
    }
  }

  function table(headers, rows) {
    const wrap = node("div", null, "table-wrap");
    const element = node("table", null, "data-table");
    const head = element.createTHead().insertRow();
    for (const h of headers) head.append(node("th", h));
    const body = element.createTBody();
    for (const cells of rows) {
      const row = body.insertRow();
      for (const cell of cells) row.append(cell instanceof Node ? cell : node("td", cell));
    }
    wrap.append(element);
    return { wrap, body };
  }

  async function showDeliveries(panel, sub) {
    const data = await get(`/subscriptions/${encodeURIComponent(sub.id)}/deliveries?limit=20`);
    const old = panel.querySelector(".alerts-deliveries");
    if (old) old.remove();
    if (!data) return;
    const box = node("div", null, "alerts-deliveries");
    box.append(node("h3", `${label("deliveries")} — ${sub.unit || label("all")}`));
    const rows = data.items.map((d) => [
      when(d.at), d.type, d.dossier_code || "—", `${d.attempt}`,
      d.status_code ? `HTTP ${d.status_code}` : d.error || "—", when(d.next_attempt_at),
    ]);
    box.append(table([label("at"), label("type"), label("dossier"), "#", label("result"), label("next")], rows).wrap);
    panel.append(box);
  }

  async function render() {
    const panel = document.getElementById("alerts-panel");
    if (!panel) return;
    const data = await get("/subscriptions");
    if (!data) {
      panel.hidden = true;
      return;
    }
    panel.replaceChildren();
    const head = node("div", null, "section-head");
    head.append(node("h2", label("title")), node("p", label("sub"), "section-sub"));
    panel.append(head);
    if (!data.items.length) {
      panel.append(node("p", label("none"), "empty"));
    } else {
      const rows = data.items.map((s) => {
        const target = [s.url ? new URL(s.url).host : null, ...(s.emails || [])].filter(Boolean).join(", ");
        return [s.unit || label("all"), s.events.join(", "), target, `${s.pending}`, `${s.dead}`,
          s.last_delivery ? `${when(s.last_delivery.at)} · ${result(s.last_delivery)}` : label("never")];
      });
      const { wrap, body } = table(
        [label("unit"), label("events"), label("target"), label("pending"), label("dead"), label("last")], rows);
      Array.from(body.rows).forEach((row, i) => {
        row.tabIndex = 0;
        row.style.cursor = "pointer";
        row.addEventListener("click", () => showDeliveries(panel, data.items[i]));
        row.addEventListener("keydown", (event) => {
          if (event.key === "Enter") showDeliveries(panel, data.items[i]);
        });
      });
      panel.append(wrap);
    }
    panel.hidden = false;
  }

  function start() {
    const form = document.getElementById("token-form");
    if (form) form.addEventListener("submit", () => window.setTimeout(() => render().catch(() => {}), 0));
    for (const button of document.querySelectorAll("[data-lang]")) {
      button.addEventListener("click", () => window.setTimeout(() => render().catch(() => {}), 0));
    }
    render().catch(() => {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
