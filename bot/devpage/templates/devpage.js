// The dev page's phones: the USSD keypad, threads kept at their newest message, focus kept through live updates.
// (After an action the server's redirect names the field to return to as the URL's fragment: the browser focuses it.)
// Live updates are the console's own script (console.js): it swaps the parts in as the dialog log grows.
(function () {
  "use strict";
  var input = document.getElementById("ussd-input");
  document.querySelectorAll("[data-key]").forEach(function (key) {
    key.addEventListener("click", function () {
      if (input) { input.value += key.getAttribute("data-key"); }
    });
  });
  document.querySelectorAll("[data-clear]").forEach(function (button) {
    button.addEventListener("click", function () { if (input) { input.value = ""; input.focus(); } });
  });

  function newest() {
    document.querySelectorAll("[data-scroll]").forEach(function (thread) { thread.scrollTop = thread.scrollHeight; });
  }

  // A live refresh replaces a part's contents: focus on a button inside it (a Telegram button) would fall to the
  // page; it goes back to the element with the same id.
  var focused = null;
  document.addEventListener("focusin", function (event) { focused = event.target && event.target.id ? event.target.id : null; });
  new MutationObserver(function () {
    newest();
    var active = document.activeElement;
    if (focused && (!active || active === document.body)) {
      var again = document.getElementById(focused);
      if (again) { again.focus({ preventScroll: true }); }
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-refreshed"] });
  newest();
}());
