// Copy buttons: <button data-copy="#input-id" data-copied="Copied">.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var input = document.querySelector(button.getAttribute("data-copy"));
  if (!input) return;
  var done = function () { button.textContent = button.getAttribute("data-copied"); };
  if (navigator.clipboard) {
    navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
  } else {
    input.select();
    document.execCommand("copy");
    done();
  }
});
