// Keyboard-first coding for the secprio review workspace. No inline handlers: the CSP forbids
// them. A card is one sentence; the toggles say which categories apply; Enter stores them.
"use strict";
(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const area = document.querySelector("section.coding");
  if (!area) return;
  const cards = () => Array.from(area.querySelectorAll("article.card"));
  const undoStack = [];
  let current = null;

  function toggles(card) { return Array.from(card.querySelectorAll("button.tog")); }

  function show(card, on) {
    const set = new Set(on);
    toggles(card).forEach((b) => b.setAttribute("aria-pressed", String(set.has(b.dataset.cat))));
  }

  function select(card) {
    if (!card) return;
    if (current) current.classList.remove("current");
    current = card;
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function status(card, text, kind) {
    const s = card.querySelector(".status");
    if (!s) return;
    s.textContent = text;
    s.className = "status" + (kind ? " " + kind : "");
  }

  function next(card, undecidedOnly) {
    const all = cards();
    for (let i = all.indexOf(card) + 1; i < all.length; i++) {
      if (!undecidedOnly || !all[i].classList.contains("decided")) return all[i];
    }
    return all[all.indexOf(card) + 1] || card;
  }

  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: "the server's answer was not JSON" }; }
    return { ok: res.ok, status: res.status, data };
  }

  function applied(card) {
    return toggles(card).filter((b) => b.getAttribute("aria-pressed") === "true").map((b) => b.dataset.cat);
  }

  async function save(card, labels) {
    if (!card.querySelector(".tools")) return;
    show(card, labels);
    status(card, "saving…", "");
    const memo = card.querySelector(".memo");
    const body = {
      segment: Number(card.dataset.seg),
      labels,
      version: Number(card.dataset.version),
      memo: memo ? memo.value : "",
      queue: area.dataset.queue || "reader",
    };
    if (area.dataset.assignment) body.assignment = Number(area.dataset.assignment);
    const r = await post(area.dataset.api, body);
    if (r.ok) {
      card.dataset.version = String(r.data.version);
      card.dataset.on = labels.join(" ");
      card.classList.add("decided");
      card.classList.remove("conflict");
      undoStack.push({ card, version: r.data.version });
      status(card, "saved (v" + r.data.version + ")", "ok");
      select(next(card, true));
    } else if (r.status === 409) {
      card.classList.add("conflict");
      status(card, "conflict: decided elsewhere meanwhile (v" + r.data.current + "); reload to see it", "error");
    } else {
      status(card, r.data.error || "error " + r.status, "error");
    }
  }

  async function undo() {
    const last = undoStack.pop();
    if (!last) return;
    const card = last.card;
    const body = { segment: Number(card.dataset.seg), version: last.version };
    if (area.dataset.assignment) body.assignment = Number(area.dataset.assignment);
    const api = area.dataset.api === "/api/adjudicate" ? null : "/api/undo";
    if (!api) { status(card, "undo: change the toggles and press Enter again", ""); return; }
    const r = await post(api, body);
    if (r.ok) {
      card.dataset.version = String(r.data.version);
      show(card, r.data.labels);
      if (!r.data.labels.length) card.classList.remove("decided");
      status(card, "undone (v" + r.data.version + ")", "ok");
      select(card);
    } else {
      status(card, r.data.error || "error " + r.status, "error");
    }
  }

  cards().forEach((card) => {
    show(card, (card.dataset.on || "").split(" ").filter(Boolean));
    card.addEventListener("click", (e) => {
      select(card);
      const b = e.target.closest("button");
      if (!b) return;
      if (b.classList.contains("tog")) {
        b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
      } else if (b.dataset.act === "accept") save(card, applied(card));
      else if (b.dataset.act === "reject") save(card, []);
      else if (b.dataset.act === "skip") select(next(card, false));
    });
  });
  select(cards().find((c) => !c.classList.contains("decided")) || cards()[0]);

  document.addEventListener("keydown", (e) => {
    if (!current || e.ctrlKey || e.metaKey || e.altKey) return;
    const typing = e.target.matches("input, textarea, select");
    if (typing) {
      if (e.key === "Escape" || e.key === "Enter") { e.target.blur(); current.focus(); }
      if (e.key === "Enter") { e.preventDefault(); save(current, applied(current)); }
      return;
    }
    const k = e.key;
    if (/^[0-9]$/.test(k)) {
      const b = toggles(current)[(Number(k) + 9) % 10];
      if (b) b.setAttribute("aria-pressed", String(b.getAttribute("aria-pressed") !== "true"));
    } else if (k === "Enter" || k === "a") save(current, applied(current));
    else if (k === "x" || k === "r") save(current, []);
    else if (k === "s" || k === "j" || k === "ArrowDown") select(next(current, false));
    else if (k === "k" || k === "ArrowUp") {
      const all = cards();
      select(all[Math.max(0, all.indexOf(current) - 1)]);
    } else if (k === "u" || k === "z") undo();
    else if (k === "m") { const m = current.querySelector(".memo"); if (m) m.focus(); }
    else return;
    e.preventDefault();
  });
})();
