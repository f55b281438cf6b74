// After re-authentication, the change the person asked for continues without being typed again.
document.querySelectorAll('form[data-autosubmit]').forEach(function (form) {
  form.submit();
});
