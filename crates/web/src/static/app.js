// parindex: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Ask before destructive actions (buttons carrying data-confirm). Without JavaScript the
  // form simply submits, and the server still checks everything.
  document.addEventListener("submit", function (event) {
    var button = event.submitter || document.activeElement;
    var message = button && button.getAttribute && button.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Autosave of a self-assessment leaf: the form posts itself in the background when a value
  // changes. The server computes the score; on a conflict or a refusal the message is shown
  // and what the user typed stays in the form.
  function save(form) {
    var status = form.querySelector(".save-status");
    var body = new URLSearchParams(new FormData(form));
    var csrf = form.querySelector("input[name=csrf]");
    status.textContent = "…";
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRF-Token": csrf ? csrf.value : ""
      },
      body: body.toString()
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      var data = result.data;
      if (data.ok) {
        form.querySelector("input[name=version]").value = data.version;
        form.querySelector(".score-value").textContent = data.score_text;
        form.querySelector(".explanation").textContent = data.explanation;
        status.textContent = "✔";
        status.className = "save-status ok";
      } else {
        status.textContent = (data.error || "") ;
        status.className = "save-status failed";
      }
    }).catch(function () {
      status.textContent = (document.documentElement.lang === "en" ? "Not saved (no connection); your input is kept." : "Chưa lưu được (mất kết nối); dữ liệu bạn nhập vẫn còn trên trang.");
      status.className = "save-status failed";
    });
  }
  // One save at a time per form: a change while a save is in flight is saved right after it,
  // with the version the first save returned (two overlapping saves would conflict).
  function queueSave(form) {
    if (form.parindexSaving) {
      form.parindexPending = true;
      return;
    }
    form.parindexSaving = true;
    save(form).then(function () {
      form.parindexSaving = false;
      if (form.parindexPending) {
        form.parindexPending = false;
        queueSave(form);
      }
    });
  }
  var forms = document.querySelectorAll("form[data-autosave]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("change", function () { queueSave(form); });
    form.addEventListener("submit", function (event) {
      if (!event.defaultPrevented) {
        event.preventDefault();
        queueSave(form);
      }
    });
  });
})();
