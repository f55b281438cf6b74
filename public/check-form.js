// Checks what can be checked without the server before a form is sent (a required field left
// empty, an address not shaped like one, a new password shorter than the policy's minimum, a
// confirmation that differs) so that a refused form keeps what was typed, the password included:
// the server never echoes a password into a page. The messages are the server's own, written by
// the page into each field's data-* attributes (views/partials/field.ejs); the server checks
// everything again. Like the server, it puts the error next to the field (aria-describedby,
// aria-invalid) and focuses the first field to fix. A static script: the CSP forbids inline ones.
(function () {
  var EMAIL = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$/;
  var CHECKED = '[data-required], [data-email], [data-min-length], [data-matches]';

  function problemOf(input) {
    var data = input.dataset;
    // Passwords are taken as typed (spaces count); other fields are trimmed, as the server does.
    var value = input.type === 'password' ? input.value : input.value.trim();
    if (data.required && value === '') return data.required;
    if (data.email && value !== '' && !EMAIL.test(value)) return data.email;
    if (data.minLength) {
      // Code points after NFKC, as the password policy counts them.
      var length = Array.from(value.normalize('NFKC')).length;
      if (length < Number(data.minLength)) return data.tooShort.replace('{n}', String(length));
    }
    if (data.matches) {
      var other = document.getElementById(data.matches);
      if (other && other.value !== input.value) return data.mismatch;
    }
    return null;
  }

  function describedBy(input, errorId, on) {
    var ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(function (id) {
      return id && id !== errorId;
    });
    if (on) ids.push(errorId);
    if (ids.length > 0) input.setAttribute('aria-describedby', ids.join(' '));
    else input.removeAttribute('aria-describedby');
  }

  function show(input, message) {
    var errorId = input.id + '-error';
    var error = document.getElementById(errorId);
    var field = input.closest('.field');
    if (message === null) {
      if (error) error.remove();
      input.removeAttribute('aria-invalid');
      describedBy(input, errorId, false);
      if (field) field.classList.remove('has-error');
      return;
    }
    if (!error) {
      error = document.createElement('p');
      error.className = 'error';
      error.id = errorId;
      error.setAttribute('role', 'alert');
      input.insertAdjacentElement('afterend', error);
    }
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    describedBy(input, errorId, true);
    if (field) field.classList.add('has-error');
  }

  document.querySelectorAll('form').forEach(function (form) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll(CHECKED));
    if (inputs.length === 0) return;
    form.addEventListener('submit', function (event) {
      var first = null;
      inputs.forEach(function (input) {
        var message = problemOf(input);
        show(input, message);
        if (message !== null && first === null) first = input;
      });
      if (first === null) return;
      event.preventDefault();
      first.focus();
    });
  });
})();
