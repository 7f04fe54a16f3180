// gankit studio: the page. Plain JavaScript against the studio's JSON/PNG API (no framework, no build step), so
// it works offline and ships as three files. Every image is drawn by the server from a recipe (seed or z, class,
// truncation, edits); the page only keeps recipes and asks for pixels.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const S = {
  model: null,
  directions: [],
  alphas: {},          // direction name -> slider value
  truncation: 1,
  cls: "",             // class picker: "" = each image's own (the gallery cycles classes like `gankit sample`)
  page: 0,
  perPage: 24,
  current: null,       // the image view's base: {seed, z, class}
  has: new Map(),      // teach: recipe key -> recipe
  lacks: new Map(),
  picked: new Map(),   // interpolation / mixing: recipe key -> recipe, in pick order
  renderSeq: 0,        // newest image-view request; older answers are dropped
  viewUrl: null,
  taught: null,        // the last fitted direction's name (to save)
  mixSeed: 0,
  live: {next: 0, lines: [], snapshot: null, source: null, busy: false, again: false, retry: null, retries: 0},
};

// ---------- small helpers ----------

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.detail) detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (e) { /* not JSON */ }
    throw new Error(detail);
  }
  return response;
}

const getJSON = async (path) => (await api(path)).json();
const postJSON = (path, body) => api(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify(body)});

function toast(message, bad = true) {
  const el = $("#toast");
  el.textContent = message;
  el.className = bad ? "show bad" : "show";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = ""; }, bad ? 6000 : 2500);
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el("a", {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const className = (c) => (c === null || c === undefined) ? null
  : (S.model.class_names && S.model.class_names[c]) || `class ${c}`;
const fixed = (x, n = 2) => (typeof x === "number" ? x.toFixed(n) : "–");

function duration(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
  seconds = Math.max(0, Math.round(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

function count(n) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString("en-US");
}

// A recipe's identity (for marks and picks): what draws it.
const recipeKey = (r) => JSON.stringify([r.seed ?? null, r.z ?? null, r.class ?? null, r.truncation ?? 1,
                                         r.edits || []]);

function describe(r) {
  const parts = [r.z ? "latent z" : `seed ${r.seed}`];
  const name = className(r.class);
  if (name) parts.push(name);
  parts.push(`ψ ${fixed(r.truncation ?? 1)}`);
  const label = (name) => (S.directions.find((d) => d.name === name) || {}).label || name;
  const edit = (e) => `${label(e.direction)} ${e.alpha > 0 ? "+" : ""}${fixed(e.alpha, 2)}`;
  if (r.edits && r.edits.length) parts.push(r.edits.map(edit).join(", "));
  return parts.join(" · ");
}

// The JSON in a PNG's "gankit" tEXt chunk (the studio writes the recipe and the final latent there), or null.
async function pngRecipe(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const text = (part) => new TextDecoder("latin1").decode(part);
  for (let i = 8; i + 12 <= bytes.length;) {
    const length = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    const type = text(bytes.subarray(i + 4, i + 8));
    if (type === "IEND") break;
    if (type === "tEXt") {
      const data = bytes.subarray(i + 8, i + 8 + length), zero = data.indexOf(0);
      if (zero > 0 && text(data.subarray(0, zero)) === "gankit") {
        try { return JSON.parse(text(data.subarray(zero + 1))); } catch (e) { return null; }
      }
    }
    i += 12 + length;
  }
  return null;
}

// A recipe drawn by another model (another export, or the run at another step) draws another image here.
function otherModel(recipe) {
  const m = recipe && recipe.model, here = S.model;
  if (!m || typeof m !== "object") return null;
  if (m.sha256 && here.sha256 && m.sha256 !== here.sha256) return "another exported model";
  if (m.recipe && here.recipe && m.recipe !== here.recipe) return `a ${m.recipe} model`;
  if (m.step !== undefined && m.step !== null && here.step !== null && m.step !== here.step) return `this model at step ${m.step}`;
  return null;
}

// ---------- tabs ----------

function showTab(name) {
  for (const b of $$(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const v of $$(".view")) v.classList.remove("active");
  $({gallery: "#gallery-view", view: "#image-view", live: "#live-view"}[name]).classList.add("active");
  document.body.dataset.tab = name;
  if (name === "live") drawLoss();
}

// ---------- model ----------

function showModel() {
  const m = S.model;
  const bits = [m.recipe, m.data, m.step !== null && m.step !== undefined ? `step ${count(m.step)}` : null,
                m.shape ? m.shape.join("×") : null, m.ema ? "EMA" : null, m.live ? "live" : null].filter(Boolean);
  $("#model-info").textContent = bits.join(" · ");
  $("#model-info").title = m.source ? `sampling ${m.source}` : "the model being sampled";
}

async function loadModel() {
  S.model = await getJSON("/api/model");
  showModel();
  const m = S.model;
  if (m.num_classes > 0) {
    const picker = $("#class-picker");
    picker.replaceChildren(el("option", {value: "", text: "each image's own"}));
    m.class_names.forEach((name, i) => picker.append(el("option", {value: String(i), text: `${i}: ${name}`})));
    $("#class-row").hidden = false;
  }
  $("#tab-live").hidden = !m.live;
  if (m.kind && m.kind !== "image") {  // a model of 2-D points: no images to browse, but its run can be watched
    for (const id of ["#panel", "#tab-view"]) $(id).hidden = true;
    for (const node of $("#gallery-view").children) node.hidden = true;
    $("#gallery-view").prepend(el("p", {class: "hint", id: "no-images",
      text: `This model draws 2-D points, not images: the gallery, steering and projection need an image model.` +
            (m.live ? " The Live tab shows its training." : "")}));
  }
  $("#project-how").textContent = m.has_encoder
    ? "Upload an image: the model's encoder finds its code at once."
    : "Upload an image: the latent that draws it is searched by optimisation (progress below).";
  $("#teach-save").title = m.directions_dir ? "save as a `gankit directions` file in the directions folder"
                                            : "start the studio with --directions DIR to save";
}

// ---------- steering ----------

function editsList() {
  return Object.entries(S.alphas).filter(([name, a]) => a !== 0 && S.directions.some((d) => d.name === name))
    .map(([direction, alpha]) => ({direction, alpha}));
}

function viewRecipe() {
  const c = S.cls !== "" ? Number(S.cls) : (S.current.class ?? null);
  return {seed: S.current.z ? null : S.current.seed, z: S.current.z || null, class: c,
          truncation: S.truncation, edits: editsList()};
}

const KIND_TITLES = {saved: "saved", taught: "taught", sefa: "SeFa (unsupervised)", pca: "PCA (unsupervised)",
                     coordinate: "latent coordinates"};

async function loadDirections() {
  try {
    S.directions = (await getJSON("/api/directions")).directions || [];
  } catch (e) {
    S.directions = [];
    $("#directions").replaceChildren(el("p", {class: "hint", text: `no directions: ${e.message}`}));
    return;
  }
  const box = $("#directions");
  box.replaceChildren();
  if (!S.directions.length) box.append(el("p", {class: "hint", text: "no directions for this model"}));
  const groups = new Map();
  for (const d of S.directions) {
    if (!groups.has(d.kind)) groups.set(d.kind, []);
    groups.get(d.kind).push(d);
  }
  const order = ["taught", "saved", "sefa", "pca", "coordinate"];
  const kinds = [...groups.keys()].sort((a, b) => (order.indexOf(a) + 99) % 99 - (order.indexOf(b) + 99) % 99);
  for (const kind of kinds) {
    const group = el("div", {class: `direction-group kind-${kind}`});
    group.append(el("h3", {text: KIND_TITLES[kind] || kind}));
    for (const d of groups.get(kind)) {
      const value = S.alphas[d.name] || 0;
      const out = el("output", {text: fixed(value)});
      const slider = el("input", {type: "range", min: "-3", max: "3", step: "0.05", value: String(value),
                                  class: "direction-slider", dataset: {name: d.name},
                                  "aria-label": `direction ${d.label || d.name}`});
      slider.addEventListener("input", () => {
        S.alphas[d.name] = Number(slider.value);
        out.textContent = fixed(Number(slider.value));
        rerender();
      });
      slider.addEventListener("dblclick", () => { slider.value = "0"; slider.dispatchEvent(new Event("input")); });
      const score = typeof d.score !== "number" ? ""
        : d.kind === "sefa" || d.kind === "pca" ? ` ${(d.score * 100).toFixed(1)}%` : ` acc ${fixed(d.score)}`;
      const label = el("label", {class: "row", title: `${d.name}: ${d.kind}${score}`},
                       el("span", {class: "dname", text: d.label || d.name}, el("small", {text: score})), out);
      group.append(el("div", {class: "direction", dataset: {name: d.name}}, label, slider));
    }
    box.append(group);
  }
}

function resetEdits() {
  S.alphas = {};
  for (const s of $$(".direction-slider")) {
    s.value = "0";
    s.closest(".direction").querySelector("output").textContent = fixed(0);
  }
  if (S.current) rerender();
}

// The image view: the newest request wins; an answer to an older one (a slider moved on) is dropped.
async function renderView() {
  if (!S.current) return;
  const seq = ++S.renderSeq;
  const recipe = viewRecipe();
  $("#view-image").classList.add("busy");
  try {
    const blob = await (await postJSON("/api/image", recipe)).blob();
    if (seq !== S.renderSeq) return;
    const url = URL.createObjectURL(blob);
    const old = S.viewUrl;
    S.viewUrl = url;
    const img = $("#view-image");
    img.src = url;
    img.dataset.seq = String(seq);
    $("#download-png").href = url;
    $("#download-png").download = recipe.z ? "gankit-z.png" : `gankit-seed${recipe.seed}.png`;
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
    $("#view-caption").textContent = describe(recipe);
    // The PNG carries its recipe and final latent; ask the API only if a PNG ever comes without them.
    let answer = await pngRecipe(blob);
    answer = answer && answer.latent ? {recipe: answer, latent: answer.latent}
                                     : await (await postJSON("/api/latent", recipe)).json();
    if (seq !== S.renderSeq) return;
    delete answer.recipe.latent;
    S.viewLatent = answer;
    $("#latent").value = "[" + answer.latent.map((v) => String(v)).join(", ") + "]";
    $("#recipe").value = JSON.stringify(answer.recipe, null, 1);
  } catch (e) {
    if (seq === S.renderSeq) toast(`image: ${e.message}`);
  } finally {
    // Still busy while a newer move waits for its turn (see rerender): the image shown is not yet the newest.
    if (seq === S.renderSeq && !redraw.again && !redraw.timer) $("#view-image").classList.remove("busy");
  }
}

// Slider moves redraw while the slider is still moving: a short pause (~30 ms) gathers the events of one move,
// at most one image request is in flight, and moves made meanwhile collapse into one request for the newest
// settings once it is answered. (A plain debounce would draw nothing until the hand stops.)
const redraw = {timer: null, busy: false, again: false};

function rerender() {
  $("#view-image").classList.add("busy");
  if (redraw.busy) { redraw.again = true; return; }
  if (redraw.timer) return;
  redraw.timer = setTimeout(async () => {
    redraw.timer = null;
    redraw.busy = true;
    try {
      await renderView();
    } finally {
      redraw.busy = false;
      if (redraw.again) { redraw.again = false; rerender(); }
    }
  }, 30);
}

function openImage(recipe) {
  S.current = {seed: recipe.seed ?? null, z: recipe.z || null, class: recipe.class ?? null};
  // The truncation slider serves the gallery and the image alike: an image opened at another one moves both.
  if (typeof recipe.truncation === "number" && recipe.truncation !== S.truncation) setTruncation(recipe.truncation);
  if (S.cls !== "" && recipe.class !== undefined && recipe.class !== null && String(recipe.class) !== S.cls) {
    S.cls = String(recipe.class);  // the picker follows the opened image's class, and the gallery with it
    $("#class-picker").value = S.cls;
    galleryLater();
  }
  const missing = [];
  S.alphas = {};
  for (const e of recipe.edits || []) {
    if (S.directions.some((d) => d.name === e.direction)) S.alphas[e.direction] = e.alpha;
    else missing.push(e.direction);
  }
  for (const s of $$(".direction-slider")) {
    const v = S.alphas[s.dataset.name] || 0;
    s.value = String(v);
    s.closest(".direction").querySelector("output").textContent = fixed(v);
  }
  const other = otherModel(recipe);
  if (missing.length) toast(`not in this studio's directions, left out: ${missing.join(", ")}`);
  else if (other) toast(`drawn by ${other}; shown here as this model draws it`);
  $("#view-empty").hidden = true;
  $("#view-body").hidden = false;
  showTab("view");
  renderView();
}

function setTruncation(value, reloadGallery = true) {
  S.truncation = Number(value);  // exactly as given: a reproduced recipe's 0.123 must stay 0.123
  $("#slider-truncation").value = String(S.truncation);
  $("#truncation-value").textContent = fixed(S.truncation);
  if (reloadGallery) galleryLater();
}

// ---------- gallery ----------

function tile(item, {onOpen, marks = true} = {}) {
  const recipe = {seed: item.seed ?? null, z: item.z || null, class: item.class ?? null,
                  truncation: item.truncation ?? S.truncation, edits: item.edits || []};
  const key = recipeKey(recipe);
  // The model's version in the URL: after the live run's newest checkpoint is loaded, the same seed is a new image.
  const url = item.url.startsWith("/api/") && S.model.version !== undefined ? `${item.url}&v=${S.model.version}` : item.url;
  const img = el("img", {src: url, alt: describe(recipe), title: "open"});
  img.addEventListener("click", () => (onOpen || openImage)(recipe));
  img.addEventListener("error", () => img.classList.add("failed"));
  const caption = el("div", {class: "caption"});
  caption.append(el("span", {class: "seed", text: recipe.z ? "z" : `seed ${recipe.seed}`}));
  const name = className(recipe.class);
  if (name) caption.append(el("span", {class: "cls", text: name}));
  caption.append(el("span", {class: "psi", text: `ψ ${fixed(recipe.truncation)}`}));
  const node = el("div", {class: "tile", dataset: {key, seed: recipe.seed ?? ""}}, img, caption);
  if (marks) {
    const bar = el("div", {class: "marks"},
      el("button", {class: "mark-has", title: "has the attribute", text: "+", onclick: () => mark(recipe, "has")}),
      el("button", {class: "mark-lacks", title: "lacks the attribute", text: "−", onclick: () => mark(recipe, "lacks")}),
      el("button", {class: "mark-pick", title: "pick for interpolation or mixing", text: "☐", onclick: () => pick(recipe)}));
    node.append(bar);
  }
  paintTile(node);
  return node;
}

function paintTile(node) {
  const key = node.dataset.key;
  node.classList.toggle("has", S.has.has(key));
  node.classList.toggle("lacks", S.lacks.has(key));
  node.classList.toggle("picked", S.picked.has(key));
  const p = node.querySelector(".mark-pick");
  if (p) {
    const i = [...S.picked.keys()].indexOf(key);
    p.textContent = i >= 0 ? String(i + 1) : "☐";
  }
}

function paintMarks() {
  for (const node of $$(".tile")) paintTile(node);
  $("#teach-n-has").textContent = String(S.has.size);
  $("#teach-n-lacks").textContent = String(S.lacks.size);
  const n = S.picked.size;
  $("#picked-label").textContent = n ? `${n} picked` : "pick images (☐) to interpolate or mix";
  $("#interp-go").disabled = n < 2;
  $("#mix-go").disabled = n !== 2;
  if (S.current) $("#view-pick").textContent = S.picked.has(recipeKey(viewRecipe())) ? "☑ picked" : "☐ pick";
}

function mark(recipe, which) {
  const key = recipeKey(recipe);
  const mine = which === "has" ? S.has : S.lacks, other = which === "has" ? S.lacks : S.has;
  if (mine.has(key)) mine.delete(key);
  else { mine.set(key, recipe); other.delete(key); }
  paintMarks();
}

function pick(recipe) {
  const key = recipeKey(recipe);
  if (S.picked.has(key)) S.picked.delete(key);
  else S.picked.set(key, recipe);
  paintMarks();
}

async function loadGallery() {
  const params = new URLSearchParams({page: S.page, per_page: S.perPage, truncation: S.truncation});
  if (S.cls !== "") params.set("class", S.cls);
  let answer;
  try {
    answer = await getJSON(`/api/gallery?${params}`);
  } catch (e) {
    toast(`gallery: ${e.message}`);
    return;
  }
  const grid = $("#gallery");
  grid.replaceChildren(...answer.items.map((item) => tile(item)));
  grid.dataset.page = String(answer.page);
  $("#page-label").textContent = `page ${answer.page + 1} · seeds ${answer.page * answer.per_page}–${(answer.page + 1) * answer.per_page - 1}`;
  $("#page-prev").disabled = S.page === 0;
}

const galleryLater = debounce(loadGallery, 150);

// ---------- teaching ----------

async function teach(save) {
  const name = $("#teach-name").value.trim();
  const out = $("#teach-accuracy");
  if (!name) { out.textContent = "name the attribute first"; $("#teach-name").focus(); return; }
  if (S.has.size < 2 || S.lacks.size < 2) {
    out.textContent = `mark at least 2 images that have it and 2 that lack it (now ${S.has.size} and ${S.lacks.size})`;
    return;
  }
  out.textContent = save ? "saving…" : "fitting…";
  $("#teach-fit").disabled = true;
  try {
    const answer = await (await postJSON("/api/directions/teach", {
      name, positive: [...S.has.values()], negative: [...S.lacks.values()], save})).json();
    const how = answer.validation ? ` (${answer.validation})` : "";
    out.textContent = `${answer.name}: validation accuracy ${fixed(answer.val_accuracy)}${how}, ` +
      `training ${fixed(answer.train_accuracy)}, from ${answer.n_positive} + ${answer.n_negative} images` +
      (answer.saved ? ` · saved as ${answer.saved}` : "");
    out.dataset.accuracy = String(answer.val_accuracy);
    S.taught = answer.name;
    $("#teach-save").disabled = !S.model.directions_dir;
    await loadDirections();
    const slider = $(`.direction-slider[data-name="${CSS.escape(answer.name)}"]`);
    if (slider) {
      const row = slider.closest(".direction");
      row.classList.add("fresh");
      row.scrollIntoView({block: "nearest"});
      setTimeout(() => row.classList.remove("fresh"), 2500);
    }
  } catch (e) {
    out.textContent = `could not fit: ${e.message}`;
  } finally {
    $("#teach-fit").disabled = false;
  }
}

// ---------- interpolation and mixing ----------

async function interpolate() {
  const recipes = [...S.picked.values()];
  const body = {recipes, steps: 8, method: "slerp"};
  $("#interp").hidden = false;
  try {
    const strip = await (await postJSON("/api/interpolate", {...body, format: "png"})).blob();
    const img = $("#interp-strip");
    if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(strip);
    $("#interp").scrollIntoView({block: "nearest", behavior: "smooth"});
    const gif = await (await postJSON("/api/interpolate", {...body, format: "gif"})).blob();
    const link = $("#interp-gif");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(gif);
  } catch (e) {
    toast(`interpolation: ${e.message}`);
  }
}

async function mix() {
  const [a, b] = [...S.picked.values()];
  $("#mix").hidden = false;
  const box = $("#mix-children");
  box.replaceChildren(el("p", {class: "hint", text: "mixing…"}));
  try {
    const {children} = await (await postJSON("/api/mix", {a, b, n: 6, seed: S.mixSeed++})).json();
    const tiles = [];
    for (const child of children) {
      const blob = await (await postJSON("/api/image", child)).blob();
      tiles.push(tile({...child, url: URL.createObjectURL(blob)}));
    }
    box.replaceChildren(...tiles);
    $("#mix").scrollIntoView({block: "nearest", behavior: "smooth"});
  } catch (e) {
    box.replaceChildren();
    toast(`mix: ${e.message}`);
  }
}

// ---------- downloads ----------

async function downloadNpy() {
  try {
    const recipe = viewRecipe();
    const blob = await (await postJSON("/api/latent.npy", recipe)).blob();
    download(blob, recipe.z ? "gankit-z.npy" : `gankit-seed${recipe.seed}.npy`);
  } catch (e) { toast(`.npy: ${e.message}`); }
}

async function downloadJson() {
  try {
    const recipe = viewRecipe();
    const answer = await (await postJSON("/api/latent", recipe)).json();
    const text = JSON.stringify({...answer.recipe, latent: answer.latent}, null, 1);
    download(new Blob([text], {type: "application/json"}), recipe.z ? "gankit-z.json" : `gankit-seed${recipe.seed}.json`);
  } catch (e) { toast(`JSON: ${e.message}`); }
}

async function copyLatent() {
  const box = $("#latent");
  try {
    await navigator.clipboard.writeText(box.value);
  } catch (e) {
    box.select();
    document.execCommand("copy");
  }
  toast("latent copied", false);
}

// ---------- reproduce (drop or paste) ----------

async function reproduceFile(file) {
  const form = new FormData();
  form.append("file", file, file.name || "upload");
  try {
    const recipe = await (await api("/api/reproduce", {method: "POST", body: form})).json();
    $("#reproduce-status").textContent = `${file.name || "file"}: ${describe(recipe)}`;
    openImage(recipe);
  } catch (e) {
    $("#reproduce-status").textContent = `${file.name || "file"}: ${e.message}`;
    toast(`reproduce: ${e.message}`);
  }
}

async function reproduceText(text) {
  let body;
  try { body = JSON.parse(text); } catch (e) {
    $("#reproduce-status").textContent = "not JSON: paste the JSON a download wrote";
    return;
  }
  try {
    const recipe = await (await postJSON("/api/reproduce", body)).json();
    $("#reproduce-status").textContent = describe(recipe);
    openImage(recipe);
  } catch (e) {
    $("#reproduce-status").textContent = e.message;
    toast(`reproduce: ${e.message}`);
  }
}

function setupDrop() {
  let depth = 0;
  const overlay = $("#drop-overlay");
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  document.addEventListener("dragenter", (e) => { if (hasFiles(e)) { depth++; overlay.hidden = false; } });
  document.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) overlay.hidden = true; });
  document.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener("drop", (e) => {
    depth = 0;
    overlay.hidden = true;
    if (e.target === $("#project-file")) return;
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) { e.preventDefault(); reproduceFile(file); }
  });
  document.addEventListener("paste", (e) => {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || (t.tagName === "TEXTAREA" && t.id !== "reproduce-json"))) return;
    const file = e.clipboardData && e.clipboardData.files[0];
    if (file) { e.preventDefault(); reproduceFile(file); return; }
    const text = e.clipboardData && e.clipboardData.getData("text");
    if (text && text.trim().startsWith("{")) {
      e.preventDefault();
      $("#reproduce-json").value = text;
      reproduceText(text);
    }
  });
}

// ---------- projection ----------

async function project(file) {
  const status = $("#project-status"), bar = $("#project-progress");
  const form = new FormData();
  form.append("file", file, file.name || "upload");
  bar.hidden = false;
  bar.removeAttribute("value");
  status.textContent = "uploading…";
  try {
    const {job} = await (await api("/api/project", {method: "POST", body: form})).json();
    for (;;) {
      const state = await getJSON(`/api/project/${encodeURIComponent(job)}`);
      if (state.steps) { bar.max = state.steps; bar.value = state.step || 0; }
      if (state.state === "done") {
        bar.value = bar.max;
        status.textContent = `done${typeof state.loss === "number" ? `: loss ${state.loss.toPrecision(3)}` : ""}; edit it like any image`;
        openImage(state.recipe);
        return;
      }
      if (state.state === "failed") throw new Error(state.error || state.detail || "the projection failed");
      status.textContent = `step ${state.step ?? 0} of ${state.steps ?? "?"}` +
        (typeof state.loss === "number" ? ` · loss ${state.loss.toPrecision(3)}` : "");
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    bar.hidden = true;
    status.textContent = `could not project: ${e.message}`;
  } finally {
    $("#project-file").value = "";
  }
}

// ---------- live training view ----------

const COLORS = ["#5fb3f9", "#f98b5f", "#7ed67e", "#d77ee0", "#f2d05c", "#68d8cf", "#ef6f8a", "#a3a3ff"];

// The progress bar's name of a logged loss (gankit.train.stats.short_name): Loss/D/fake -> D_loss_fake,
// Loss/recon -> recon_loss; never "D/fake", which older runs used for D's logits.
function shortName(key) {
  const [net, ...part] = key.split("/").slice(1);
  return [net, "loss", ...part].join("_");
}

function lossKeys() {
  const keys = new Set();
  for (const line of S.live.lines) for (const k of Object.keys(line)) {
    if (k.startsWith("Loss/") && typeof line[k] === "number") keys.add(k);
  }
  // The top-level losses first (Loss/D, Loss/G), then their parts.
  return [...keys].sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b)).slice(0, 8);
}

function drawLoss() {
  const canvas = $("#live-loss");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 640, height = canvas.clientHeight || 320;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.body);
  const fg = style.getPropertyValue("--muted").trim() || "#999", grid = style.getPropertyValue("--line").trim() || "#333";
  const lines = S.live.lines, keys = lossKeys();
  const xOf = (line) => (typeof line.kimg === "number" ? line.kimg : line.step || 0);
  g.font = "11px system-ui, sans-serif";
  if (!lines.length || !keys.length) {
    g.fillStyle = fg;
    g.fillText("no losses logged yet", 12, 20);
    $("#live-legend").replaceChildren();
    return;
  }
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const line of lines) {
    const x = xOf(line);
    x0 = Math.min(x0, x); x1 = Math.max(x1, x);
    for (const k of keys) if (typeof line[k] === "number" && isFinite(line[k])) {
      y0 = Math.min(y0, line[k]); y1 = Math.max(y1, line[k]);
    }
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = {l: 44, r: 10, t: 10, b: 24};
  const X = (x) => pad.l + (x - x0) / (x1 - x0) * (width - pad.l - pad.r);
  const Y = (y) => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
  g.strokeStyle = grid; g.fillStyle = fg; g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = y0 + (y1 - y0) * i / 4;
    g.beginPath(); g.moveTo(pad.l, Y(y)); g.lineTo(width - pad.r, Y(y)); g.stroke();
    g.fillText(y.toPrecision(3), 4, Y(y) + 4);
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + (x1 - x0) * i / 4;
    g.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
    g.fillText(Number(x.toPrecision(3)).toString(), X(x), height - 8);
  }
  g.textAlign = "right";
  g.fillText(typeof lines[0].kimg === "number" ? "thousands of images seen (kimg)" : "step", width - pad.r, pad.t + 10);
  g.textAlign = "left";
  const legend = [];
  keys.forEach((k, i) => {
    g.strokeStyle = COLORS[i % COLORS.length];
    g.lineWidth = k.split("/").length > 2 ? 1 : 1.8;
    g.beginPath();
    let started = false;
    for (const line of lines) {
      const v = line[k];
      if (typeof v !== "number" || !isFinite(v)) continue;
      if (started) g.lineTo(X(xOf(line)), Y(v)); else { g.moveTo(X(xOf(line)), Y(v)); started = true; }
    }
    g.stroke();
    const last = [...lines].reverse().find((line) => typeof line[k] === "number");
    legend.push(el("span", {class: "key"}, el("i", {style: `background:${COLORS[i % COLORS.length]}`}),
                   `${shortName(k)} ${last ? last[k].toPrecision(3) : ""}`));
  });
  $("#live-legend").replaceChildren(...legend);
}

function showMetrics(metrics) {
  const table = $("#live-metrics");
  const rows = Object.entries(metrics || {}).filter(([, v]) => typeof v === "number" || typeof v === "string");
  table.replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("th", {text: k}),
    el("td", {text: typeof v === "number" ? v.toPrecision(4) : v}))));
  if (!rows.length) table.replaceChildren(el("tr", {}, el("td", {class: "hint", text: "no evaluation metrics yet"})));
}

async function liveRefresh() {
  // One refresh at a time; events arriving meanwhile ask for one more after it.
  if (S.live.busy) { S.live.again = true; return; }
  S.live.busy = true;
  try {
    do {
      S.live.again = false;
      const state = await getJSON("/api/live/state");
      $("#live-nimg").textContent = count(state.nimg);
      $("#live-step").textContent = count(state.step);
      $("#live-rate").textContent = typeof state.images_per_s === "number" ? count(Math.round(state.images_per_s)) : "–";
      $("#live-eta").textContent = state.eta_s === 0 ? "done" : duration(state.eta_s);
      $("#live-ckpt").textContent = state.checkpoint_step === null || state.checkpoint_step === undefined
        ? "none yet" : `step ${count(state.checkpoint_step)}`;
      showMetrics(state.metrics);
      const snap = state.snapshot;
      if (snap && (!S.live.snapshot || snap.index !== S.live.snapshot.index || snap.nimg !== S.live.snapshot.nimg)) {
        S.live.snapshot = snap;
        const img = $("#live-snapshot");
        img.src = snap.url;
        img.dataset.index = String(snap.index);
        img.dataset.nimg = String(snap.nimg);
        $("#live-snapshot-caption").textContent = `newest snapshot: ${count(snap.nimg)} images seen`;
      }
      if (state.stats_count < S.live.next) { S.live.next = 0; S.live.lines = []; }  // the run started over
      if (state.stats_count > S.live.next || S.live.next === 0) {
        const stats = await getJSON(`/api/live/stats?since=${S.live.next}`);
        S.live.lines.push(...stats.lines);
        S.live.next = stats.next;
        if (document.body.dataset.tab === "live") drawLoss();
      }
      // Sampling follows the newest checkpoint: once the server has loaded it (it looks every few seconds),
      // the gallery and the image view redraw; until then the page asks again, a bounded number of times.
      if (typeof state.checkpoint_step === "number" && state.checkpoint_step !== S.model.step) {
        const version = S.model.version;
        S.model = await getJSON("/api/model");
        showModel();
        if (S.model.version !== version) {
          loadGallery();
          if (S.current) renderView();
        }
        clearTimeout(S.live.retry);
        if (S.model.step !== state.checkpoint_step && S.live.retries++ < 60) S.live.retry = setTimeout(liveRefresh, 1000);
        else if (S.model.step === state.checkpoint_step) S.live.retries = 0;
      }
    } while (S.live.again);
  } catch (e) {
    $("#live-snapshot-caption").textContent = `live view: ${e.message}`;
  } finally {
    S.live.busy = false;
  }
}

// The event stream holds one of the few connections a browser opens to one host (six over HTTP/1.1): a page
// keeps it only while it is shown, so that hidden tabs, and pages left for another, never starve the visible one.
function openStream() {
  if (S.live.source || document.hidden) return;
  const source = new EventSource("/api/live/events");
  S.live.source = source;
  const on = () => liveRefresh();
  source.addEventListener("state", on);
  source.addEventListener("message", on);
  source.addEventListener("open", on);  // catch up on what happened while closed or reconnecting
}

function closeStream() {
  if (S.live.source) { S.live.source.close(); S.live.source = null; }
}

function startLive() {
  liveRefresh();
  if (!window.EventSource) { setInterval(() => { if (!document.hidden) liveRefresh(); }, 2000); return; }
  openStream();
  document.addEventListener("visibilitychange", () => (document.hidden ? closeStream() : openStream()));
  window.addEventListener("pagehide", closeStream);
  window.addEventListener("pageshow", (e) => { if (e.persisted) openStream(); });
}

// ---------- wiring ----------

function wire() {
  for (const b of $$(".tab")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("#slider-truncation").addEventListener("input", (e) => {
    setTruncation(e.target.value);
    if (S.current) rerender();
  });
  $("#class-picker").addEventListener("change", (e) => {
    S.cls = e.target.value;
    S.page = 0;
    loadGallery();
    if (S.current) rerender();
  });
  $("#reset-edits").addEventListener("click", resetEdits);
  $("#page-prev").addEventListener("click", () => { if (S.page > 0) { S.page--; loadGallery(); } });
  $("#page-next").addEventListener("click", () => { S.page++; loadGallery(); });
  $("#seed-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const seed = Number($("#seed-input").value);
    if (!Number.isInteger(seed) || seed < 0) { toast("seed: a whole number from 0"); return; }
    openImage({seed, class: S.cls !== "" ? Number(S.cls) : null, truncation: S.truncation, edits: []});
  });
  $("#teach-fit").addEventListener("click", () => teach(false));
  $("#teach-save").addEventListener("click", () => teach(true));
  $("#teach-name").addEventListener("keydown", (e) => { if (e.key === "Enter") teach(false); });
  $("#teach-clear").addEventListener("click", () => { S.has.clear(); S.lacks.clear(); paintMarks(); });
  $("#interp-go").addEventListener("click", interpolate);
  $("#mix-go").addEventListener("click", mix);
  $("#pick-clear").addEventListener("click", () => { S.picked.clear(); paintMarks(); });
  $("#download-npy").addEventListener("click", downloadNpy);
  $("#download-json").addEventListener("click", downloadJson);
  $("#latent-copy").addEventListener("click", copyLatent);
  $("#view-has").addEventListener("click", () => mark(viewRecipe(), "has"));
  $("#view-lacks").addEventListener("click", () => mark(viewRecipe(), "lacks"));
  $("#view-pick").addEventListener("click", () => pick(viewRecipe()));
  $("#reproduce-go").addEventListener("click", () => reproduceText($("#reproduce-json").value));
  $("#project-file").addEventListener("change", (e) => { if (e.target.files[0]) project(e.target.files[0]); });
  window.addEventListener("resize", debounce(() => { if (document.body.dataset.tab === "live") drawLoss(); }, 100));
  setupDrop();
}

async function main() {
  wire();
  document.body.dataset.tab = "gallery";
  try {
    await loadModel();
  } catch (e) {
    $("#model-info").textContent = `cannot reach the studio's server: ${e.message}`;
    document.body.dataset.ready = "error";
    return;
  }
  const images = !S.model.kind || S.model.kind === "image";
  if (images) await Promise.all([loadGallery(), loadDirections()]);
  paintMarks();
  if (S.model.live) startLive();
  if (!images && S.model.live) showTab("live");
  document.body.dataset.ready = "1";
}

main();
