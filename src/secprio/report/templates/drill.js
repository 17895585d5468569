(function () {
  "use strict";
  const EVIDENCE = JSON.parse(document.getElementById("evidence").textContent);
  const LABELS = JSON.parse(document.getElementById("labels").textContent);
  const panel = document.getElementById("drill");
  const body = document.getElementById("drill-body");
  function esc(s) { return String(s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c])); }
  function highlight(rec, cat) {
    let out = "", pos = 0;
    for (const [s, e, c] of rec.spans) {
      if (s < pos) continue;
      out += esc(rec.text.slice(pos, s));
      const strong = (c === cat) ? " style=\"background:#ffb347\"" : "";
      out += "<mark title=\"" + esc(LABELS[c] || c) + "\"" + strong + ">" + esc(rec.text.slice(s, e)) + "</mark>";
      pos = e;
    }
    return out + esc(rec.text.slice(pos));
  }
  function matches(rec, field, value) {
    if (!field || value === "All documents") return true;
    const v = rec[field];
    return Array.isArray(v) ? v.includes(value) : String(v) === String(value);
  }
  window.secprioDrill = function (cat, field, value, extra) {
    const hits = EVIDENCE.filter(r => (!cat || r.cats.includes(cat)) && matches(r, field, value)
      && (!extra || extra(r)));
    let html = "<h3>" + esc(LABELS[cat] || cat || "") + (value ? " · " + esc(value) : "") + "</h3>";
    html += "<p class=\"muted\">" + hits.length + " sentence(s)" + (hits.length > 200 ? ", first 200 shown" : "") + "</p>";
    for (const r of hits.slice(0, 200)) {
      html += "<div class=\"sent\"><div>" + highlight(r, cat) + "</div><div class=\"meta\">" +
        esc(r.doc) + " · " + esc(r.date) + " · " + esc(r.doc_type) + " · " + esc(r.issuer) + " · " + esc(r.language) +
        (r.url ? " · <span class=\"tag\">" + esc(r.url) + "</span>" : "") + "<br>" +
        r.cats.map(c => "<span class=\"tag\">" + esc(LABELS[c] || c) + "</span>").join("") + "</div></div>";
    }
    body.innerHTML = html;
    panel.classList.add("open");
  };
  document.addEventListener("click", function (ev) {
    const cell = ev.target.closest("[data-cat]");
    if (cell) { window.secprioDrill(cell.dataset.cat, cell.dataset.field, cell.dataset.value); }
  });
  // a link to a cell (the watch digest's, report/anchors.py) opens its sentences too
  function target() {
    const id = decodeURIComponent(location.hash.slice(1));
    const cell = id ? document.getElementById(id) : null;
    if (cell && cell.dataset.cat) {
      window.secprioDrill(cell.dataset.cat, cell.dataset.field, cell.dataset.value);
    }
  }
  window.addEventListener("hashchange", target);
  target();
  // on a phone the contents fold away above the report instead of taking its width
  const toc = document.getElementById("toc");
  if (toc && window.matchMedia("(max-width: 900px)").matches) { toc.open = false; }
  // printed, every folded figure and passage list is part of the page
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  document.getElementById("drill-close").addEventListener("click", () => panel.classList.remove("open"));
})();
