// Shows each <time class="local"> in the reader's own time zone and language; the UTC text the
// server wrote stays for anyone without scripts. A static script: the CSP forbids inline ones.
document.querySelectorAll('time.local[datetime]').forEach(function (element) {
  var at = new Date(element.getAttribute('datetime'));
  if (isNaN(at.getTime())) return;
  element.title = element.textContent;
  element.textContent = at.toLocaleString(undefined, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  });
});
