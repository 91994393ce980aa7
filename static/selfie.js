// The selfie form: the chosen photo is shown at once, made smaller in the browser (longest
// side MAX_SIDE pixels, JPEG, turned upright from its EXIF orientation) and sent, so a
// 12-megapixel phone photo uploads as about 200 KB. A photo can also be dropped on the
// form. Without JavaScript the plain form posts the original photo.
"use strict";

(() => {
  const form = document.getElementById("selfie-form");
  if (!form) return;
  const MAX_SIDE = Number(form.dataset.maxSide) || 1280;
  const QUALITY = Number(form.dataset.quality) || 0.85;
  const SENT_AS_IS = ["image/jpeg", "image/png", "image/webp"];
  const SMALL_BYTES = 1.5 * 1024 * 1024;
  const inputs = [...form.querySelectorAll("input[type=file][name=photo]")];
  const chooser = document.getElementById("choose-photo");
  const zone = document.getElementById("drop-zone");
  const preview = document.getElementById("preview");
  const status = document.getElementById("upload-status");
  let busy = false;

  function say(message) {
    status.textContent = message;
  }

  // Decoded upright: createImageBitmap applies the EXIF orientation when asked; an <img>
  // does by default.
  async function decode(file) {
    if (window.createImageBitmap) {
      try {
        return await createImageBitmap(file, { imageOrientation: "from-image" });
      } catch (error) {
        // Some browsers refuse the option or the format: try an <img> below.
      }
    }
    const url = URL.createObjectURL(file);
    try {
      const image = new Image();
      image.src = url;
      await image.decode();
      return image;
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  async function shrink(file) {
    const picture = await decode(file);
    const width = picture.naturalWidth || picture.width;
    const height = picture.naturalHeight || picture.height;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    if (scale === 1 && file.size <= SMALL_BYTES && SENT_AS_IS.includes(file.type)) {
      if (picture.close) picture.close();
      return file; // small already: sent as it is, the server applies its orientation
    }
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(picture, 0, 0, canvas.width, canvas.height);
    if (picture.close) picture.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    if (!blob) return file;
    return new File([blob], "photo.jpg", { type: "image/jpeg" });
  }

  function showPreview(file) {
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  }

  async function send(file, input) {
    if (busy || !file) return;
    if (file.type && !file.type.startsWith("image/")) {
      say("That file is not a photo: choose a JPEG, PNG or WebP picture.");
      return;
    }
    busy = true;
    form.classList.add("busy");
    showPreview(file);
    say("Getting your photo ready…");
    let upload = file;
    try {
      upload = await shrink(file);
    } catch (error) {
      upload = file; // the browser cannot read it: the server says what is wrong
    }
    const transfer = new DataTransfer();
    transfer.items.add(upload);
    input.files = transfer.files;
    for (const other of inputs) other.disabled = other !== input; // one photo is sent
    say("Looking for your face…");
    form.submit();
  }

  for (const input of inputs) {
    input.addEventListener("change", () => send(input.files[0], input));
  }

  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) send(file, chooser);
  });
  // A photo dropped beside the form must not replace the page with the photo itself.
  for (const type of ["dragover", "drop"]) {
    document.addEventListener(type, (event) => event.preventDefault());
  }

  // Back from the result page, the form is usable again.
  window.addEventListener("pageshow", () => {
    busy = false;
    form.classList.remove("busy");
    for (const input of inputs) {
      input.disabled = false;
      input.value = "";
    }
    preview.hidden = true;
    say("");
  });

  form.classList.add("enhanced");
})();
