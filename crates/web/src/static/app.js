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
  // The counts of the sheet (overall and per domain) from the server's reply to a save.
  function showProgress(progress) {
    var all = [{ code: "all", filled: progress.filled, with_evidence: progress.with_evidence, needs_explanation: progress.needs_explanation }];
    all.concat(progress.domains || []).forEach(function (d) {
      Array.prototype.forEach.call(document.querySelectorAll("[data-domain='" + d.code + "']"), function (box) {
        var set = function (name, value) {
          Array.prototype.forEach.call(box.querySelectorAll("[data-progress=" + name + "]"), function (el) { el.textContent = value; });
        };
        set("filled", d.filled);
        set("evidence", d.with_evidence);
        set("explain", d.needs_explanation);
        var flag = box.querySelector("[data-progress-if=explain]");
        if (flag) flag.hidden = d.needs_explanation === 0;
      });
    });
    var total = document.querySelector("[data-testid=self-total]");
    if (total && progress.self_total) total.textContent = progress.self_total;
  }
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
        var needs = form.querySelector(".leaf-needs");
        if (needs) needs.hidden = !data.needs_explanation;
        if (data.progress) showProgress(data.progress);
        status.textContent = "✔";
        status.className = "save-status ok";
      } else {
        status.textContent = (data.error || "") ;
        status.className = "save-status failed";
        // A conflict: the other's value is in the message and the user's input is still in
        // the form. Saving over it is a deliberate click, with the version now stored.
        if (result.status === 409 && data.current && data.keep_mine) {
          var keep = document.createElement("button");
          keep.type = "button";
          keep.className = "secondary keep-mine";
          keep.textContent = data.keep_mine;
          keep.addEventListener("click", function () {
            form.querySelector("input[name=version]").value = data.current.version;
            queueSave(form);
          });
          status.appendChild(document.createTextNode(" "));
          status.appendChild(keep);
        }
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

// Tables: every data table with one header row gets a filter box (a search that ignores
// diacritics, so "danh gia" finds "đánh giá") and headers that sort on click (numbers with a
// decimal comma as numbers, text in Vietnamese order). Headers that are links sort on the
// server instead, and pages without script keep their server-side filters.
(function () {
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
  }
  function number(text) {
    var t = text.trim().replace(/\*$/, "").replace(/\./g, "").replace(",", ".");
    return /^[-−+]?\d+(\.\d+)?$/.test(t) ? parseFloat(t.replace("−", "-")) : null;
  }
  function enhance(table) {
    var head = table.tHead, body = table.tBodies[0];
    if (!head || !body || head.rows.length !== 1 || table.hasAttribute("data-plain")) return;
    // Only plain grids: a row with merged cells belongs to the row above it, and sorting or
    // filtering would tear them apart.
    var width = head.rows[0].cells.length;
    var grid = Array.prototype.every.call(body.rows, function (row) {
      return row.cells.length === width && Array.prototype.every.call(row.cells, function (c) { return c.colSpan === 1; });
    });
    if (!grid || body.rows.length < 2) return;
    var input = document.createElement("input");
    input.type = "search";
    input.className = "table-filter no-print";
    input.placeholder = document.documentElement.lang === "en" ? "Filter this table…" : "Lọc bảng…";
    input.setAttribute("aria-label", input.placeholder);
    if (table.dataset.testid) input.setAttribute("data-testid", "filter-" + table.dataset.testid);
    input.addEventListener("input", function () {
      var needle = fold(input.value.trim());
      Array.prototype.forEach.call(body.rows, function (row) {
        row.hidden = needle !== "" && fold(row.textContent).indexOf(needle) === -1;
      });
    });
    var anchor = table.parentNode.classList.contains("table-scroll") ? table.parentNode : table;
    anchor.parentNode.insertBefore(input, anchor);
    Array.prototype.forEach.call(head.rows[0].cells, function (th, column) {
      if (th.querySelector("a") || th.colSpan > 1) return;
      th.classList.add("sorts");
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(head.rows[0].cells, function (c) { if (c.classList.contains("sorts")) c.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column] ? a.cells[column].textContent : "", y = b.cells[column] ? b.cells[column].textContent : "";
          var nx = number(x), ny = number(y), order;
          if (nx !== null && ny !== null) order = nx - ny;
          else order = x.trim().localeCompare(y.trim(), "vi");
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter") sort(); });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), enhance);
})();
