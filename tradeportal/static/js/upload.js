/* Documents, step 2: drag and drop and a progress bar per file, on top of a form that works without it.
   Each file is posted on its own to the form's URL (the same endpoint as without the script), with the
   CSRF token; the server keeps what it accepted and what it refused on the draft, and the page then
   reloads its summary, which lists both. No inline script or style (CSP). */
(function () {
  "use strict";

  function text(form, key) {
    var template = form.querySelector("template[data-upload-texts]");
    var node = template && template.content.querySelector('[data-text="' + key + '"]');
    return node ? node.textContent.trim() : key;
  }

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    if (field) { return field.value; }
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function progressRow(form, list, file) {
    var item = document.createElement("li");
    item.className = "upload-progress__item";
    var name = document.createElement("span");
    name.className = "upload-progress__name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", file.name);
    var state = document.createElement("span");
    state.className = "upload-progress__state";
    state.textContent = text(form, "uploading");
    item.appendChild(name);
    item.appendChild(bar);
    item.appendChild(state);
    list.appendChild(item);
    return { item: item, bar: bar, state: state };
  }

  function sendOne(form, file, first, row) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("csrf_token", csrfToken(form));
      data.append("files", file, file.name);
      if (!first) { data.append("append", "1"); }
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.setRequestHeader("X-CSRFToken", csrfToken(form));
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { row.bar.value = Math.round((event.loaded / event.total) * 100); }
      });
      request.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(request.responseText); } catch (error) { answer = null; }
        row.bar.value = 100;
        if (answer && answer.rejected && answer.rejected.length) {
          row.state.textContent = text(form, "refused") + ": " + answer.rejected[0].message;
          row.item.classList.add("upload-progress__item--refused");
        } else if (request.status >= 200 && request.status < 300) {
          row.state.textContent = text(form, "added");
          row.item.classList.add("upload-progress__item--added");
        } else {
          row.state.textContent = text(form, "failed");
          row.item.classList.add("upload-progress__item--refused");
        }
        resolve();
      });
      request.addEventListener("error", function () {
        row.state.textContent = text(form, "failed");
        row.item.classList.add("upload-progress__item--refused");
        resolve();
      });
      request.send(data);
    });
  }

  function uploadAll(form, files) {
    var list = form.querySelector("[data-upload-progress]");
    var status = form.querySelector("[data-upload-status]");
    var button = form.querySelector("[data-upload-submit]");
    list.hidden = false;
    list.textContent = "";
    if (button) { button.disabled = true; }
    var rows = files.map(function (file) { return progressRow(form, list, file); });
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () { return sendOne(form, file, index === 0, rows[index]); });
    });
    chain.then(function () {
      if (status) { status.textContent = text(form, "done"); }
      window.location.assign(form.getAttribute("data-summary-url"));
    });
  }

  function enhance(form) {
    var input = form.querySelector('input[type="file"]');
    var zone = form.querySelector("[data-dropzone]");
    if (!input || !zone || !window.FormData || !window.XMLHttpRequest) { return; }
    zone.hidden = false;
    form.classList.add("upload-form--enhanced");

    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dropzone--active");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function (event) {
        event.preventDefault();
        if (name === "drop" || !form.contains(event.relatedTarget)) { zone.classList.remove("dropzone--active"); }
      });
    });
    form.addEventListener("drop", function (event) {
      var files = event.dataTransfer ? Array.prototype.slice.call(event.dataTransfer.files) : [];
      if (files.length) { uploadAll(form, files); }
    });
    form.addEventListener("submit", function (event) {
      var files = Array.prototype.slice.call(input.files || []);
      if (!files.length) { return; } // the server says "choose at least one file"
      event.preventDefault();
      uploadAll(form, files);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(enhance);
  });
})();
