// Labelling without page reloads: one key or click per decision, saved at once through
// /api/admin/..., with the next crops already fetched and their images preloaded.
// Requests run one after another (a chain), so the server always sees the decisions in
// the order they were made, and an undo never overtakes the save it takes back.
// Keys pressed faster than crops arrive wait in a queue of their own (pending) and are
// applied, in order, to the crops as they come: none is dropped.
// Without JavaScript the same page works through plain form posts.
"use strict";

(() => {
  const LABEL_NAMES = { target: "Target", not_target: "Not target", not_face: "Not a face" };
  const KEYS = { "1": "target", "0": "not_target", x: "not_face", X: "not_face", " ": "skip",
    Backspace: "undo", f: "frame", F: "frame" };
  const PRELOAD = 2;

  function setupLabelling(root) {
    const $ = (id) => document.getElementById(id);
    const csrf = root.dataset.csrf;
    let current = JSON.parse($("crop-data").textContent);
    const queue = [];
    const saving = new Set(); // decided crops whose save has not finished: not to be fetched again
    const pending = []; // decisions waiting for a crop to apply to (keys faster than fetches)
    let loading = 0; // fetches of the next crops under way
    let undoing = false; // an undo is under way: what follows applies to the crop it brings back
    let exhausted = false; // the last fetch found no crop left to label
    let total = Number(root.dataset.total) || 0;
    let chain = Promise.resolve();

    function enqueue(task) {
      const result = chain.then(task);
      chain = result.catch(() => {});
      return result;
    }

    async function call(method, url, body) {
      const response = await fetch(url, {
        method,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (response.status === 401) {
        window.location.reload(); // logged out: the page sends to the login form
      }
      if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
      return data;
    }

    const cropUrl = (template, id) => template.replace("/0/", `/${id}/`);

    function say(message, isError) {
      const status = $("status");
      status.textContent = message;
      status.classList.toggle("error", Boolean(isError));
    }

    function showProgress(p) {
      if (!p) return;
      total = p.total;
      if (!current) showDone();
      $("progress-labelled").textContent = p.labelled;
      $("progress-total").textContent = p.total;
      for (const key of ["target", "not_target", "not_face", "unlabelled"]) {
        $(`count-${key}`).textContent = p[key];
      }
      $("progress-bar").max = p.total || 1;
      $("progress-bar").value = p.labelled;
    }

    function sourceText(crop) {
      if (crop.source === "video") {
        return `From ${crop.video_name} at ${crop.time} (frame ${crop.frame_index}) · crop ${crop.id}`;
      }
      return `Imported from the file ${crop.source_name} · crop ${crop.id}`;
    }

    // No crop to show: none at all yet (extract first), or every one labelled (retrain).
    function showDone() {
      $("no-crops").hidden = Boolean(current) || total > 0;
      $("all-done").hidden = Boolean(current) || total === 0;
    }

    function show(crop) {
      current = crop;
      root.dataset.cropId = crop ? crop.id : "";
      $("crop-view").hidden = !crop;
      $("crop-details").hidden = !crop;
      showDone();
      $("crop-id").value = crop ? crop.id : "";
      for (const button of root.querySelectorAll("button.decision")) {
        button.disabled = !crop && button.value !== "undo";
      }
      showFrame(false);
      $("frame-image").removeAttribute("src");
      if (!crop) return;
      $("crop-image").src = crop.image_url;
      $("crop-image").alt = `Face crop ${crop.id}`;
      $("crop-source").textContent = sourceText(crop);
      $("crop-label").hidden = !crop.label;
      $("crop-label-name").textContent = LABEL_NAMES[crop.label] || "";
      $("frame-link").hidden = !crop.frame_url;
      $("frame-link").href = crop.frame_url || "";
      $("frame-missing").hidden = !crop.frame_url || crop.frame_available;
    }

    function preload(crop) {
      const image = new Image();
      image.src = crop.image_url;
    }

    function refill() {
      loading += 1;
      return enqueue(async () => {
        while (queue.length < PRELOAD) {
          const ids = [current, ...queue].filter(Boolean).map((c) => c.id).concat([...saving]);
          const data = await call("GET", `${root.dataset.nextUrl}?exclude=${ids.join(",")}`);
          showProgress(data.progress);
          exhausted = !data.crop;
          if (!data.crop) {
            break;
          }
          queue.push(data.crop);
          preload(data.crop);
        }
        if (!current && queue.length) show(queue.shift());
      })
        .catch((error) => say(`Could not fetch the next crop: ${error.message}`, true))
        .finally(() => {
          loading -= 1;
          drain();
        });
    }

    function advance() {
      show(queue.length ? queue.shift() : null);
      refill();
    }

    function decide(label) {
      if (!current) return;
      const crop = current;
      saving.add(crop.id);
      enqueue(() => call("POST", cropUrl(root.dataset.labelUrl, crop.id), { label }))
        .finally(() => saving.delete(crop.id))
        .then((data) => {
          showProgress(data.progress);
          say(`Crop ${crop.id}: ${LABEL_NAMES[label]}.`);
        })
        .catch((error) => say(`Crop ${crop.id} was NOT saved: ${error.message}`, true));
      advance();
    }

    function skip() {
      if (!current) return;
      const crop = current;
      saving.add(crop.id);
      enqueue(() => call("POST", cropUrl(root.dataset.skipUrl, crop.id), {}))
        .finally(() => saving.delete(crop.id))
        .then(() => say(`Crop ${crop.id} skipped: it comes back at the end.`))
        .catch((error) => say(`Could not skip crop ${crop.id}: ${error.message}`, true));
      advance();
    }

    function undo() {
      undoing = true;
      enqueue(() => call("POST", root.dataset.undoUrl, {}))
        .then((data) => {
          if (current && current.id !== data.crop.id) queue.unshift(current);
          const again = queue.findIndex((c) => c.id === data.crop.id);
          if (again >= 0) queue.splice(again, 1);
          show(data.crop);
          showProgress(data.progress);
          say(data.message);
        })
        .catch((error) => say(error.message, true))
        .finally(() => {
          undoing = false;
          drain();
        });
    }

    // The whole frame takes the place of the target's picture, within the same height, so
    // the decision buttons stay where they are.
    function showFrame(open) {
      $("frame-view").hidden = !open;
      root.classList.toggle("frame-open", open);
    }

    function toggleFrame() {
      if (!current || !current.frame_url) return;
      if (!current.frame_available) {
        $("frame-missing").hidden = false;
        return;
      }
      const open = $("frame-view").hidden;
      if (open) $("frame-image").src = current.frame_url;
      showFrame(open);
    }

    // Apply the waiting decisions in order, each to the crop shown at its turn; wait while
    // the next crop or an undo is on its way.
    function drain() {
      while (pending.length && !undoing) {
        const decision = pending[0];
        if (decision === "undo") {
          pending.shift();
          undo();
          continue;
        }
        if (!current) {
          if (loading > 0) return; // the next crop is coming
          pending.length = 0; // no crop to apply them to (the fetch failed, or none is left)
          if (exhausted) say("Nothing left to label.");
          return;
        }
        pending.shift();
        if (decision === "skip") skip();
        else decide(decision);
      }
    }

    function act(decision) {
      if (decision === "frame") {
        toggleFrame();
        return;
      }
      pending.push(decision);
      drain();
    }

    $("label-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (event.submitter) {
        event.submitter.blur(); // so space means "skip", not "press this button again"
        act(event.submitter.value);
      }
    });
    $("frame-link").addEventListener("click", (event) => {
      event.preventDefault();
      toggleFrame();
    });
    $("frame-image").addEventListener("error", () => {
      if ($("frame-image").getAttribute("src")) {
        showFrame(false);
        say("The frame cannot be read from the video file any more.", true);
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.closest("input, select, textarea")) return;
      const decision = KEYS[event.key];
      if (!decision) return;
      event.preventDefault();
      if (event.repeat) return; // holding a key must not label a whole row of crops
      act(decision);
    });

    show(current);
    refill();
  }

  // The grid: a click on a crop cycles its label, default -> the others -> default.
  function setupGrid(grid) {
    const order = [grid.dataset.default,
      ...Object.keys(LABEL_NAMES).filter((l) => l !== grid.dataset.default)];
    for (const tile of grid.querySelectorAll(".tile")) {
      const radios = [...tile.querySelectorAll("input[type=radio]")];
      const paint = () => {
        const checked = radios.find((r) => r.checked);
        tile.classList.remove(...Object.keys(LABEL_NAMES));
        if (checked) tile.classList.add(checked.value);
      };
      tile.querySelector("img").addEventListener("click", () => {
        const now = radios.find((r) => r.checked)?.value;
        const next = order[(order.indexOf(now) + 1) % order.length];
        radios.find((r) => r.value === next).checked = true;
        paint();
      });
      for (const radio of radios) radio.addEventListener("change", paint);
    }
    grid.classList.add("clickable");
  }

  const root = document.getElementById("labelling");
  if (root) setupLabelling(root);
  const grid = document.getElementById("grid");
  if (grid) setupGrid(grid);
})();
