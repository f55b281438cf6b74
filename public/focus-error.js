// After a refused form, focus goes to the first field that needs fixing, so that a screen reader
// reads its error and a keyboard user can type at once (WCAG 2.2 §3.3.1). A static script: the
// CSP forbids inline ones.
(function () {
  var invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
})();
