// The Retrain form: the preprocessing preset is shown only for the features that use it
// (eigenfaces); face embeddings align the face themselves and ignore it. Without
// JavaScript the preset stays on the form and the server ignores it for those features.
"use strict";

(() => {
  for (const form of document.querySelectorAll("form[data-presetless]")) {
    const ignoring = form.dataset.presetless.split(" ").filter(Boolean);
    const extractor = form.querySelector("select[name=extractor]");
    const preset = form.querySelector("[data-preset-field]");
    if (!extractor || !preset) continue;
    const update = () => {
      preset.hidden = ignoring.includes(extractor.value);
    };
    extractor.addEventListener("change", update);
    update();
  }
})();
