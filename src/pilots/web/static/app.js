// The few lines of script of the web UI, served by pilots itself (no CDN):
// - the progress of the transcription jobs on the 議事録作成 page: polls the server
//   every two seconds and reloads the page when a job finishes;
// - the upload form: its button is disabled once clicked, and the upload's progress
//   is shown while the recording is sent;
// - forms with data-confirm ask before they are sent (deleting a recording).
// Without script every page still works (the 一覧を更新 link, a plain form post; the
// server takes the same file sent twice as one job).
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

  function upload(form) {
    var button = form.querySelector('button[type="submit"]');
    var box = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var status = form.querySelector('[data-role="upload-status"]');
    function say(text) { status.setAttribute("role", "status"); status.textContent = text; }
    function failed(text) {
      status.setAttribute("role", "alert");  // a refusal is announced at once
      status.textContent = text;
      button.disabled = false;
      box.hidden = true;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.disabled) { return; }
      button.disabled = true;
      box.hidden = false;
      bar.value = 0;
      say("送信しています…");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-Pilots-Upload", "1");
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var share = Math.round(e.loaded * 100 / e.total);
        bar.value = share;
        bar.textContent = share + "%";
        say(share < 100 ? "送信しています… " + share + "%" : "送信しました。受け付けています…");
      });
      request.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(request.responseText); } catch (e) { answer = null; }
        if (request.status === 200 && answer && answer.location) {
          window.location.assign(answer.location);
        } else if (request.status === 400 && answer && answer.messages) {
          failed(answer.messages.join(" "));
        } else if (request.status === 413) {
          failed("ファイルが大きすぎます（1回の送信で合計 " + form.getAttribute("data-limit-mb") + " MB まで）。");
        } else {
          failed("送信できませんでした（" + request.status + "）。ページを開き直してからもう一度送ってください。");
        }
      });
      request.addEventListener("error", function () {
        failed("送信できませんでした。ファイルが大きすぎるか（1回の送信で合計 " +
          form.getAttribute("data-limit-mb") + " MB まで）、サーバーに接続できません。");
      });
      request.send(new FormData(form));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setInterval(poll, 2000);
    document.querySelectorAll("form[data-upload]").forEach(upload);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  });
})();
