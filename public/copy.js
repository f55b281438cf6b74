// Copy buttons ([data-copy] names the element whose text is copied; a static script: the CSP forbids inline ones).
// innerText keeps one line per list item, so a list of codes is copied one code a line.
document.querySelectorAll('[data-copy]').forEach(function (button) {
  var label = button.textContent;
  button.addEventListener('click', function () {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText((source.innerText || source.textContent).trim()).then(function () {
      button.textContent = 'Copied';
      setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  });
});
