/**
 * A small element builder: `h("button", { type: "button", onclick }, "Purge")`. Properties
 * that start with `on` become listeners, `class` and `for` are their attributes, `hidden` and
 * `disabled` are booleans, `dataset` fills data-* attributes; children are nodes or text (null,
 * undefined and false are skipped, arrays are flattened).
 *
 * @example
 * main.replaceChildren(h("h1", {}, "Topics"), h("p", { class: "hint" }, "None yet."));
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

/** Polite announcements for screen readers (the page's one live region). */
export function announce(text) {
  const region = document.getElementById("announcer");
  // Cleared first, so the same sentence twice in a row is read twice.
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

/**
 * Re-renders `container` with `render()` and puts the keyboard focus back where it was: on the
 * element with the same `data-focus` key, since a refresh replaces every element.
 */
export function rerender(container, render) {
  const key = document.activeElement?.closest?.("[data-focus]")?.dataset.focus;
  const nodes = [render()]
    .flat(Number.POSITIVE_INFINITY)
    .filter((node) => node !== null && node !== undefined);
  container.replaceChildren(...nodes);
  if (key === undefined) return;
  const again = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
  if (again instanceof HTMLElement && !again.hasAttribute("disabled")) again.focus();
}
