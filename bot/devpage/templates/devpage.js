// The dev page's phones: the USSD keypad, threads kept at their newest message, focus kept where the user works.
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

  // After an action the page comes back at the panel it was done in (#sms, #ussd, #telegram, #clock).
  var panel = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
  var field = panel ? panel.querySelector("[data-focus]") : null;
  if (field) { field.focus({ preventScroll: true }); panel.scrollIntoView({ block: "nearest" }); }
  newest();
}());
