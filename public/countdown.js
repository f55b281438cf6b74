// Counts [data-countdown] seconds down in place: a throttle's wait ("You can enter your code again in
// 4 seconds.") or a resend button held back for a while. A static script: the CSP forbids inline ones.
// It only spares people a refused try; the server's delays and send budgets stay the real limits, and
// without the script the page still works (the element stays hidden, the button stays enabled).
// Scripts that learn of a wait later (a passkey refused with Retry-After) start one with
// window.twofoldCountdown(element) once they have set its data-countdown.
(function () {
  function secondsText(n) {
    return n + (n === 1 ? ' second' : ' seconds');
  }
  function start(element) {
    // Marked, so that a page including this script twice counts once; a new wait replaces the old.
    element.setAttribute('data-counting', '');
    clearInterval(element.twofoldTimer);
    var end = Date.now() + Number(element.getAttribute('data-countdown')) * 1000;
    var during = element.getAttribute('data-during');
    var done = element.getAttribute('data-done');
    var button = element.tagName === 'BUTTON';
    function show() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left > 0) {
        element.textContent = during.replace('{time}', secondsText(left));
        return;
      }
      clearInterval(element.twofoldTimer);
      element.textContent = done;
      if (button) element.disabled = false;
      // Said once, when it matters: a timer is not read out every second.
      else element.setAttribute('role', 'status');
    }
    if (button) element.disabled = true;
    else element.setAttribute('role', 'timer');
    element.hidden = false;
    show();
    element.twofoldTimer = setInterval(show, 1000);
  }
  window.twofoldCountdown = start;
  document.querySelectorAll('[data-countdown]:not([data-counting])').forEach(start);
})();
