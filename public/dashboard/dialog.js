/**
 * Every action is confirmed in the page's one modal `<dialog>`: it says what will happen, takes
 * the action's fields if it has any, and runs the action only on its submit button. A refusal
 * is shown inside the dialog (which stays open to correct the input); Escape or Cancel does
 * nothing. The focus goes back to the button that opened it, also when a refresh replaced it.
 */
import { h } from "./dom.js";

const dialog = () => document.getElementById("dialog");

/** True while a dialog is open (refreshes wait, so nothing moves under the operator). */
export function dialogOpen() {
  return dialog().open;
}

/**
 * Opens a confirmation. Resolves with what `run` returned once it succeeded, or `undefined`
 * when the operator cancelled.
 *
 * @example
 * const done = await confirmAction({
 *   title: `Purge "billing"?`,
 *   description: "Acks at once every message the subscription has not acked. This cannot be undone.",
 *   submitLabel: "Purge",
 *   danger: true,
 *   run: () => api.post(topicPath(topic, "subscriptions", "billing", "purge")),
 * });
 */
export function confirmAction({ title, description, content = [], submitLabel, danger = false, run }) {
  const element = dialog();
  const opener = document.activeElement;
  const focusKey = opener?.closest?.("[data-focus]")?.dataset.focus;
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h(
    "form",
    { class: "dialog-form" },
    h("h2", { id: "dialog-title" }, title),
    description ? h("p", { id: "dialog-description" }, description) : null,
    content,
    error,
    h("div", { class: "buttons" }, cancel, submit),
  );
  element.replaceChildren(form);
  if (description) element.setAttribute("aria-describedby", "dialog-description");
  else element.removeAttribute("aria-describedby");

  return new Promise((resolve) => {
    let result;
    const finish = () => {
      element.removeEventListener("close", finish);
      restoreFocus(opener, focusKey);
      resolve(result);
    };
    element.addEventListener("close", finish);
    cancel.addEventListener("click", () => element.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        result = (await run(new FormData(form), form)) ?? true;
        element.close();
      } catch (failure) {
        error.textContent = failure?.describe?.() ?? failure?.message ?? String(failure);
        submit.disabled = false;
      }
    });
    element.showModal();
    const first = form.querySelector("input:not([type=hidden]), select, textarea");
    (first ?? (danger ? cancel : submit)).focus();
  });
}

function restoreFocus(opener, focusKey) {
  if (opener instanceof HTMLElement && opener.isConnected && !opener.hasAttribute("disabled")) {
    opener.focus();
    return;
  }
  const again =
    focusKey === undefined ? null : document.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
  if (again instanceof HTMLElement && !again.hasAttribute("disabled")) again.focus();
  else document.getElementById("main")?.focus();
}

/** A labelled field of a dialog: `field("Name", h("input", { name: "name", required: true }), "hint")`. */
export function field(label, control, hint) {
  const id = control.id || `field-${control.getAttribute("name")}`;
  control.id = id;
  const hintId = `${id}-hint`;
  if (hint) control.setAttribute("aria-describedby", hintId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
}
