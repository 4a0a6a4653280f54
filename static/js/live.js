// The /live page: cards for shared generations, updated over /ws/live/.
(function () {
  "use strict";
  var root = document.getElementById("live");
  if (!root) return;
  var list = document.getElementById("live-jobs");
  var empty = document.getElementById("live-empty");
  var d = root.dataset;

  function text(tag, className, value) {
    var el = document.createElement(tag);
    el.className = className;
    el.textContent = value;
    return el;
  }
  function card(job) {
    var li = list.querySelector('[data-job="' + job.job + '"]');
    if (li) return li;
    li = document.createElement("li");
    li.className = "card live-card";
    li.dataset.job = job.job;
    var img = document.createElement("img");
    img.className = "live-preview";
    img.width = 128;
    img.height = 128;
    img.alt = "";
    var body = document.createElement("div");
    body.className = "card-body";
    body.appendChild(text("p", "card-prompt", job.prompt || ""));
    body.appendChild(text("p", "card-meta", d.labelBy + " " + (job.owner || "—") + " · " + (job.model || "")));
    var bar = document.createElement("progress");
    bar.className = "live-progress";
    bar.max = job.total || 1;
    bar.value = job.step || 0;
    body.appendChild(bar);
    var status = text("p", "live-status card-meta", "");
    status.setAttribute("role", "status");
    body.appendChild(status);
    li.appendChild(img);
    li.appendChild(body);
    list.prepend(li);
    empty.hidden = true;
    return li;
  }
  function update(li, msg) {
    var bar = li.querySelector(".live-progress");
    var status = li.querySelector(".live-status");
    if (msg.type === "progress") {
      bar.max = msg.total;
      bar.value = msg.step;
      status.textContent = d.labelStep + " " + msg.step + "/" + msg.total;
    } else if (msg.type === "preview" && msg.image) {
      li.querySelector(".live-preview").src = msg.image;
    } else if (msg.type === "done" || msg.type === "error" || msg.type === "cancelled") {
      if (msg.type === "done") bar.value = bar.max;
      status.textContent = msg.type === "done" ? d.labelDone : d.labelFailed;
      setTimeout(function () {
        li.remove();
        if (!list.children.length) empty.hidden = false;
      }, 15000);
    }
  }
  function handle(msg) {
    if (msg.type === "live") {
      msg.jobs.forEach(function (job) { update(card(job), { type: "progress", step: job.step, total: job.total }); if (job.preview) update(card(job), { type: "preview", image: job.preview }); });
      return;
    }
    if (msg.job === undefined) return;
    var li = list.querySelector('[data-job="' + msg.job + '"]');
    if (!li && msg.type === "status") li = card(msg);
    if (li) update(li, msg);
  }
  var retries = 0;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + d.wsPath);
    socket.onmessage = function (event) { retries = 0; handle(JSON.parse(event.data)); };
    socket.onclose = function () { retries += 1; setTimeout(connect, Math.min(10000, 500 * retries)); };
  }
  connect();
})();
