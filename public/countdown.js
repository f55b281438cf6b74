// Counts [data-countdown] seconds down in place: a throttle's wait ("You can enter your code again in
// 4 seconds.") or a resend button held back for a while. A static script: the CSP forbids inline ones.
// It only spares people a refused try; the server's delays and send budgets stay the real limits, and
// without the script the page still works (the element stays hidden, the button stays enabled).
(function () {
  function secondsText(n) {
    return n + (n === 1 ? ' second' : ' seconds');
  }
  document.querySelectorAll('[data-countdown]:not([data-counting])').forEach(function (element) {
    // Marked, so that a page including this script twice counts once.
    element.setAttribute('data-counting', '');
    var end = Date.now() + Number(element.getAttribute('data-countdown')) * 1000;
    var during = element.getAttribute('data-during');
    var done = element.getAttribute('data-done');
    var button = element.tagName === 'BUTTON';
    var timer;
    function show() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left > 0) {
        element.textContent = during.replace('{time}', secondsText(left));
        return;
      }
      clearInterval(timer);
      element.textContent = done;
      if (button) element.disabled = false;
      // Said once, when it matters: a timer is not read out every second.
      else element.setAttribute('role', 'status');
    }
    if (button) element.disabled = true;
    element.hidden = false;
    show();
    timer = setInterval(show, 1000);
  });
})();
