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
  // the words shown, in the page's language (the page's JSON block: no text in this file)
  var wordsEl = document.getElementById("form-words");
  var words = wordsEl ? JSON.parse(wordsEl.textContent) : {};
  function say(key, time) { return (words[key] || key).split("{time}").join(time || ""); }
  function hhmm(t) { var d = new Date(t); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function check() {
    var idleEnd = lastContact + idle, end = Math.min(idleEnd, absoluteEnd), left = end - Date.now();
    if (left > warnBefore) { box.hidden = true; return; }
    box.hidden = false;
    if (left <= 0) {
      text.textContent = say("session_ended");
      stay.hidden = true;
    } else if (absoluteEnd <= idleEnd) {
      text.textContent = say("session_absolute", hhmm(end));
      stay.hidden = true;
    } else {
      text.textContent = say("session_idle", hhmm(end));
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
