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
    // A data: URL, which a policy of img-src 'self' data: allows (a blob: URL it would not).
    const url = await new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
    const image = new Image();
    image.src = url;
    await image.decode();
    return image;
  }

  // The photo drawn upright on the preview canvas, at most MAX_SIDE pixels: the visitor
  // sees it at once, and it is what is sent. (A canvas, not an <img> of a blob: URL, so a
  // Content-Security-Policy of img-src 'self' data: has nothing to block.)
  async function draw(file) {
    const picture = await decode(file);
    const width = picture.naturalWidth || picture.width;
    const height = picture.naturalHeight || picture.height;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    preview.width = Math.max(1, Math.round(width * scale));
    preview.height = Math.max(1, Math.round(height * scale));
    const context = preview.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(picture, 0, 0, preview.width, preview.height);
    if (picture.close) picture.close();
    preview.hidden = false;
    return scale;
  }

  async function shrink(file) {
    const scale = await draw(file);
    if (scale === 1 && file.size <= SMALL_BYTES && SENT_AS_IS.includes(file.type)) {
      return file; // small already: sent as it is, the server applies its orientation
    }
    const blob = await new Promise((resolve) => preview.toBlob(resolve, "image/jpeg", QUALITY));
    if (!blob) return file;
    return new File([blob], "photo.jpg", { type: "image/jpeg" });
  }

  async function send(file, input) {
    if (busy || !file) return;
    if (file.type && !file.type.startsWith("image/")) {
      say("That file is not a photo: choose a JPEG, PNG or WebP picture.");
      return;
    }
    busy = true;
    form.classList.add("busy");
    say("Getting your photo ready…");
    let upload = file;
    try {
      upload = await shrink(file);
    } catch (error) {
      upload = file; // the browser cannot read it: the server says what is wrong
    }
    try {
      const transfer = new DataTransfer();
      transfer.items.add(upload);
      input.files = transfer.files;
    } catch (error) {
      // A browser that cannot put a file in an input: a chosen photo goes as it is; a
      // dropped one cannot go at all.
      if (!input.files.length) {
        busy = false;
        form.classList.remove("busy");
        say("This browser cannot send a dropped photo: use Choose a photo instead.");
        return;
      }
    }
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
