// Live preview for the article editor: the server renders and sanitizes the Markdown exactly as
// the article page will (POST /api/v1/kb/preview), so what the author sees is what readers get.
(() => {
  "use strict";
  const form = document.querySelector("form[data-preview-url]");
  if (!form) return;
  const source = form.querySelector("textarea[name=body]");
  const title = form.querySelector("input[name=title]");
  const pane = form.querySelector("[data-preview]");
  const heading = form.querySelector("[data-preview-title]");
  const status = form.querySelector("[data-preview-status]");
  const DELAY_MS = 300;
  let timer = null;
  let sequence = 0;

  function csrfToken() {
    const cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (cookie) return decodeURIComponent(cookie[1]);
    const field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  async function refresh() {
    // Answers can arrive out of order; only the newest request may fill the pane.
    const mine = ++sequence;
    status.textContent = "updating…";
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        body: JSON.stringify({ body: source.value }),
      });
      const data = await response.json().catch(() => ({}));
      if (mine !== sequence) return;
      if (!response.ok) throw new Error(data.detail || response.statusText);
      // Sanitized on the server (nh3): the same HTML the article page shows with |safe.
      pane.innerHTML = data.html;
      status.textContent = "";
    } catch (error) {
      if (mine === sequence) status.textContent = "could not update: " + error.message;
    }
  }

  source.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  });
  title.addEventListener("input", () => {
    heading.textContent = title.value || "Untitled";
  });
})();
