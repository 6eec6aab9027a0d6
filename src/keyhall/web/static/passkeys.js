// Passkeys (W3C WebAuthn Level 3) for Keyhall's pages: progressive enhancement only.
// Buttons carrying data-passkey stay hidden unless the browser can parse options from JSON.
"use strict";
(function () {
  const PKC = window.PublicKeyCredential;
  if (!PKC || !PKC.parseCreationOptionsFromJSON || !PKC.parseRequestOptionsFromJSON) return;

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || "The passkey could not be used.");
    return data;
  }

  function show(button, message) {
    const box = document.getElementById(button.dataset.status || "passkey-status");
    if (box) { box.textContent = message; box.hidden = !message; }
  }

  async function run(button) {
    const kind = button.dataset.passkey; // "login", "second-factor" or "register"
    const base = { flow: button.dataset.flow || "", csrf_token: button.dataset.csrf };
    show(button, "");
    try {
      const options = await post(button.dataset.options, base);
      let credential;
      if (kind === "register") {
        const name = document.getElementById("passkey-name");
        credential = await navigator.credentials.create({
          publicKey: PKC.parseCreationOptionsFromJSON(options.publicKey),
        });
        base.name = name ? name.value : "";
      } else {
        credential = await navigator.credentials.get({
          publicKey: PKC.parseRequestOptionsFromJSON(options.publicKey),
        });
      }
      const result = await post(button.dataset.verify, {
        ...base, challenge_id: options.challenge_id, credential: JSON.stringify(credential.toJSON()),
      });
      window.location.assign(result.next);
    } catch (error) {
      show(button, error && error.message ? error.message : "The passkey could not be used.");
    }
  }

  for (const button of document.querySelectorAll("[data-passkey]")) {
    button.hidden = false;
    button.addEventListener("click", () => run(button));
  }
})();
