/**
 * Signing in: the admin key or a token, tried against the broker before it is kept. The broker
 * is also asked once without any credential, which tells a broker running with auth off.
 */
import { Api, ApiError } from "./api.js";
import { describeCredential } from "./credential.js";
import { h } from "./dom.js";

/**
 * Renders the sign-in form into `main`; calls `signedIn(credential)` once the broker accepts it.
 * `reason` says why the operator is here again (a credential that stopped being accepted).
 */
export function renderSignIn(main, signedIn, reason) {
  const error = h("p", { class: "error", role: "alert", id: "sign-in-error" }, reason ?? "");
  const input = h("input", {
    id: "credential",
    name: "credential",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    "aria-describedby": "credential-hint sign-in-error",
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-heading" },
    h("h1", { id: "sign-in-heading" }, "Sign in"),
    h("div", { class: "field" }, h("label", { for: "credential" }, "Admin key or token"), input),
    h(
      "p",
      { class: "hint", id: "credential-hint" },
      "Kept in this tab only (session storage) and sent as a bearer header, never in a URL. ",
      "Leave it empty for a broker running with auth off.",
    ),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    try {
      signedIn(await check(input.value.trim()));
    } catch (failure) {
      error.textContent = failure instanceof ApiError ? failure.describe() : String(failure.message);
      submit.disabled = false;
      input.focus();
    }
  });
  main.replaceChildren(form);
  input.focus();
}

/** The credential as the broker takes it; rejects with the broker's refusal. */
async function check(secret) {
  const probe = (withSecret) => new Api(withSecret).get("v1/topics", { limit: 1 });
  const [withIt, without] = await Promise.allSettled([probe(secret), secret ? probe("") : Promise.resolve()]);
  if (withIt.status === "rejected") throw withIt.reason;
  return describeCredential(secret, secret === "" || without.status === "fulfilled");
}
