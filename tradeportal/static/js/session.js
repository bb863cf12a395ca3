/* Sign-in session helpers. No inline script, no eval (CSP).
 *
 * - Before an idle session ends (30 minutes without activity), a dialog offers
 *   to stay signed in. <body data-session> says how many seconds are left and
 *   where to ask; asking (/session/status, /session/warning) does not count as
 *   activity, only "Stay signed in" (a POST with the CSRF header) does.
 * - Buttons marked data-print open the print dialog (they stay hidden without JS,
 *   where the page tells people to use the browser's print command).
 */
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var raw = document.body.getAttribute("data-session");
  if (!raw || !window.fetch) { return; }
  var info;
  try { info = JSON.parse(raw); } catch (e) { return; }

  var checkTimer = null;
  var endTimer = null;
  var dialog = null;
  var returnFocus = null;
  var endsAt = 0;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function announce(text) {
    var region = document.getElementById("live-region");
    if (region) { region.textContent = ""; region.textContent = text; }
  }

  function schedule(remaining) {
    window.clearTimeout(checkTimer);
    var wait = Math.max(0, remaining - info.warn) * 1000;
    checkTimer = window.setTimeout(check, wait);
  }

  function check() {
    fetch(info.status, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (!state.signed_in || state.remaining <= 0) { showDialog(0); return; }
        if (state.remaining > info.warn + 5) { schedule(state.remaining); return; }
        showDialog(state.remaining);
      })
      .catch(function () { schedule(info.warn + 30); });
  }

  function closeDialog() {
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); }
    dialog.remove();
    dialog = null;
    if (returnFocus && document.contains(returnFocus)) { returnFocus.focus(); }
  }

  // Closed without staying signed in: look again when the session should have ended.
  function dismiss() {
    window.clearTimeout(endTimer);
    closeDialog();
    window.clearTimeout(checkTimer);
    checkTimer = window.setTimeout(check, Math.max(0, endsAt - Date.now()) + 1000);
  }

  function showEnded() {
    if (!dialog) { return; }
    var active = dialog.querySelector("[data-session-active]");
    var ended = dialog.querySelector("[data-session-ended]");
    if (active) { active.hidden = true; }
    if (ended) { ended.hidden = false; }
    dialog.setAttribute("aria-labelledby", "session-dialog-ended-title");
    dialog.setAttribute("aria-describedby", "session-dialog-ended-text");
    var link = dialog.querySelector("[data-session-sign-in]");
    if (link) {
      var here = window.location.pathname + window.location.search;
      link.setAttribute("href", link.getAttribute("href") + "?next=" + encodeURIComponent(here));
    }
    var heading = document.getElementById("session-dialog-ended-title");
    if (heading) { heading.focus(); }
  }

  function extend(form) {
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() }
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("not extended"); }
        return response.json();
      })
      .then(function (state) {
        if (!state.signed_in) { throw new Error("signed out"); }
        window.clearTimeout(endTimer);
        closeDialog();
        announce(form.getAttribute("data-extended-message") || "");
        schedule(state.remaining);
      })
      .catch(function () { showEnded(); });
  }

  function showDialog(remaining) {
    if (dialog) { return; }
    fetch(info.dialog, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;
        dialog = holder.querySelector("dialog");
        if (!dialog) { return; }
        returnFocus = document.activeElement;
        document.body.appendChild(dialog);
        endsAt = Date.now() + remaining * 1000;
        dialog.addEventListener("cancel", function (event) { event.preventDefault(); dismiss(); });
        dialog.querySelectorAll("[data-session-close]").forEach(function (button) {
          button.addEventListener("click", dismiss);
        });
        var form = dialog.querySelector("form[data-session-extend]");
        if (form) {
          form.addEventListener("submit", function (event) { event.preventDefault(); extend(form); });
        }
        dialog.showModal();
        if (remaining <= 0) {
          showEnded();
        } else {
          var first = dialog.querySelector("[data-session-active] button");
          if (first) { first.focus(); }
          endTimer = window.setTimeout(showEnded, remaining * 1000);
        }
      })
      .catch(function () { /* the server will still ask to sign in; nothing is lost */ });
  }

  schedule(info.remaining);
})();
