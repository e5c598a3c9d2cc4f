// anywidget-static.js: renders the book's explorers from the widget state saved in a page, with no kernel.
//
// The book's only widgets are anywidgets (lib.widgets' explorers): an ES module (the `_esm` trait) that
// draws into an element, given a model with get/set/on/save_changes/send. This script gives each saved
// view such a model over its saved state and renders it, as @jupyter-widgets/html-manager would, in a
// <div class="widget-subarea"> before the view's script tag, without the manager's 3.6 MB and RequireJS.
// Without a kernel, set() and change events stay in the page and send() throws (the explorers then
// keep their kernel-only controls hidden). A view of any other widget says that it needs a kernel.
// Loaded (as a module) only on pages that hold widget state, listed in _config.yml's nb_ipywidgets_js.
const STATE = "application/vnd.jupyter.widget-state+json";
const VIEW = "application/vnd.jupyter.widget-view+json";

function model(saved) {
  const state = { ...saved }, listeners = new Map();
  const emit = (event, ...args) => (listeners.get(event) || []).slice().forEach((cb) => cb(...args));
  return {
    get: (key) => state[key],
    set(key, value) { state[key] = value; emit(`change:${key}`, this, value); emit("change", this); },
    save_changes() {},
    on(event, callback) {
      for (const e of event.split(/\s+/)) listeners.set(e, [...(listeners.get(e) || []), callback]);
    },
    off(event, callback) {
      for (const e of (event || "").split(/\s+/)) {
        if (!callback) listeners.delete(e);
        else listeners.set(e, (listeners.get(e) || []).filter((cb) => cb !== callback));
      }
    },
    send() { throw new Error("this page has no kernel"); },
  };
}

async function render(view, entry) {
  const area = document.createElement("div");
  area.className = "widget-subarea";
  view.parentElement.insertBefore(area, view);
  if (!entry || entry.model_module !== "anywidget") {
    area.textContent = "(This widget needs a running kernel.)";
    return;
  }
  const { _esm: esm, _css: css } = entry.state;
  if (css) {
    const style = document.createElement("style");
    style.textContent = css;
    document.head.append(style);
  }
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  let widget = (await import(url)).default;
  if (typeof widget === "function") widget = await widget();
  const m = model(entry.state);
  if (widget.initialize) await widget.initialize({ model: m });
  await widget.render({ model: m, el: area });
}

const saved = document.querySelector(`script[type="${STATE}"]`);
const state = saved ? JSON.parse(saved.textContent).state : {};
for (const view of document.querySelectorAll(`script[type="${VIEW}"]`)) {
  const { model_id: id } = JSON.parse(view.textContent);
  render(view, state[id]).catch((error) => console.error(`widget ${id} could not be rendered:`, error));
}
