// coffeechat dashboard: live updates, buttons without a page load, the board's filter.
// Every page works without this file: forms POST and come back, the filter is a GET.
(() => {
  "use strict";

  const body = document.body;
  let refreshing = false;
  let again = false;

  function parse(text) {
    return new DOMParser().parseFromString(text, "text/html");
  }

  // Put the parts of a freshly fetched page in place of the old ones. What the reader set
  // (the filter's text and focus, each column's scroll, anything a script put on the
  // page) stays: only these parts are replaced.
  function swap(doc, withFlash) {
    const query = document.getElementById("q");
    const kept = query ? {
      value: query.value,
      focused: document.activeElement === query,
      start: query.selectionStart,
      end: query.selectionEnd,
    } : null;
    const scrolls = {};
    document.querySelectorAll(".column .cards").forEach((list) => {
      scrolls[list.parentElement.className] = list.scrollTop;
    });
    const parts = ["#content", "header.top nav", "footer.bottom"];
    if (withFlash) parts.push("#flash");
    for (const selector of parts) {
      const fresh = doc.querySelector(selector);
      const old = document.querySelector(selector);
      if (fresh && old) old.replaceWith(document.importNode(fresh, true));
    }
    document.title = doc.title;
    body.dataset.version = doc.body.dataset.version;
    const newQuery = document.getElementById("q");
    if (kept && newQuery) {
      newQuery.value = kept.value;
      if (kept.focused) {
        newQuery.focus();
        newQuery.setSelectionRange(kept.start, kept.end);
      }
    }
    document.querySelectorAll(".column .cards").forEach((list) => {
      const top = scrolls[list.parentElement.className];
      if (top) list.scrollTop = top;
    });
    filter();
  }

  async function refresh() {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      const response = await fetch(withoutSaid(location.href), { credentials: "same-origin" });
      if (response.ok) swap(parse(await response.text()), false);
    } catch (error) {
      // the server stopped: the stream below says so
    } finally {
      refreshing = false;
      if (again) {
        again = false;
        refresh();
      }
    }
  }

  function withoutSaid(href) {
    const url = new URL(href);
    url.searchParams.delete("said");
    return url.toString();
  }

  // --- live updates (Server-Sent Events) ---
  const live = document.getElementById("live");
  if (window.EventSource) {
    const source = new EventSource("/events");
    const onNews = (event) => {
      if (event.data !== body.dataset.version) refresh();
    };
    source.addEventListener("hello", (event) => {
      if (live) {
        live.hidden = false;
        live.textContent = "live";
        live.classList.remove("off");
      }
      onNews(event);
    });
    source.addEventListener("message", onNews);
    source.addEventListener("error", () => {
      if (live) {
        live.textContent = "offline";
        live.classList.add("off");
      }
    });
  }

  // --- buttons: POST without leaving the page ---
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (form.id === "filter-form" || form.classList.contains("filter")) {
      event.preventDefault();
      remember(document.getElementById("q").value);
      filter();
      return;
    }
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") return;
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((button) => { button.disabled = true; });
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
      });
      const text = await response.text();
      if (response.ok && (response.headers.get("Content-Type") || "").startsWith("text/html")) {
        swap(parse(text), true);
        history.replaceState(null, "", withoutSaid(response.url));
        const flash = document.querySelector("#flash .flash");
        if (flash) {
          flash.tabIndex = -1;
          flash.focus();
        }
      } else {
        showError(text);
      }
    } catch (error) {
      showError("the dashboard did not answer: is 'coffeechat serve' still running?");
    } finally {
      buttons.forEach((button) => { button.disabled = false; });
    }
  });

  function showError(text) {
    const holder = document.getElementById("flash");
    if (!holder) return;
    const box = document.createElement("div");
    box.className = "flash error";
    box.setAttribute("role", "alert");
    box.textContent = text;
    holder.replaceChildren(box);
  }

  // --- the board's filter, as you type ---
  function filter() {
    const query = document.getElementById("q");
    if (!query) return;
    const wanted = query.value.trim().toLowerCase();
    document.querySelectorAll(".column").forEach((column) => {
      let shown = 0;
      column.querySelectorAll(".card").forEach((card) => {
        const match = !wanted || card.dataset.search.includes(wanted);
        card.hidden = !match;
        if (match) shown += 1;
      });
      const count = column.querySelector("h2 .count");
      if (count) count.textContent = String(shown);
    });
  }
  function remember(value) {
    // the address keeps the filter: a live refresh (and a reload) asks for the same
    const url = new URL(location.href);
    if (value) url.searchParams.set("q", value);
    else url.searchParams.delete("q");
    history.replaceState(null, "", url.toString());
  }
  document.addEventListener("input", (event) => {
    if (event.target.id === "q") {
      remember(event.target.value);
      filter();
    }
  });
})();
