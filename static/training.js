// Background jobs on the admin pages, live: every job card ([data-job-api]) polls its
// JSON state once a second and shows the state, the progress and the message. When a job
// ends, the page's own URL is fetched again and its live parts ([data-live] with an id:
// the job card, the report, the active model, the recent jobs) are swapped in, so the
// report appears without a reload. Cancel goes through the API. Without JavaScript the
// pages still work: reload to see progress, Cancel is a plain form.
"use strict";

(() => {
  const POLL_MS = 1000;
  const watched = new Set();

  function setField(card, name, value) {
    const element = card.querySelector(`[data-field="${name}"]`);
    if (element) element.textContent = value ?? "";
    return element;
  }

  function show(card, job) {
    card.dataset.jobStatus = job.status;
    const status = setField(card, "status", job.status);
    if (status) status.className = `job-status ${job.status}`;
    setField(card, "percent", `${Math.round(100 * job.progress)}%`);
    setField(card, "message", job.cancel_requested && !job.finished ? "cancelling…" : job.message);
    const bar = card.querySelector("progress");
    if (bar) bar.value = job.progress;
    const error = setField(card, "error", job.error);
    if (error) error.hidden = !job.error;
    const waiting = setField(card, "waiting", job.waiting);
    if (waiting) waiting.hidden = !job.waiting;
  }

  async function refreshLiveParts() {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const part of document.querySelectorAll("[data-live][id]")) {
      const replacement = fresh.getElementById(part.id);
      if (replacement) part.replaceWith(document.importNode(replacement, true));
    }
    start();
  }

  function watch(card) {
    if (watched.has(card.id)) return;
    const finished = !["queued", "running"].includes(card.dataset.jobStatus);
    if (finished) return;
    watched.add(card.id);
    let failures = 0;

    async function poll() {
      try {
        const response = await fetch(card.dataset.jobApi, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        if (response.status === 401) {
          window.location.reload(); // logged out: the page sends to the login form
          return;
        }
        const job = await response.json();
        if (!response.ok) throw new Error(job.error || `${response.status}`);
        failures = 0;
        show(card, job);
        if (job.finished) {
          watched.delete(card.id);
          await refreshLiveParts();
          return;
        }
      } catch (error) {
        failures += 1;
        setField(card, "message", `(cannot reach the server: ${error.message}; retrying)`);
      }
      setTimeout(poll, POLL_MS * Math.min(10, 1 + failures));
    }

    const cancel = card.querySelector("form.job-cancel");
    if (cancel) {
      cancel.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = cancel.querySelector("button");
        button.disabled = true;
        const response = await fetch(card.dataset.cancelApi, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": card.dataset.csrf, Accept: "application/json" },
        });
        const job = await response.json().catch(() => null);
        if (job && response.ok) show(card, job);
        else setField(card, "message", (job && job.error) || "could not cancel");
      });
    }
    setTimeout(poll, POLL_MS);
  }

  function start() {
    document.querySelectorAll("[data-job-api][id]").forEach(watch);
  }

  start();
})();
