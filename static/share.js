// The result page's Share button: the phone's share sheet (Web Share API) where there is
// one, else the link is copied. The link carries only the percentage, the number of faces
// and the model version, signed by the server; never the photo. Without JavaScript the
// plain link stays on the page.
"use strict";

(() => {
  const box = document.getElementById("share");
  if (!box) return;
  const button = document.getElementById("share-button");
  const status = document.getElementById("share-status");
  const { shareUrl: url, shareTitle: title, shareText: text } = box.dataset;

  function say(message) {
    status.textContent = message;
  }

  async function copy() {
    try {
      await navigator.clipboard.writeText(url);
      say("Link copied: paste it anywhere.");
    } catch (error) {
      // No clipboard (an old browser, or not allowed): show the link to copy by hand.
      document.getElementById("share-link-line").hidden = false;
      say("Copy this link: " + url);
    }
  }

  button.addEventListener("click", async () => {
    const data = { title, text, url };
    if (navigator.share && (!navigator.canShare || navigator.canShare(data))) {
      try {
        await navigator.share(data);
        return;
      } catch (error) {
        if (error.name === "AbortError") return; // the visitor closed the share sheet
      }
    }
    await copy();
  });

  button.hidden = false;
  document.getElementById("share-link-line").hidden = true;
})();
