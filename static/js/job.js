// Live progress of one generation job over /ws/jobs/<id>/, with an HTTP polling fallback.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var bar = document.getElementById("job-progress");
  var status = document.getElementById("job-status");
  var images = document.getElementById("job-images");
  var preview = document.getElementById("job-preview");
  var withheld = document.getElementById("job-withheld");
  var d = root.dataset;
  var finished = ["succeeded", "failed", "cancelled", "blocked"].indexOf(d.state) >= 0;
  var pollTimer = null;
  var retries = 0;

  function setProgress(percent) {
    bar.value = percent;
    bar.textContent = percent + "%";
  }
  function showImages(urls) {
    images.textContent = "";
    urls.forEach(function (url) {
      var img = document.createElement("img");
      img.src = url;
      img.alt = d.labelAlt;
      images.appendChild(img);
    });
  }
  // Pictures the image classifier withheld: never shown, but the member is told why.
  function showWithheld(notices) {
    withheld.textContent = "";
    notices.forEach(function (notice) {
      var item = document.createElement("li");
      item.textContent = notice.reason;
      withheld.appendChild(item);
    });
    withheld.hidden = notices.length === 0;
  }
  function handle(msg) {
    switch (msg.type) {
      case "queue":
        status.textContent = d.labelQueued + " " + msg.position;
        break;
      case "status":
        status.textContent = d.labelRunning;
        break;
      case "progress":
        setProgress(Math.round((100 * msg.step) / msg.total));
        var text = d.labelStep + " " + msg.step + "/" + msg.total;
        if (msg.eta_s !== null && msg.eta_s !== undefined && msg.step < msg.total) {
          text += " · " + d.labelEta.replace("%(s)s", msg.eta_s.toFixed(1));
        }
        status.textContent = text;
        break;
      case "preview":
        if (msg.image) {
          preview.src = msg.image;
          preview.hidden = false;
        }
        break;
      case "done":
        setProgress(100);
        status.textContent = d.labelDone;
        showImages(msg.images || []);
        showWithheld(msg.withheld || []);
        finish();
        break;
      case "error":
        status.textContent = d.labelError + " " + msg.message;
        finish();
        break;
      case "cancelled":
        status.textContent = d.labelCancelled;
        finish();
        break;
    }
  }
  function finish() {
    finished = true;
    preview.hidden = true;
    var cancel = document.getElementById("job-cancel");
    if (cancel) cancel.hidden = true;
    root.dataset.state = "finished";
    if (pollTimer) clearInterval(pollTimer);
  }
  function poll() {
    fetch(d.statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state === "succeeded") handle({ type: "done", images: s.images, withheld: s.withheld });
        else if (s.state === "failed" || s.state === "blocked") handle({ type: "error", message: s.error || "" });
        else if (s.state === "cancelled") handle({ type: "cancelled" });
        else if (s.state === "queued") handle({ type: "queue", position: s.queue_position });
        else handle({ type: "progress", step: s.progress.step, total: s.progress.total, eta_s: s.progress.eta_s });
      })
      .catch(function () {});
  }
  function connect() {
    if (finished) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + d.wsPath);
    socket.onmessage = function (event) { retries = 0; handle(JSON.parse(event.data)); };
    socket.onclose = function () {
      if (finished) return;
      retries += 1;
      if (retries > 3 && !pollTimer) {
        pollTimer = setInterval(poll, 1000);
      } else {
        setTimeout(connect, 500 * retries);
      }
    };
  }
  if (!finished) connect();
})();
