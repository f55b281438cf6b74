// The Print button on the recovery-codes page (a static script: the CSP forbids inline ones).
document.querySelectorAll('[data-print]').forEach(function (button) {
  button.addEventListener('click', function () {
    window.print();
  });
});
