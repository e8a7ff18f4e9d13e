// mxtls: live progress on the waiting page (server-sent events).
// The page works without this file: it reloads itself inside <noscript>.
"use strict";
(function () {
  var status = document.getElementById("status");
  var list = document.getElementById("progress");
  if (!status || !list || !window.EventSource) { return; }
  var id = status.getAttribute("data-check");
  var shown = list.children.length;
  var seen = 0;
  var source = new EventSource("/api/v1/checks/" + encodeURIComponent(id) + "/events");
  source.addEventListener("progress", function (message) {
    var event = JSON.parse(message.data);
    seen += 1;
    if (seen <= shown) { return; } // already on the page
    var item = document.createElement("li");
    item.textContent = event.text; // text, never HTML
    list.appendChild(item);
    status.firstChild.textContent = "Running… ";
  });
  source.addEventListener("done", function () {
    source.close();
    status.firstChild.textContent = "Done: loading the result… ";
    window.location.reload();
  });
  source.onerror = function () {
    // The stream ended or the server went away: fall back to reloading.
    source.close();
    window.setTimeout(function () { window.location.reload(); }, 3000);
  };
})();
