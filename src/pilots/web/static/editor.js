// The correction editor (議事録の修正), served by pilots itself (no CDN, no framework).
// - plays the recording (the original, or the copy every browser plays when this one cannot);
//   a time button plays from its utterance; while playing, the current utterance is
//   highlighted and kept in view;
// - edits: text, speaker, split at the cursor, merge with the next, insert, delete, speaker
//   names; undo / redo within the page;
// - saves every change within two seconds as operations on the server's version of the
//   document; a save made on an older version (another tab saved first) is refused by the
//   server, and this page then stops editing and says so;
// - reports the clerk's activity (typing, clicking, scrolling, each second of playback) while
//   the page is visible, and when it is hidden: the server measures the correction time
//   from it (pilots.asr.activity);
// - keyboard: every shortcut uses Alt or Ctrl, so none fires by itself while typing.
(function () {
  "use strict";
  var root = document.querySelector("[data-editor]");
  if (!root) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var finished = root.getAttribute("data-finished") === "1";
  var idleGap = parseFloat(root.getAttribute("data-idle-gap")) * 1000;
  var list = root.querySelector('[data-role="utterances"]');
  var audio = document.getElementById("audio");
  var saveStatus = root.querySelector('[data-role="save-status"]');
  var conflictBox = root.querySelector('[data-role="conflict"]');
  var othersBox = root.querySelector('[data-role="others"]');
  var tab = "t" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  var version = parseInt(root.getAttribute("data-version"), 10);
  var pending = [];
  var moments = [];
  var hiddenAt = [];
  var lastMoment = 0;
  var saving = null;
  var timer = null;
  var blocked = false;
  var failing = false;  // the last save failed: its message stays until a save succeeds
  var undoStack = [];
  var redoStack = [];
  var lastText = {};
  var current = null;   // the utterance the clerk works on (focus), for the tool buttons
  var playing = null;   // the utterance under the playback position
  var counter = 0;

  root.querySelectorAll('[data-role="tab"]').forEach(function (input) { input.value = tab; });

  function items() { return Array.prototype.slice.call(list.querySelectorAll("li[data-id]:not([hidden])")); }
  function byId(id) { return list.querySelector('li[data-id="' + id + '"]'); }
  function textOf(li) { return li.querySelector(".text").textContent; }
  function clock(seconds) {
    var s = Math.max(0, Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return [h, m, r].map(function (n) { return (n < 10 ? "0" : "") + n; }).join(":");
  }
  function say(text) {
    // Said again unchanged (every key typed), the status would be announced again.
    if (saveStatus.textContent !== text) { saveStatus.textContent = text; }
  }
  items().forEach(function (li) { lastText[li.getAttribute("data-id")] = textOf(li); });

  // --- speakers: a label is shown by the name the clerk gave it ---------------------------
  function names() {
    var found = {};
    root.querySelectorAll("input[data-label]").forEach(function (input) {
      if (input.value.trim()) { found[input.getAttribute("data-label")] = input.value.trim(); }
    });
    return found;
  }
  function shown(label) { return names()[label] || label; }
  function labelOf(name) {
    var all = names();
    for (var label in all) { if (all[label] === name) { return label; } }
    return name;
  }
  function refreshSpeakers(label) {
    var name = shown(label);
    items().forEach(function (li) {
      if (li.getAttribute("data-speaker") === label) { li.querySelector("input.speaker").value = name; }
    });
    var datalist = document.getElementById("speaker-names");
    var options = {};
    root.querySelectorAll("li[data-id]").forEach(function (li) {
      var l = li.getAttribute("data-speaker");
      if (l) { options[shown(l)] = true; }
    });
    datalist.textContent = "";
    Object.keys(options).forEach(function (n) {
      var option = document.createElement("option");
      option.value = n;
      datalist.appendChild(option);
    });
  }

  // --- operations: applied to the page at once, sent to the server with the next save ------
  function label(li) {
    var time = clock(parseFloat(li.getAttribute("data-start")));
    li.querySelector(".time").textContent = time;
    li.querySelector(".time").setAttribute("aria-label", time + " から再生");
    li.querySelector("input.speaker").setAttribute("aria-label", time + " の発言の話者");
    li.querySelector(".text").setAttribute("aria-label", time + " の発言");
  }
  function make(id) {
    var existing = byId(id);
    if (existing) { return existing; }
    var template = root.querySelector('[data-role="utterance-template"]');
    var li = template.content.firstElementChild.cloneNode(true);
    li.setAttribute("data-id", id);
    return li;
  }
  function setTimes(li, start, end) {
    li.setAttribute("data-start", String(start));
    li.setAttribute("data-end", String(end));
    label(li);
  }
  function apply(op) {
    var li = op.id ? byId(op.id) : null;
    var other;
    if (op.op === "text") {
      if (textOf(li) !== op.text) { li.querySelector(".text").textContent = op.text; }
      lastText[op.id] = op.text;
    } else if (op.op === "speaker") {
      li.setAttribute("data-speaker", op.speaker);
      li.querySelector("input.speaker").value = shown(op.speaker);
      refreshSpeakers(op.speaker);
    } else if (op.op === "split") {
      var text = textOf(li);
      other = make(op["new"]);
      var start = parseFloat(li.getAttribute("data-start"));
      var end = parseFloat(li.getAttribute("data-end"));
      var cut = text.length ? start + (end - start) * op.at / text.length : start;
      other.querySelector(".text").textContent = text.slice(op.at);
      other.setAttribute("data-speaker", li.getAttribute("data-speaker"));
      other.querySelector("input.speaker").value = li.querySelector("input.speaker").value;
      other.className = "";
      other.hidden = false;
      li.after(other);
      li.querySelector(".text").textContent = text.slice(0, op.at);
      setTimes(other, cut, end);
      setTimes(li, start, cut);
      lastText[op.id] = text.slice(0, op.at);
      lastText[op["new"]] = text.slice(op.at);
    } else if (op.op === "merge") {
      other = byId(op.next);
      li.querySelector(".text").textContent = textOf(li) + textOf(other);
      if (other.classList.contains("flagged")) { li.classList.add("flagged"); }
      setTimes(li, parseFloat(li.getAttribute("data-start")),
        Math.max(parseFloat(li.getAttribute("data-end")), parseFloat(other.getAttribute("data-end"))));
      other.hidden = true;
      lastText[op.id] = textOf(li);
      // Undoing a split hides the utterance being worked on: the tools go on with the one
      // that took its text back, not with a hidden one.
      if (current === other) { focusText(li, null); current = li; }
    } else if (op.op === "insert") {
      other = make(op["new"]);
      var before = op.after ? byId(op.after) : null;
      other.querySelector(".text").textContent = op.text;
      other.setAttribute("data-speaker", op.speaker);
      other.querySelector("input.speaker").value = shown(op.speaker);
      var at = before ? parseFloat(before.getAttribute("data-end")) : 0;
      if (before) { before.after(other); } else { list.prepend(other); }
      other.hidden = false;
      setTimes(other, at, at);
      lastText[op["new"]] = op.text;
    } else if (op.op === "delete") {
      li.hidden = true;
      if (current === li) { current = null; }
    } else if (op.op === "restore") {
      li.hidden = false;
    } else if (op.op === "name") {
      var input = root.querySelector('input[data-label="' + CSS.escape(op.label) + '"]');
      if (input) { input.value = op.name; }
      refreshSpeakers(op.label);
    }
  }
  function send(op) {
    // Typing sends the whole text of the utterance: only its latest state needs to go.
    var last = pending[pending.length - 1];
    if (op.op === "text" && last && last.op === "text" && last.id === op.id) {
      pending[pending.length - 1] = op;
    } else {
      pending.push(op);
    }
    // Until the server has it, the page must not go on saying 保存しました (nor hide that
    // saving fails: that message stays while it does).
    if (!failing) { say("保存しています…"); }
    schedule();
  }
  function perform(doOps, undoOps, merge) {
    if (blocked || finished) { return false; }
    doOps.forEach(function (op) { apply(op); send(op); });
    var top = undoStack[undoStack.length - 1];
    if (merge && top && top.merge === merge) {
      top.redo = doOps;
    } else {
      undoStack.push({redo: doOps, undo: undoOps, merge: merge});
    }
    redoStack = [];
    return true;
  }
  function replay(from, to, key) {
    if (blocked || finished || !from.length) { return; }
    var entry = from.pop();
    entry[key].forEach(function (op) { apply(op); send(op); });
    entry.merge = null;
    to.push(entry);
  }
  function newId() {
    counter += 1;
    return (tab + "-" + counter).slice(-40);
  }

  // --- saving: within two seconds of a change, with the version it was made on -----------
  function schedule() {
    if (!timer) { timer = window.setTimeout(function () { timer = null; flush(false); }, 1000); }
  }
  function flush(leaving) {
    if (saving && !leaving) { return saving.then(function () { return flush(false); }); }
    if (!pending.length && !moments.length && !hiddenAt.length) { return Promise.resolve(); }
    if (blocked && !moments.length && !hiddenAt.length) { return Promise.resolve(); }
    // Leaving while a save is on its way: that save holds the version, so the operations
    // wait for it (sent with the same version, one of the two saves would be refused).
    var held = blocked || (leaving && saving);
    var ops = held ? [] : pending;
    var sentMoments = moments, sentHidden = hiddenAt;
    if (!held) { pending = []; }
    moments = [];
    hiddenAt = [];
    if (ops.length) { say("保存しています…"); }
    var body = JSON.stringify({version: version, tab: tab, ops: ops, moments: sentMoments,
      hidden: sentHidden, now: Date.now()});
    saving = fetch(root.getAttribute("data-save"), {
      method: "POST", credentials: "same-origin", keepalive: leaving,
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.status === 200) {
          failing = false;
          if (ops.length) {
            version = answer.version;
            root.setAttribute("data-version", String(version));  // the server's version now
            Object.keys(answer.times || {}).forEach(function (id) {
              var li = byId(id);
              if (li) { setTimes(li, answer.times[id][0], answer.times[id][1]); }
            });
            // 保存しました only once everything typed is on the server: what was typed while
            // this save was on its way goes with the next one, and is not saved yet.
            if (!pending.length) {
              say("保存しました（版 " + version + "、" + new Date().toLocaleTimeString("ja-JP") + "）");
            }
          }
          othersBox.hidden = !answer.others;
        } else if (response.status === 409) {
          stop(answer.message, ops.length);
        } else if (response.status >= 400 && response.status < 500) {
          // Refused (an operation the server cannot apply, an expired login): sent again it
          // would be refused again, and every later change would wait behind it.
          stop(answer.message || "保存できませんでした（" + response.status + "）", ops.length);
        } else {
          throw new Error(answer.message || String(response.status));
        }
      });
    }).catch(function (error) {
      failing = true;
      pending = ops.concat(pending);
      moments = sentMoments.concat(moments);
      hiddenAt = sentHidden.concat(hiddenAt);
      say("保存できませんでした（" + error.message + "）。2秒後にもう一度保存します。");
      window.setTimeout(function () { flush(false); }, 2000);
    }).then(function () { saving = null; });
    return saving;
  }
  function stop(message, lost) {
    blocked = true;
    pending = [];
    conflictBox.hidden = false;
    conflictBox.textContent = message + (lost ? "（保存されなかった操作: " + lost + "件）" : "");
    var reload = document.createElement("button");
    reload.type = "button";
    reload.textContent = "最新の内容を読み込む";
    reload.addEventListener("click", function () { window.location.reload(); });
    conflictBox.appendChild(document.createTextNode(" "));
    conflictBox.appendChild(reload);
    list.querySelectorAll(".text").forEach(function (t) { t.setAttribute("contenteditable", "false"); });
    say("保存を止めました。");
  }

  // --- activity: what the correction time is measured from --------------------------------
  function active() {
    if (finished || document.visibilityState !== "visible") { return; }
    var now = Date.now();
    if (now - lastMoment < 1000) { return; }
    lastMoment = now;
    moments.push(now);
    schedule();
  }
  ["keydown", "pointerdown", "wheel", "input"].forEach(function (name) {
    document.addEventListener(name, active, true);
  });
  list.addEventListener("scroll", active, {passive: true});
  window.setInterval(function () {
    if (audio && !audio.paused && !audio.ended) { active(); }
  }, 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      if (!finished) { hiddenAt.push(Date.now()); }
      flush(true);
    } else {
      active();
    }
  });
  window.addEventListener("pagehide", function () {
    if (!finished) { hiddenAt.push(Date.now()); }
    flush(true);
  });

  // --- the recording ---------------------------------------------------------------------
  var audioStatus = root.querySelector('[data-role="audio-status"]');
  if (audio) {
    var playable = audio.canPlayType(audio.getAttribute("data-mime")) !== "";
    audio.src = playable ? audio.getAttribute("data-src") : audio.getAttribute("data-play");
    if (!playable) { audioStatus.textContent = "この録音はブラウザで再生できない形式のため、再生用に変換しています（初回のみ、数十秒かかることがあります）…"; }
    audio.addEventListener("error", function () {
      if (audio.src.indexOf("copy=play") < 0) {
        audioStatus.textContent = "再生用に変換しています…";
        audio.src = audio.getAttribute("data-play");
      } else {
        audioStatus.textContent = "録音を再生できません。";
      }
    });
    audio.addEventListener("canplay", function () { audioStatus.textContent = ""; });
    audio.addEventListener("timeupdate", follow);
  }
  function seek(seconds, play) {
    if (!audio) { return; }
    audio.currentTime = Math.max(0, seconds);
    if (play) { audio.play().catch(function () { /* the browser may wait for a gesture */ }); }
  }
  function follow() {
    var t = audio.currentTime;
    var all = items();
    var lo = 0, hi = all.length - 1, found = null;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (parseFloat(all[mid].getAttribute("data-start")) <= t + 0.05) { found = all[mid]; lo = mid + 1; } else { hi = mid - 1; }
    }
    if (found === playing) { return; }
    if (playing) { playing.classList.remove("playing"); playing.removeAttribute("aria-current"); }
    playing = found;
    if (!found) { return; }
    found.classList.add("playing");
    found.setAttribute("aria-current", "true");
    var typing = document.activeElement && document.activeElement.closest("li[data-id]");
    if (!audio.paused && (!typing || typing === found)) {
      var box = found.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) { found.scrollIntoView({block: "center"}); }
    }
  }
  function speed(step) {
    var select = document.getElementById("speed");
    if (!select) { return; }
    select.selectedIndex = Math.max(0, Math.min(select.options.length - 1, select.selectedIndex + step));
    audio.playbackRate = parseFloat(select.value);
  }
  var speedSelect = document.getElementById("speed");
  if (speedSelect) {
    speedSelect.addEventListener("change", function () { audio.playbackRate = parseFloat(speedSelect.value); });
  }

  // --- moving around ----------------------------------------------------------------------
  function focusText(li, atEnd) {
    var text = li.querySelector(".text");
    text.focus();
    if (atEnd === null) { return; }
    var range = document.createRange();
    range.selectNodeContents(text);
    range.collapse(!atEnd);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  function caret(li) {
    var selection = window.getSelection();
    var text = li.querySelector(".text");
    if (!selection.rangeCount || !text.contains(selection.getRangeAt(0).endContainer)) { return textOf(li).length; }
    var range = selection.getRangeAt(0);
    var before = document.createRange();
    before.selectNodeContents(text);
    before.setEnd(range.endContainer, range.endOffset);
    return before.toString().length;
  }
  function step(direction) {
    var all = items();
    var from = current || playing;
    var index = from ? all.indexOf(from) + direction : 0;
    var li = all[Math.max(0, Math.min(all.length - 1, index))];
    if (!li) { return; }
    focusText(li, false);
    seek(parseFloat(li.getAttribute("data-start")), false);
  }
  function nextFlag() {
    var all = items();
    var from = current || playing;
    var start = from ? all.indexOf(from) + 1 : 0;
    for (var k = 0; k < all.length; k++) {
      var li = all[(start + k) % all.length];
      if (li.classList.contains("flagged") || li.querySelector("mark.unsure")) {
        focusText(li, false);
        li.scrollIntoView({block: "center"});
        seek(parseFloat(li.getAttribute("data-start")), false);
        return;
      }
    }
    say("確認箇所はありません。");
  }

  // --- editing ----------------------------------------------------------------------------
  function split() {
    if (!current) { return; }
    var id = current.getAttribute("data-id");
    var at = caret(current);
    var created = newId();
    if (perform([{op: "split", id: id, at: at, "new": created}], [{op: "merge", id: id, next: created}])) {
      focusText(byId(created), false);
    }
  }
  function mergeNext() {
    if (!current) { return; }
    var all = items();
    var next = all[all.indexOf(current) + 1];
    if (!next) { return; }
    var id = current.getAttribute("data-id");
    var length = textOf(current).length;
    perform([{op: "merge", id: id, next: next.getAttribute("data-id")}],
      [{op: "split", id: id, at: length, "new": next.getAttribute("data-id")}]);
  }
  function insert() {
    var after = current ? current.getAttribute("data-id") : null;
    var created = newId();
    var speakerLabel = current ? current.getAttribute("data-speaker") : "";
    if (perform([{op: "insert", after: after, "new": created, text: "", speaker: speakerLabel}],
      [{op: "delete", id: created}])) {
      focusText(byId(created), false);
    }
  }
  function remove() {
    if (!current) { return; }
    var all = items();
    var index = all.indexOf(current);
    var id = current.getAttribute("data-id");
    if (perform([{op: "delete", id: id}], [{op: "restore", id: id}])) {
      var neighbour = all[index + 1] || all[index - 1];
      current = null;
      if (neighbour) { focusText(neighbour, false); }
    }
  }
  list.addEventListener("input", function (event) {
    var text = event.target.closest(".text");
    if (!text) { return; }
    var li = text.closest("li");
    var id = li.getAttribute("data-id");
    var before = lastText[id];
    var after = textOf(li);
    if (!perform([{op: "text", id: id, text: after}], [{op: "text", id: id, text: before}], "text:" + id)) { return; }
    lastText[id] = after;
  });
  list.addEventListener("change", function (event) {
    if (!event.target.matches("input.speaker")) { return; }
    var li = event.target.closest("li");
    var old = li.getAttribute("data-speaker");
    var value = labelOf(event.target.value.trim());
    if (value !== old) {
      perform([{op: "speaker", id: li.getAttribute("data-id"), speaker: value}],
        [{op: "speaker", id: li.getAttribute("data-id"), speaker: old}]);
    }
  });
  root.querySelectorAll("input[data-label]").forEach(function (input) {
    var before = input.value.trim();
    input.addEventListener("change", function () {
      var value = input.value.trim();
      var lbl = input.getAttribute("data-label");
      if (value === before) { return; }
      if (perform([{op: "name", label: lbl, name: value}], [{op: "name", label: lbl, name: before}])) {
        before = value;
      }
    });
  });
  list.addEventListener("focusin", function (event) {
    var li = event.target.closest("li[data-id]");
    if (li) { current = li; }
    if (undoStack.length) { undoStack[undoStack.length - 1].merge = null; }
  });
  list.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-seek]");
    if (!button) { return; }
    var li = button.closest("li");
    current = li;
    seek(parseFloat(li.getAttribute("data-start")), true);
  });

  var actions = {
    play: function () { if (audio) { if (audio.paused) { audio.play(); } else { audio.pause(); } } },
    back: function () { if (audio) { seek(audio.currentTime - 3, false); } },
    forward: function () { if (audio) { seek(audio.currentTime + 3, false); } },
    "next-flag": nextFlag,
    split: split,
    merge: mergeNext,
    insert: insert,
    "delete": remove,
    undo: function () { replay(undoStack, redoStack, "undo"); },
    redo: function () { replay(redoStack, undoStack, "redo"); }
  };
  root.querySelectorAll("button[data-action]").forEach(function (button) {
    // The tool buttons act on the utterance last worked on, so they must not take it away.
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () { actions[button.getAttribute("data-action")](); });
  });
  var keys = {
    KeyK: "play", KeyJ: "back", KeyL: "forward", KeyN: "next-flag",
    KeyS: "split", KeyM: "merge", KeyI: "insert", KeyD: "delete"
  };
  document.addEventListener("keydown", function (event) {
    if (event.isComposing) { return; }
    var name = null;
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      if (keys[event.code]) { name = keys[event.code]; }
      else if (event.code === "Comma") { name = "slower"; }
      else if (event.code === "Period") { name = "faster"; }
      else if (event.code === "ArrowUp") { name = "previous"; }
      else if (event.code === "ArrowDown") { name = "next"; }
    } else if ((event.ctrlKey || event.metaKey) && !event.altKey) {
      if (event.code === "KeyZ") { name = event.shiftKey ? "redo" : "undo"; }
      else if (event.code === "KeyY") { name = "redo"; }
    } else if (event.key === "Enter" && !event.shiftKey && event.target.closest && event.target.closest(".text")) {
      name = "split";
    }
    if (!name) { return; }
    event.preventDefault();
    if (name === "slower") { speed(-1); }
    else if (name === "faster") { speed(1); }
    else if (name === "previous") { step(-1); }
    else if (name === "next") { step(1); }
    else { actions[name](); }
  });

  // 修正完了: everything typed is saved first.
  var finishForm = root.querySelector("form[data-finish]");
  if (finishForm) {
    finishForm.addEventListener("submit", function (event) {
      event.preventDefault();
      active();
      flush(false).then(function () {
        if (pending.length || blocked) { return; }
        finishForm.submit();
      });
    });
  }
  active();
})();
