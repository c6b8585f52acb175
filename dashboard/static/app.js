// ownkey dashboard: the few things the pages do in the browser. Every
// change goes through ownkey's JSON API with the session cookie and the
// session's CSRF token; its error messages (which name the field) are shown
// beside the field, and nothing typed is cleared unless it was saved.
// Text from the server is only ever set as textContent, never as HTML.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  // api calls the JSON API and returns {ok, status, data}; a network
  // failure is an error of its own.
  async function api(method, path, body) {
    const headers = { "Accept": "application/json", "X-CSRF-Token": csrf };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, data: { error: { message: "The server could not be reached; nothing was changed. Try again." } } };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!data) data = { error: { message: "The server answered " + res.status + " without a readable body." } };
    if (res.status === 401) {
      data = { error: { message: "Your session has ended (it expired, or its API key was revoked). Sign in again; what you typed is still here." } };
    }
    return { ok: res.ok, status: res.status, data: data };
  }

  function errorMessage(data) {
    return (data && data.error && data.error.message) || "The request failed.";
  }

  // Dollars as the server writes them ("12.500000000") shown as the pages
  // show money ("$12.50"): string work only, never a float.
  function usd(s) {
    let neg = s.startsWith("-");
    if (neg) s = s.slice(1);
    let [whole, frac = ""] = s.split(".");
    frac = frac.replace(/0+$/, "");
    while (frac.length < 2) frac += "0";
    return (neg ? "-$" : "$") + whole + "." + frac;
  }

  // statusText is keyRow.StatusText's words (byok.go).
  function statusText(status, suffix) {
    if (status === "configured") return "Configured ····" + suffix;
    if (status === "disabled") return suffix ? "Disabled (key ····" + suffix + " kept)" : "Disabled";
    return "Not configured";
  }

  function showError(el, input, message) {
    if (el) { el.textContent = message; el.hidden = false; }
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  function clearErrors(form) {
    form.querySelectorAll(".error").forEach(function (e) { e.textContent = ""; e.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
  }

  function setResult(el, ok, message) {
    if (!el) return;
    el.textContent = message;
    el.classList.toggle("ok", ok);
    el.classList.toggle("bad", !ok);
  }

  function busy(form, on) {
    form.querySelectorAll("button").forEach(function (b) {
      if (on) { b.dataset.wasDisabled = b.disabled ? "1" : ""; b.disabled = true; }
      else { b.disabled = b.dataset.wasDisabled === "1"; }
    });
    form.setAttribute("aria-busy", on ? "true" : "false");
  }

  // ---- sign-in -------------------------------------------------------
  async function signIn(form) {
    const input = form.querySelector("#api_key");
    const err = form.querySelector("#api_key-error");
    clearErrors(form);
    busy(form, true);
    let res;
    try {
      res = await fetch(form.action, {
        method: "POST", credentials: "same-origin",
        headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(new FormData(form)).toString(),
      });
    } catch (e) {
      busy(form, false);
      showError(err, input, "The server could not be reached. Try again.");
      return;
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    busy(form, false);
    if (res.ok && data && data.redirect) {
      window.location.assign(data.redirect);
      return;
    }
    showError(err, input, errorMessage(data));
  }

  // ---- provider key rows (BYOK page, platform keys) -----------------
  function keyPaths(form) {
    const id = form.dataset.provider;
    if (form.dataset.scope === "platform") {
      const p = "/api/admin/platform-keys/" + encodeURIComponent(id);
      return { save: ["PUT", p], remove: ["DELETE", p] };
    }
    return {
      save: ["POST", "/api/user/provider-keys"],
      remove: ["DELETE", "/api/user/provider-keys?provider=" + encodeURIComponent(id)],
    };
  }

  function rowParts(form) {
    return {
      input: form.querySelector("[name=key]"),
      error: form.querySelector(".error"),
      result: form.querySelector(".result"),
      status: form.querySelector(".status"),
      save: form.querySelector("button.save"),
      remove: form.querySelector("button.remove"),
      confirm: form.querySelector(".confirm"),
    };
  }

  // clearFailing removes the row's note that its provider refuses the key.
  function clearFailing(form) {
    const note = form.querySelector(".failing");
    if (note) note.remove();
  }

  function showStatus(parts, status, suffix) {
    parts.status.dataset.status = status;
    parts.status.dataset.suffix = suffix || "";
    parts.status.textContent = statusText(status, suffix);
    const configured = !!suffix;
    parts.save.textContent = configured ? "Replace" : "Save";
    parts.remove.hidden = !configured;
  }

  async function saveKey(form) {
    const parts = rowParts(form);
    clearErrors(form);
    setResult(parts.result, true, "");
    const paths = keyPaths(form);
    const body = { key: parts.input.value };
    if (form.dataset.scope !== "platform") body.provider = form.dataset.provider;
    busy(form, true);
    const res = await api(paths.save[0], paths.save[1], body);
    busy(form, false);
    if (!res.ok) {
      showError(parts.error, parts.input, errorMessage(res.data));
      return;
    }
    // Saved: the key leaves the page; only its last four characters stay.
    // A new key has not been refused yet.
    parts.input.value = "";
    showStatus(parts, res.data.status, res.data.key_suffix);
    clearFailing(form);
    let msg = "Saved. The stored key ends in ····" + res.data.key_suffix + ".";
    if (res.data.warning) msg += " Note: " + res.data.warning;
    setResult(parts.result, !res.data.warning, msg);
  }

  async function testKey(form) {
    const parts = rowParts(form);
    clearErrors(form);
    if (parts.input.value.trim() === "") {
      showError(parts.error, parts.input, "Paste a key to test it. A stored key is never sent back to the browser, so it cannot be tested from here.");
      return;
    }
    setResult(parts.result, true, "Testing…");
    busy(form, true);
    const res = await api("POST", "/api/user/provider-keys/validate", { provider: form.dataset.provider, key: parts.input.value });
    busy(form, false);
    if (!res.ok) {
      setResult(parts.result, true, "");
      showError(parts.error, parts.input, errorMessage(res.data));
      return;
    }
    if (res.data.valid) {
      setResult(parts.result, true, form.dataset.name + " accepted this key. It is not saved yet: press " + parts.save.textContent + ".");
    } else {
      let msg = form.dataset.name + " refused this key";
      if (res.data.upstream_status) msg += " (HTTP " + res.data.upstream_status + ")";
      setResult(parts.result, false, msg + ": " + (res.data.error || "no reason given") + ".");
    }
  }

  function askRemove(form) {
    const parts = rowParts(form);
    parts.remove.hidden = true;
    parts.confirm.hidden = false;
    parts.confirm.querySelector(".confirm-yes").focus();
  }

  function cancelRemove(form) {
    const parts = rowParts(form);
    parts.confirm.hidden = true;
    parts.remove.hidden = false;
    parts.remove.focus();
  }

  async function removeKey(form) {
    const parts = rowParts(form);
    clearErrors(form);
    const paths = keyPaths(form);
    busy(form, true);
    const res = await api(paths.remove[0], paths.remove[1]);
    busy(form, false);
    parts.confirm.hidden = true;
    if (!res.ok) {
      parts.remove.hidden = false;
      showError(parts.error, parts.remove, errorMessage(res.data));
      return;
    }
    const status = parts.status.dataset.status === "disabled" ? "disabled" : "not_configured";
    showStatus(parts, status, "");
    clearFailing(form);
    setResult(parts.result, true, "Removed.");
    parts.input.focus();
  }

  // ---- admin forms -----------------------------------------------------
  function fieldError(form, param) {
    const name = (param || "").split(".")[0];
    const input = name ? form.querySelector('[name="' + CSS.escape(name) + '"]') : null;
    let el = name ? form.querySelector('.error[data-for="' + CSS.escape(name) + '"]') : null;
    if (!el) el = form.querySelector('.error[data-for=""]');
    return { el: el, input: input };
  }

  function appendRow(table, cells) {
    const tr = document.createElement("tr");
    cells.forEach(function (c) {
      const td = document.createElement("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c;
      tr.appendChild(td);
    });
    table.tBodies[0].appendChild(tr);
    return tr;
  }

  function showSecret(boxID, valueID, key) {
    const box = document.getElementById(boxID);
    document.getElementById(valueID).textContent = key;
    box.hidden = false;
    box.querySelector("button.copy").focus();
    return box;
  }

  async function submitAPIForm(form) {
    clearErrors(form);
    const result = form.querySelector(".result");
    setResult(result, true, "");
    const kind = form.dataset.kind;
    const v = function (name) { const el = form.elements[name]; return el ? el.value : ""; };
    let method = form.dataset.method, path = form.dataset.path, body;
    if (kind === "create-account") {
      body = { name: v("name"), role: v("role"), metered: form.elements.metered.checked };
    } else if (kind === "create-key") {
      body = { name: v("name") };
    } else if (kind === "adjust") {
      const dir = form.querySelector("input[name=direction]:checked").value;
      path = "/api/admin/accounts/" + encodeURIComponent(form.dataset.account) + "/" + dir;
      body = { amount_usd: v("amount_usd"), reason: v("reason") };
    } else {
      return;
    }
    busy(form, true);
    const res = await api(method, path, body);
    busy(form, false);
    if (!res.ok) {
      const f = fieldError(form, res.data.error && res.data.error.param);
      showError(f.el, f.input, errorMessage(res.data));
      return;
    }
    const d = res.data;
    if (kind === "create-account") {
      const box = showSecret("created-account", "created-account-key", d.api_key.key);
      const link = box.querySelector(".created-link");
      link.textContent = d.account.name;
      link.href = "/admin/accounts/" + d.account.id;
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = d.account.name;
      appendRow(document.getElementById("accounts"), [String(d.account.id), a, d.account.role, d.account.metered ? "yes" : "no", "", d.account.created_at]);
      form.elements.name.value = "";
    } else if (kind === "create-key") {
      showSecret("created-key", "created-key-value", d.key);
      appendRow(document.getElementById("apikeys"), [String(d.id), d.name, "····" + d.last4, d.created_at, "never", "active"]);
      form.elements.name.value = "";
    } else if (kind === "adjust") {
      document.getElementById("account-balance").textContent = usd(d.usd_balance);
      setResult(result, true, "Done. The balance is now " + usd(d.usd_balance) + ".");
      form.elements.amount_usd.value = "";
      form.elements.reason.value = "";
    }
  }

  async function revoke(button) {
    const cell = button.closest("td");
    const err = cell.querySelector(".error");
    const res = await api("DELETE", button.dataset.path);
    if (!res.ok) {
      cell.querySelector(".confirm").hidden = true;
      button.hidden = false;
      showError(err, button, errorMessage(res.data));
      return;
    }
    if (button.dataset.own === "true") {
      window.location.assign("/signin");
      return;
    }
    cell.textContent = "revoked";
  }

  // ---- copy ------------------------------------------------------------
  async function copy(button) {
    const src = document.getElementById(button.dataset.copy);
    const note = button.parentElement.querySelector(".copied");
    const text = src.textContent;
    let ok = false;
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); ok = true; } catch (e) { ok = false; }
    }
    if (!ok) {
      // Not a secure context: select the text for Ctrl+C.
      const range = document.createRange();
      range.selectNodeContents(src);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    if (note) note.textContent = ok ? "Copied." : "Selected: press Ctrl+C to copy.";
  }

  // ---- wiring (delegated, so rows added later work too) -----------------
  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (form.id === "signin-form") { ev.preventDefault(); signIn(form); return; }
    if (form.classList.contains("keyform")) { ev.preventDefault(); saveKey(form); return; }
    if (form.classList.contains("apiform")) { ev.preventDefault(); submitAPIForm(form); return; }
  });

  document.addEventListener("click", function (ev) {
    const b = ev.target.closest("button");
    if (!b) return;
    const form = b.closest("form.keyform");
    if (form) {
      if (b.classList.contains("test")) testKey(form);
      else if (b.classList.contains("remove")) askRemove(form);
      else if (b.classList.contains("confirm-yes")) removeKey(form);
      else if (b.classList.contains("confirm-no")) cancelRemove(form);
      return;
    }
    if (b.classList.contains("copy")) { copy(b); return; }
    if (b.classList.contains("revoke")) {
      b.hidden = true;
      const c = b.parentElement.querySelector(".confirm");
      c.hidden = false;
      c.querySelector(".confirm-yes").focus();
      return;
    }
    const cell = b.closest("td.keystate");
    if (cell) {
      const rb = cell.querySelector("button.revoke");
      if (b.classList.contains("confirm-yes")) revoke(rb);
      else if (b.classList.contains("confirm-no")) { cell.querySelector(".confirm").hidden = true; rb.hidden = false; rb.focus(); }
    }
  });

  // Typing into a field clears its error mark.
  document.addEventListener("input", function (ev) {
    if (ev.target.getAttribute && ev.target.getAttribute("aria-invalid") === "true") ev.target.removeAttribute("aria-invalid");
  });
})();
