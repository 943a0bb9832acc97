// Bridgenote pages: small progressive enhancements on server-rendered HTML.
// No inline scripts (the Content-Security-Policy forbids them); htmx does the partial
// updates, this module does what htmx cannot: placeholders, the waterfall, the carousel,
// uploads with progress, drag-to-reorder and autocomplete.
import { decode } from "./vendor/blurhash-2.0.5.mjs";

const strings = JSON.parse(document.getElementById("bn-strings")?.textContent || "{}");
const csrfToken = (() => {
  try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrf-token"] || ""; } catch { return ""; }
})();
const t = (key, params = {}) => (strings[key] || key).replace(/\{(\w+)\}/g, (_m, name) => params[name] ?? "");

// ------------------------------------------------------------------ toasts and errors
export function toast(message) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = "toast";
  item.textContent = message;
  box.append(item);
  setTimeout(() => item.remove(), 5000);
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400) {
    // Error answers are toasts (see web/pages.py): show them instead of replacing the page part.
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = document.getElementById("toasts");
    event.detail.swapOverride = "beforeend";
  }
});
document.addEventListener("htmx:sendError", () => toast(t("networkError")));
document.addEventListener("htmx:afterSwap", (event) => {
  for (const node of document.querySelectorAll("#toasts .toast:not([data-timed])")) {
    node.dataset.timed = "1";
    setTimeout(() => node.remove(), 5000);
  }
  enhance(event.detail.elt?.parentElement || document);
});

// ------------------------------------------------------------------ image placeholders
function placeholders(root) {
  for (const cover of root.querySelectorAll("[data-blurhash], [data-color]")) {
    if (cover.dataset.painted) continue;
    cover.dataset.painted = "1";
    if (cover.dataset.color && /^#[0-9a-fA-F]{3,8}$/.test(cover.dataset.color)) cover.style.backgroundColor = cover.dataset.color;
    const img = cover.querySelector("img");
    if (cover.dataset.blurhash && img && !img.complete) {
      try {
        const pixels = decode(cover.dataset.blurhash, 32, 32);
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 32;
        canvas.setAttribute("aria-hidden", "true");
        const context = canvas.getContext("2d");
        const image = context.createImageData(32, 32);
        image.data.set(pixels);
        context.putImageData(image, 0, 0);
        img.after(canvas);
      } catch { /* an invalid hash leaves the colour placeholder */ }
    }
    if (img) {
      const done = () => { img.classList.add("loaded"); cover.querySelector("canvas")?.classList.add("hidden"); };
      if (img.complete) done(); else img.addEventListener("load", done, { once: true });
    }
  }
}

// ------------------------------------------------------------------ the waterfall
function columnCount(width) {
  if (width >= 1320) return 5;
  if (width >= 1040) return 4;
  if (width >= 760) return 3;
  return 2;
}

function cardHeight(card) {
  const img = card.querySelector("img[width][height]");
  const ratio = img ? Number(img.getAttribute("height")) / Math.max(1, Number(img.getAttribute("width"))) : 0.8;
  return Math.min(2, Math.max(0.5, ratio)) + 0.35;
}

function layoutWaterfall(grid, reset = false) {
  const count = columnCount(window.innerWidth);
  let columns = [...grid.querySelectorAll(":scope > .column")];
  if (reset || columns.length !== count) {
    const cards = columns.length ? columns.flatMap((c) => [...c.children]).sort((a, b) => a.dataset.order - b.dataset.order) : [];
    cards.push(...grid.querySelectorAll(":scope > .card"));
    for (const column of columns) column.remove();
    columns = Array.from({ length: count }, () => {
      const column = document.createElement("div");
      column.className = "column";
      column.dataset.height = "0";
      grid.append(column);
      return column;
    });
    grid.classList.add("js-columns");
    place(columns, cards);
  }
  place(columns, [...grid.querySelectorAll(":scope > .card")]);
}

let order = 0;
function place(columns, cards) {
  for (const card of cards) {
    if (!card.dataset.order) card.dataset.order = String(order++);
    const shortest = columns.reduce((a, b) => (Number(a.dataset.height) <= Number(b.dataset.height) ? a : b));
    shortest.append(card);
    shortest.dataset.height = String(Number(shortest.dataset.height) + cardHeight(card));
  }
}

let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => document.querySelectorAll(".waterfall").forEach((g) => layoutWaterfall(g)), 150);
});

// ------------------------------------------------------------------ carousel
function carousels(root) {
  for (const carousel of root.querySelectorAll(".carousel:not([data-ready])")) {
    carousel.dataset.ready = "1";
    const slides = carousel.querySelector(".slides");
    const items = [...slides.children];
    const counter = carousel.querySelector(".counter");
    const dots = [...carousel.querySelectorAll(".dots span")];
    // The index is kept here, not derived from scrollLeft alone: a key pressed while the
    // photos are still loading (and the layout still moving) must not be lost.
    let index = 0;
    const current = () => index;
    const update = () => {
      if (counter) counter.textContent = `${index + 1}/${items.length}`;
      dots.forEach((dot, i) => dot.classList.toggle("active", i === index));
      items.forEach((item, i) => item.setAttribute("aria-hidden", String(i !== index)));
    };
    const go = (target) => {
      index = Math.max(0, Math.min(items.length - 1, target));
      update();
      slides.scrollTo({ left: index * slides.clientWidth, behavior: "smooth" });
    };
    // A swipe or trackpad scroll: once it settles, the photo in view is the current one.
    let settle;
    slides.addEventListener("scroll", () => {
      clearTimeout(settle);
      settle = setTimeout(() => {
        const seen = Math.round(slides.scrollLeft / Math.max(1, slides.clientWidth));
        if (Math.abs(slides.scrollLeft - index * slides.clientWidth) > slides.clientWidth / 2) {
          index = Math.max(0, Math.min(items.length - 1, seen));
          update();
        }
      }, 120);
    }, { passive: true });
    // When the layout changes (photos load, the window turns), stay on the same photo.
    new ResizeObserver(() => { slides.scrollLeft = index * slides.clientWidth; }).observe(slides);
    carousel.querySelector(".prev")?.addEventListener("click", () => go(current() - 1));
    carousel.querySelector(".next")?.addEventListener("click", () => go(current() + 1));
    carousel.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") { go(current() - 1); event.preventDefault(); }
      if (event.key === "ArrowRight") { go(current() + 1); event.preventDefault(); }
    });
    // On the note page the arrow keys move the photos unless someone is typing.
    if (carousel.dataset.global === "1") {
      document.addEventListener("keydown", (event) => {
        if (event.target.closest("input, textarea, select, [contenteditable]") || event.defaultPrevented) return;
        if (event.key === "ArrowLeft") go(current() - 1);
        if (event.key === "ArrowRight") go(current() + 1);
      });
    }
    update();
  }
}

// ------------------------------------------------------------------ share, dialogs, replies
document.addEventListener("click", async (event) => {
  const share = event.target.closest("[data-share]");
  if (share) {
    event.preventDefault();
    const url = share.dataset.share;
    try {
      await navigator.clipboard.writeText(url);
      toast(t("copied"));
    } catch {
      toast(`${t("copyFailed")} ${url}`);
    }
    return;
  }
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog")?.close();
  const reply = event.target.closest("[data-reply]");
  if (reply) {
    const form = document.getElementById("comment-form");
    if (!form) return;
    form.querySelector("[name=parent_id]").value = reply.dataset.reply;
    form.setAttribute("hx-target", `#replies-${reply.dataset.root}`);
    form.setAttribute("hx-swap", "beforeend");
    const label = form.querySelector(".replying");
    label.hidden = false;
    label.querySelector("span").textContent = reply.dataset.name;
    form.querySelector("textarea").focus();
  }
  const cancel = event.target.closest("[data-cancel-reply]");
  if (cancel) resetCommentForm(cancel.closest("form"));
});

function resetCommentForm(form) {
  if (!form) return;
  form.querySelector("[name=parent_id]").value = "";
  form.setAttribute("hx-target", "#comment-list");
  form.setAttribute("hx-swap", "beforeend");
  form.querySelector(".replying").hidden = true;
}

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form?.id === "comment-form" && event.detail.successful) {
    form.querySelector("textarea").value = "";
    document.getElementById("no-comments")?.remove();
    resetCommentForm(form);
  }
  if (form?.closest?.("dialog") && event.detail.successful && form.matches("form")) form.closest("dialog").close();
});

document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (target?.tagName === "DIALOG" && !target.open) target.showModal();
});

// ------------------------------------------------------------------ Translate (the translation API)
async function translate(button) {
  const scope = document.querySelector(button.dataset.scope);
  if (!scope) return;
  const fields = [...scope.querySelectorAll(button.dataset.fields)];
  if (button.dataset.state === "shown") {
    fields.forEach((el) => { if (el.dataset.original !== undefined) el.innerHTML = el.dataset.original; });
    scope.querySelector(".mt-label")?.remove();
    button.dataset.state = "";
    button.textContent = t("translate");
    return;
  }
  button.disabled = true;
  button.textContent = t("translating");
  const url = `/api/v1/translations/${button.dataset.translate}`;
  try {
    let response = await fetch(url, { method: "POST", headers: { "x-csrf-token": csrfToken, Accept: "application/json" } });
    let answer = await response.json();
    for (let tries = 0; response.ok && answer.status === "pending" && tries < 30; tries += 1) {
      await new Promise((done) => setTimeout(done, Math.min(5, answer.retry_after || 1) * 1000));
      response = await fetch(url, { headers: { Accept: "application/json" } });
      answer = await response.json();
    }
    if (!response.ok || answer.status === "pending" || answer.status === "failed") {
      toast(answer.error?.message || answer.label || t("networkError"));
      button.textContent = t("translate");
      return;
    }
    for (const el of fields) {
      const translated = answer.fields?.[el.dataset.field]?.translation;
      if (!translated) continue;
      el.dataset.original = el.innerHTML;
      el.textContent = translated;
    }
    const label = document.createElement("p");
    label.className = "mt-label muted small";
    label.textContent = answer.label || "";
    button.parentElement.after(label);
    button.dataset.state = "shown";
    button.textContent = t("showOriginal");
  } catch {
    toast(t("networkError"));
    button.textContent = t("translate");
  } finally {
    button.disabled = false;
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-translate]");
  if (button) translate(button);
});

// "Translate notes in languages I don't read" (Settings): the note page asks at once.
function autoTranslate(root) {
  for (const button of root.querySelectorAll("[data-translate][data-auto]:not([data-state])")) {
    button.dataset.state = "";
    translate(button);
  }
}

// ------------------------------------------------------------------ compose: uploads
function compose(root) {
  const form = root.querySelector("#compose-form:not([data-ready])");
  if (!form) return;
  form.dataset.ready = "1";
  const list = form.querySelector(".uploads");
  const input = form.querySelector("input[type=file]");
  const addTile = form.querySelector(".add-tile");
  const maxImages = Number(form.dataset.maxImages || 18);
  const submit = form.querySelector("[type=submit]");
  const overall = form.querySelector(".progress span");
  let pending = 0;

  const tiles = () => [...list.querySelectorAll(".upload")];
  const renumber = () => {
    tiles().forEach((tile, i) => { tile.querySelector(".pos").textContent = String(i + 1); });
    const hasVideo = tiles().some((tile) => tile.dataset.kind === "video");
    addTile.hidden = hasVideo || tiles().length >= maxImages;
    submit.disabled = pending > 0;
    // The note lists its uploads in the order shown.
    const holder = form.querySelector(".media-ids");
    holder.replaceChildren(...tiles().filter((tile) => tile.dataset.mediaId).map((tile) => {
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "media_id";
      hidden.value = tile.dataset.mediaId;
      return hidden;
    }));
  };

  const upload = (file) => {
    const kind = file.type.startsWith("video/") ? "video" : "image";
    const existing = tiles();
    if ((kind === "video" && existing.length) || existing.some((x) => x.dataset.kind === "video") || existing.length >= maxImages) {
      toast(t("tooMany", { n: maxImages }));
      return;
    }
    const tile = document.createElement("div");
    tile.className = "upload";
    tile.draggable = true;
    tile.dataset.kind = kind;
    tile.tabIndex = 0;
    const preview = document.createElement(kind === "video" ? "video" : "img");
    preview.src = URL.createObjectURL(file);
    if (kind === "image") preview.alt = "";
    const pos = document.createElement("span");
    pos.className = "pos";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-label", t("uploading", { name: file.name }));
    const tools = document.createElement("div");
    tools.className = "tools";
    for (const [label, text, action] of [[t("moveEarlier"), "‹", -1], [t("moveLater"), "›", 1], [t("remove"), "×", 0]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.setAttribute("aria-label", label);
      button.title = label;
      button.addEventListener("click", () => {
        if (action === 0) tile.remove();
        else if (action < 0 && tile.previousElementSibling) tile.previousElementSibling.before(tile);
        else if (action > 0 && tile.nextElementSibling?.classList.contains("upload")) tile.nextElementSibling.after(tile);
        renumber();
        button.focus();
      });
      tools.append(button);
    }
    tile.append(preview, pos, tools, bar);
    list.insertBefore(tile, addTile);
    pending += 1;
    renumber();

    const body = new FormData();
    body.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/media");
    xhr.setRequestHeader("x-csrf-token", csrfToken);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        const share = Math.round((e.loaded / e.total) * 100);
        bar.style.width = `${share}%`;
        bar.setAttribute("aria-valuenow", String(share));
      }
    });
    xhr.addEventListener("loadend", () => {
      pending -= 1;
      let answer = {};
      try { answer = JSON.parse(xhr.responseText || "{}"); } catch { /* not JSON: a proxy error page */ }
      if (xhr.status === 201 && answer.id) {
        tile.dataset.mediaId = answer.id;
        bar.style.width = "100%";
        if (kind === "image") {
          const alt = document.createElement("input");
          alt.className = "alt";
          alt.name = `alt_${answer.id}`;
          alt.maxLength = 1000;
          alt.placeholder = t("altText");
          alt.setAttribute("aria-label", t("altText"));
          tile.append(alt);
        }
      } else {
        tile.classList.add("failed");
        toast(answer.error?.message || t("uploadFailed", { name: file.name }));
        tile.remove();
      }
      updateOverall();
      renumber();
    });
    xhr.send(body);
    updateOverall();
  };

  const updateOverall = () => {
    if (!overall) return;
    const all = tiles().length || 1;
    const done = tiles().filter((x) => x.dataset.mediaId).length;
    overall.style.width = `${Math.round((done / all) * 100)}%`;
  };

  input.addEventListener("change", () => {
    for (const file of input.files) upload(file);
    input.value = "";
  });
  addTile.addEventListener("dragover", (e) => e.preventDefault());
  addTile.addEventListener("drop", (e) => {
    e.preventDefault();
    for (const file of e.dataTransfer.files) upload(file);
  });

  // Drag to reorder (mouse); the ‹ › buttons do the same from the keyboard.
  let dragged = null;
  list.addEventListener("dragstart", (e) => {
    dragged = e.target.closest(".upload");
    dragged?.classList.add("dragging");
  });
  list.addEventListener("dragend", () => { dragged?.classList.remove("dragging"); dragged = null; renumber(); });
  list.addEventListener("dragover", (e) => {
    if (!dragged) return;
    e.preventDefault();
    const over = e.target.closest(".upload");
    if (!over || over === dragged) return;
    const rect = over.getBoundingClientRect();
    if (e.clientX < rect.left + rect.width / 2) over.before(dragged); else over.after(dragged);
  });

  form.addEventListener("htmx:configRequest", (event) => {
    if (pending > 0) {
      event.preventDefault();
      toast(t("waitUploads"));
    }
  });
  renumber();
}

// ------------------------------------------------------------------ #tag and @mention autocomplete
function autocomplete(root) {
  for (const field of root.querySelectorAll("[data-suggest]:not([data-ready])")) {
    field.dataset.ready = "1";
    const list = document.getElementById(field.getAttribute("aria-controls"));
    let active = -1;
    let timer;
    const token = () => {
      const before = field.value.slice(0, field.selectionStart);
      const match = before.match(/[#＃@＠][\p{L}\p{N}_.·]{0,50}$/u);
      return match ? match[0] : null;
    };
    const close = () => { list.innerHTML = ""; active = -1; field.setAttribute("aria-expanded", "false"); };
    const choose = (option) => {
      const word = token();
      if (!word) return close();
      const start = field.selectionStart - word.length;
      field.value = field.value.slice(0, start) + option.dataset.insert + field.value.slice(field.selectionStart);
      const caret = start + option.dataset.insert.length;
      field.setSelectionRange(caret, caret);
      close();
      field.focus();
    };
    const highlight = (index) => {
      const options = [...list.querySelectorAll("[role=option]")];
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach((o, i) => o.setAttribute("aria-selected", String(i === active)));
      field.setAttribute("aria-activedescendant", options[active].id);
    };
    field.addEventListener("input", () => {
      clearTimeout(timer);
      const word = token();
      if (!word) return close();
      timer = setTimeout(async () => {
        const response = await fetch(`${field.dataset.suggest}?q=${encodeURIComponent(word)}`, { headers: { "HX-Request": "true" } });
        if (!response.ok) return close();
        list.innerHTML = await response.text();
        active = -1;
        field.setAttribute("aria-expanded", String(Boolean(list.children.length)));
      }, 150);
    });
    field.addEventListener("keydown", (event) => {
      if (!list.children.length) return;
      if (event.key === "ArrowDown") { highlight(active + 1); event.preventDefault(); }
      else if (event.key === "ArrowUp") { highlight(active - 1); event.preventDefault(); }
      else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) { choose(list.querySelectorAll("[role=option]")[active]); event.preventDefault(); }
      else if (event.key === "Escape") close();
    });
    list.addEventListener("mousedown", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) { event.preventDefault(); choose(option); }
    });
    field.addEventListener("blur", () => setTimeout(close, 150));
  }
}

// ------------------------------------------------------------------ settings: avatar upload
function avatarUpload(root) {
  for (const input of root.querySelectorAll("input[data-avatar-upload]:not([data-ready])")) {
    input.dataset.ready = "1";
    input.addEventListener("change", async () => {
      if (!input.files.length) return;
      const body = new FormData();
      body.append("file", input.files[0]);
      const response = await fetch("/api/v1/me/avatar", { method: "PUT", body, headers: { "x-csrf-token": csrfToken } });
      if (response.ok) { window.location.reload(); return; }
      let answer = {};
      try { answer = await response.json(); } catch { /* keep the generic message */ }
      toast(answer.error?.message || t("uploadFailed", { name: input.files[0].name }));
    });
  }
}

function enhance(root) {
  placeholders(root);
  carousels(root);
  compose(root);
  autocomplete(root);
  avatarUpload(root);
  autoTranslate(root);
  document.querySelectorAll(".waterfall").forEach((grid) => layoutWaterfall(grid));
}

enhance(document);
