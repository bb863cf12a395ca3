/* Small enhancements on top of working HTML. No inline script, no eval (CSP). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx requests carry the CSRF token in a header (Flask-WTF reads X-CSRFToken).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // The error summary takes focus when a page or fragment arrives with errors;
  // otherwise, after a swap, focus goes to the new heading.
  function focusAfterLoad(root) {
    var summary = root.querySelector("[data-focus-on-load]");
    if (summary) {
      summary.focus();
      return true;
    }
    return false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusAfterLoad(document);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.hasAttribute("data-keep-focus")) { return; }
    if (focusAfterLoad(target)) { return; }
    var heading = target.querySelector("h1, h2, h3");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) { heading.setAttribute("tabindex", "-1"); }
      heading.focus();
    }
  });

  // Error summary links move focus to the field (not only scroll).
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".error-summary a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (field) {
      event.preventDefault();
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
  });
})();
