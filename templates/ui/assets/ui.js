// Breachline UI enhancements. Every page works without this file: it only keeps
// deadline countdowns current and follows dispatch progress without a reload.
(function () {
  "use strict";

  function span(seconds) {
    var abs = Math.abs(seconds);
    var d = Math.floor(abs / 86400), h = Math.floor((abs % 86400) / 3600), m = Math.floor((abs % 3600) / 60);
    return (d > 0 ? d + "d " : "") + h + "h " + m + "m";
  }

  function urgency(seconds) {
    if (seconds <= 0) return "overdue";
    if (seconds < 86400) return "lt24h";
    if (seconds < 3 * 86400) return "lt72h";
    return "later";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) return;
      var seconds = Math.floor((due - now) / 1000);
      var text = span(seconds);
      el.textContent = seconds <= 0 ? (el.getAttribute("data-overdue") || "overdue") + " " + text : text;
      el.classList.remove("overdue", "lt24h", "lt72h", "later");
      el.classList.add(urgency(seconds));
    });
  }

  function pills(counts) {
    var frag = document.createDocumentFragment();
    Object.keys(counts || {}).forEach(function (key) {
      var s = document.createElement("span");
      s.className = "pill";
      s.textContent = key + " " + counts[key];
      frag.appendChild(s);
      frag.appendChild(document.createTextNode(" "));
    });
    return frag;
  }

  function show(box, p) {
    var set = function (field, value) {
      var el = box.querySelector('[data-field="' + field + '"]');
      if (el) el.textContent = value;
      return el;
    };
    set("status", p.status);
    set("approved_by", p.approved_by || "—");
    var meets = box.querySelector('[data-field="meets"]');
    if (meets && p.meets_deadline !== null && p.meets_deadline !== undefined) {
      meets.textContent = meets.getAttribute(p.meets_deadline ? "data-yes" : "data-no");
    }
    box.querySelectorAll("[data-while]").forEach(function (el) {
      el.hidden = el.getAttribute("data-while") !== p.status;
    });
    set("rate", p.rate_per_s);
    set("eta", p.eta_at || "—");
    var counts = box.querySelector('[data-field="counts"]');
    if (counts) { counts.textContent = ""; counts.appendChild(pills(p.counts)); }
    var rows = box.querySelector('[data-field="by_channel"]');
    if (rows) {
      rows.textContent = "";
      Object.keys(p.by_channel || {}).forEach(function (channel) {
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.scope = "row";
        th.textContent = channel;
        var td = document.createElement("td");
        td.appendChild(pills(p.by_channel[channel]));
        tr.appendChild(th);
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    }
  }

  function follow(box) {
    var url = box.getAttribute("data-progress-url");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (p) {
          show(box, p);
          if (p.status !== "completed" && p.status !== "cancelled") setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    document.querySelectorAll("[data-progress-url]").forEach(follow);
  });
})();
