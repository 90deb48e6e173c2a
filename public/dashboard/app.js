/**
 * The operator dashboard at `/dashboard/`: plain modules, no framework and no build step of its
 * own. It speaks the broker's HTTP API for stats and admin, and uses the client SDK (the browser
 * bundle every broker serves at `/dist/edge-broker.js`) to publish and to tail.
 *
 * Routes are in the fragment, which never carries the credential: `#/?prefix=&limit=&cursor=`
 * lists topics, `#/topics/{name}` shows one.
 */
import { Api, BROKER_URL } from "./api.js";
import { forgetCredential, loadCredential, Rights, saveCredential } from "./credential.js";
import { h } from "./dom.js";
import { duration } from "./format.js";
import { renderSignIn } from "./sign-in.js";
import { renderTopic } from "./topic-view.js";
import { renderTopics } from "./topics-view.js";

const main = document.getElementById("main");
const account = document.getElementById("account");

/** The credential and what calls it: `{ credential, rights, api, broker, notice }`. */
let session;
/** The view on screen: `{ stop }`. */
let view;

let sdk;
try {
  sdk = await import("../dist/edge-broker.js");
} catch (error) {
  main.replaceChildren(
    h("h1", {}, "The dashboard could not start"),
    h(
      "p",
      { class: "error" },
      `The client bundle did not load (${error.message}): run \`npm run build:page\`, which \`npm start\` runs first.`,
    ),
  );
  throw error;
}

document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
document.getElementById("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", () => route(true));

const stored = loadCredential();
if (stored) start(stored);
else signOut();

function start(credential) {
  session = {
    credential,
    rights: new Rights(credential),
    api: new Api(credential.secret, (error) =>
      signOut(`The broker no longer accepts this credential: ${error.describe()}`),
    ),
    broker: new sdk.Broker(
      credential.secret ? { url: BROKER_URL, token: credential.secret } : { url: BROKER_URL },
    ),
    notice: () => {},
  };
  route(false);
}

function signOut(reason) {
  view?.stop();
  view = undefined;
  session = undefined;
  forgetCredential();
  account.hidden = true;
  document.title = "Sign in · edge-broker";
  renderSignIn(
    main,
    (credential) => {
      saveCredential(credential);
      start(credential);
    },
    reason,
  );
}

function route(moved) {
  if (!session) return;
  view?.stop();
  showAccount(session.credential);
  session.notice = () => {};
  const hash = location.hash;
  const topic = /^#\/topics\/([^?]+)/.exec(hash)?.[1];
  if (topic !== undefined) {
    const name = decodeURIComponent(topic);
    document.title = `${name} · edge-broker`;
    view = renderTopic(main, session, name);
  } else {
    document.title = "Topics · edge-broker";
    view = renderTopics(main, session, new URLSearchParams(hash.split("?")[1] ?? ""));
  }
  // After a navigation, the new view's heading has the focus, as a new page's top would.
  if (moved) main.querySelector("h1")?.focus();
}

function showAccount(credential) {
  const who = document.getElementById("who");
  if (credential.kind === "open") {
    who.textContent = "Auth is off on this broker: anyone who reaches it may do anything.";
  } else if (credential.kind === "key") {
    who.textContent = "Signed in with the admin key.";
  } else {
    const subject = credential.sub ? ` for "${credential.sub}"` : "";
    const left =
      credential.exp === null
        ? ""
        : `, ${credential.exp > Date.now() ? `expires in ${duration(credential.exp - Date.now())}` : "expired"}`;
    who.textContent = `Signed in with a token${subject}${left}.`;
  }
  account.hidden = false;
}
