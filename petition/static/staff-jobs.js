// Background job progress: <div data-job-url="/staff/jobs/ID.json"> holding a <progress> and a
// [data-job-message] line. Polls the job once a second; reloads the page when it has finished,
// so the new delivery (or the failure) shows. A separate file: the CSP allows no inline script.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-job-url]");
  Array.prototype.forEach.call(boxes, function (box) {
    var bar = box.querySelector("progress");
    var message = box.querySelector("[data-job-message]");
    var url = box.getAttribute("data-job-url");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (job) {
          if (bar && job.total) {
            bar.max = job.total;
            bar.value = job.progress;
            bar.textContent = job.progress + " / " + job.total;
          }
          if (message && job.message) message.textContent = job.message;
          if (job.state === "done" || job.state === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    poll();
  });
})();
