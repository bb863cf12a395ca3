/* API self-service: copy buttons next to the keys. Without JavaScript the keys stay
   selectable text in read-only fields and the buttons stay hidden. */
(function () {
  "use strict";

  function announce(button, text) {
    var region = document.getElementById("live-region") || document.querySelector("[aria-live]");
    if (region) { region.textContent = text; }
    button.setAttribute("data-copied", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!navigator.clipboard) { return; }
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var field = document.getElementById(button.getAttribute("data-copy"));
        if (!field) { return; }
        navigator.clipboard.writeText(field.value).then(function () {
          announce(button, button.getAttribute("data-copied-text") || "");
        }, function () {
          field.focus();
          field.select();
        });
      });
    });
  });
})();
