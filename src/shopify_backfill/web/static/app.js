// The partner page's only script: guard one-shot forms and follow live progress
// (the Braze delivery's figures included).
"use strict";

// A form marked data-once submits once: a double click cannot send it twice, and its
// button says "Working…" while the server works (a preview, a start, a resume: these
// take seconds). Without JavaScript the buttons simply submit.
// (The server refuses a second start anyway; this keeps the page calm.)
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
  if (form.dataset.sent === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.sent = "1";
  form.setAttribute("aria-busy", "true");
  // Disable after the submission has captured the button's value.
  setTimeout(() => {
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
      button.dataset.label = button.textContent;
      button.textContent = "Working…";
    }
  }, 0);
});

// Back to a page kept in the browser's cache: its buttons work again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-once][data-sent]")) {
    delete form.dataset.sent;
    form.removeAttribute("aria-busy");
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      if (button.dataset.label) button.textContent = button.dataset.label;
    }
  }
});

function formatNumber(value) {
  return value === null || value === undefined ? "?" : Number(value).toLocaleString("en-US");
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "estimating…";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

function showProgress(section, view) {
  const set = (selector, text) => {
    const node = section.querySelector(selector);
    if (node) node.textContent = text;
  };
  set("[data-phase]", view.phase_label);
  for (const kind of ["customers", "orders"]) {
    const figures = view[kind];
    const bar = section.querySelector(`[data-bar="${kind}"]`);
    if (bar) {
      const value = figures.total ? Math.min(figures.done, figures.total) : 0;
      const share = figures.total ? Math.min(100, Math.floor((100 * figures.done) / figures.total)) : 0;
      bar.max = figures.total || 1;
      bar.value = value;
      bar.textContent = `${share}%`;
      bar.setAttribute("aria-valuemax", String(figures.total || 1));
      bar.setAttribute("aria-valuenow", String(value));
      bar.setAttribute("aria-valuetext", figures.total
        ? `${formatNumber(figures.done)} of ${formatNumber(figures.total)} ${kind} (${share}%)`
        : `${formatNumber(figures.done)} ${kind}, total not known yet`);
    }
    set(`[data-count="${kind}"]`, `${formatNumber(figures.done)} / ${formatNumber(figures.total)}`);
  }
  set("[data-rate]", view.records_per_second === null ? "measuring…" : `${Number(view.records_per_second).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })} records/s`);
  set("[data-eta]", formatDuration(view.eta_seconds));
  set("[data-points]", formatNumber(view.data_points));
  if (view.profiles) set("[data-profiles]", `${formatNumber(view.profiles.total)} so far`);
  const parallel = view.parallel;
  set("[data-parallel]", parallel
    ? `Split into ${formatNumber(parallel.parts)} parts run side by side: ${formatNumber(parallel.parts_done)} done, ` +
      `${formatNumber(parallel.running)} running; ${formatNumber(parallel.read.customers)} customers and ` +
      `${formatNumber(parallel.read.orders)} orders read from Shopify so far.` : "");
  const braze = view.braze;
  if (braze) {
    set('[data-braze="sent"]', formatNumber(braze.sent_requests));
    set('[data-braze="pending"]', formatNumber(braze.pending_requests + braze.sending_requests));
    set('[data-braze="objects"]', formatNumber(braze.objects_sent));
    set('[data-braze="uncertain"]', formatNumber(braze.uncertain_requests));
    set('[data-braze="rejected"]', formatNumber(braze.rejected_requests));
  }
  const bulk = view.bulk;
  set("[data-bulk]", bulk && view.phase.startsWith("extracting")
    ? `Shopify is preparing the ${bulk.kind} file: ${bulk.status} (${formatNumber(bulk.objects)} objects).` : "");
}

function followProgress() {
  const section = document.querySelector("[data-events-url]");
  if (!section || !("EventSource" in window)) return;
  const source = new EventSource(section.getAttribute("data-events-url"));
  source.addEventListener("progress", (event) => showProgress(section, JSON.parse(event.data)));
  source.addEventListener("end", () => {
    source.close();
    // Reload without the one-time notice ("started"), to show the report or the failure.
    window.location.replace(window.location.pathname);
  });
}

document.addEventListener("DOMContentLoaded", followProgress);
