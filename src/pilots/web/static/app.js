// Progress of the transcription jobs on the 議事録作成 page: polls the server every
// two seconds and reloads the page when a job finishes. Without script the page
// still works (the 一覧を更新 link).
(function () {
  "use strict";
  function poll() {
    var table = document.querySelector("table[data-poll]");
    if (!table) { return; }
    var rows = table.querySelectorAll("tr[data-job]");
    var pending = [];
    rows.forEach(function (row) {
      var state = row.getAttribute("data-state");
      if (state === "queued" || state === "running") { pending.push(row.getAttribute("data-job")); }
    });
    if (pending.length === 0) { return; }
    fetch(table.getAttribute("data-poll") + "?ids=" + pending.join(","), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var finished = false;
        data.jobs.forEach(function (job) {
          var row = table.querySelector('tr[data-job="' + job.id + '"]');
          if (!row) { return; }
          if (job.state === "done" || job.state === "failed") { finished = true; }
          var label = row.querySelector('[data-role="label"]');
          if (label) { label.textContent = job.label; }
          var bar = row.querySelector("progress");
          if (bar) { bar.value = job.progress; bar.textContent = Math.round(job.progress * 100) + "%"; }
          row.setAttribute("data-state", job.state);
        });
        if (finished) { window.location.reload(); }
      })
      .catch(function () { /* the server may be restarting: try again later */ });
  }
  document.addEventListener("DOMContentLoaded", function () { window.setInterval(poll, 2000); });
})();
