// The portal's ask box: while a customer describes a problem, show help-center articles that
// may answer it. The visit's token travels in the links (?ask=) so reading one is recorded, and
// the draft is kept in sessionStorage so nothing typed is lost when they come back to file it.
(() => {
  "use strict";
  const box = document.querySelector("[data-suggest-url]");
  if (!box) return;
  const form = box.querySelector("form");
  const subject = form.querySelector("[name=subject]");
  const body = form.querySelector("[name=body]");
  const panel = box.querySelector("[data-suggestions]");
  const list = panel.querySelector("ul");
  const token = box.dataset.ask || "";
  const DELAY_MS = 350;
  const DRAFT_KEY = "askonce-ticket-draft";
  let timer = null;
  let sequence = 0;
  let lastQuery = null;

  function currentQuery() {
    // The subject says most; the start of the body helps when the subject is vague.
    return (subject.value + " " + body.value.slice(0, 160)).replace(/\s+/g, " ").trim();
  }

  function show(articles) {
    list.replaceChildren();
    for (const article of articles) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = article.url;
      link.textContent = article.title;
      item.append(link);
      if (article.snippet_html) {
        const snippet = document.createElement("p");
        snippet.className = "snippet";
        // Only <mark> survives: the server cleans the engine's snippet to that one tag.
        snippet.innerHTML = article.snippet_html;
        item.append(snippet);
      }
      list.append(item);
    }
    panel.hidden = articles.length === 0;
  }

  async function suggest() {
    const query = currentQuery();
    if (query === lastQuery) return;
    lastQuery = query;
    const mine = ++sequence;
    if (query.length < 3) {
      show([]);
      return;
    }
    const url = box.dataset.suggestUrl + "?" + new URLSearchParams({ q: query, ask: token });
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const data = await response.json();
      if (mine === sequence) show(data.articles || []);
    } catch (error) {
      // Suggestions are a help, never a blocker: the form works without them.
    }
  }

  function saveDraft() {
    try {
      sessionStorage.setItem(
        DRAFT_KEY,
        JSON.stringify({ token, subject: subject.value, body: body.value }),
      );
    } catch (error) {
      // Private mode or a full storage: the draft is simply not kept.
    }
  }

  function restoreDraft() {
    try {
      const draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
      if (draft && draft.token === token && !subject.value && !body.value) {
        subject.value = draft.subject || "";
        body.value = draft.body || "";
      }
    } catch (error) {
      // An unreadable draft is ignored.
    }
  }

  for (const field of [subject, body]) {
    field.addEventListener("input", () => {
      saveDraft();
      clearTimeout(timer);
      timer = setTimeout(suggest, DELAY_MS);
    });
  }
  form.addEventListener("submit", () => {
    try {
      sessionStorage.removeItem(DRAFT_KEY);
    } catch (error) {
      // Nothing to clean up.
    }
  });
  restoreDraft();
  if (currentQuery()) suggest();
})();
