// Warns before the session ends (idle timeout or absolute lifetime, from the form's data attributes) and offers
// to stay signed in. If it ends anyway, the Save keeps the typed values on the server (records/drafts.py).
(function () {
  var form = document.getElementById("crf"), box = document.getElementById("session-warning");
  if (!form || !box || !form.dataset.sessionIdleSeconds) return;
  var text = document.getElementById("session-warning-text"), stay = document.getElementById("stay-signed-in");
  var idle = Number(form.dataset.sessionIdleSeconds) * 1000, loaded = Date.now();
  var absoluteLeft = form.dataset.sessionAbsoluteLeftSeconds;
  var absoluteEnd = absoluteLeft === "" ? Infinity : loaded + Number(absoluteLeft) * 1000;
  var lastContact = loaded, warnBefore = Math.min(5 * 60 * 1000, idle / 3);
  function hhmm(t) { var d = new Date(t); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function check() {
    var idleEnd = lastContact + idle, end = Math.min(idleEnd, absoluteEnd), left = end - Date.now();
    if (left > warnBefore) { box.hidden = true; return; }
    box.hidden = false;
    if (left <= 0) {
      text.textContent = "Your session has ended. What you typed is kept: press Save, log in again, and the values are put back into this form.";
      stay.hidden = true;
    } else if (absoluteEnd <= idleEnd) {
      text.textContent = "Your session ends at " + hhmm(end) + " (the longest a login lasts). Save before then; if it ends, what you typed is kept and put back after you log in again.";
      stay.hidden = true;
    } else {
      text.textContent = "Your session ends at " + hhmm(end) + " unless you stay signed in. If it ends, what you typed is kept and put back after you log in again.";
      stay.hidden = false;
    }
  }
  document.addEventListener("shine:server-contact", function () { lastContact = Date.now(); check(); });
  stay.addEventListener("click", function () {
    fetch(window.location.href, {credentials: "same-origin", redirect: "manual"}).then(function (r) {
      if (r.ok) { lastContact = Date.now(); check(); }
    }).catch(function () {});
  });
  setInterval(check, 10000);
  check();
})();
