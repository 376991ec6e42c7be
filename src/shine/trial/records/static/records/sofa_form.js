// The SOFA preview while the nurse types: the form is posted to its own page (which answers JSON to the preview
// header, in the page's language) as values change.
(function () {
  var form = document.getElementById("crf");
  if (!form) return;
  // the server says where to preview and whether this is a daily record (data attributes: no inline script)
  var url = form.dataset.previewUrl;
  var daily = form.dataset.daily === "true";
  var timer = null;
  // the words shown, in the page's language (a JSON block of the page: no text in this file)
  var wordsEl = document.getElementById("form-words");
  var words = wordsEl ? JSON.parse(wordsEl.textContent) : {};
  function say(key, fill) {
    var text = words[key] || key;
    Object.keys(fill || {}).forEach(function (k) { text = text.split("{" + k + "}").join(fill[k]); });
    return text;
  }
  function component(k) { return (words.components && words.components[k]) || k; }
  function body() {
    // the form as it is (the server reads a decimal comma or point, and names the field of a text it cannot read)
    var data = new FormData(form);
    data.set("action", "preview");
    return data;
  }
  function show(data, ok) {
    var panel = document.getElementById("sofa-preview");
    var m = document.getElementById("sofa-modified"), dl = document.getElementById("sofa-components"), ul = document.getElementById("sofa-warnings");
    dl.innerHTML = ""; ul.innerHTML = "";
    if (!ok) {
      m.className = "error";
      m.textContent = (data.errors && data.errors.length) ? data.errors.map(function (e) { return e.message; }).join("; ") : (data.detail || say("cannot_compute"));
      return;
    }
    m.className = "big";
    m.textContent = data.modified === null ? say("not_scored", {missing: data.missing.map(component).join(", ")}) : say("modified", {score: data.modified});
    if (data.missing_input_labels.length) { var li0 = document.createElement("li"); li0.className = "warning"; li0.textContent = say("incomplete", {inputs: data.missing_input_labels.join(", ")}); ul.appendChild(li0); }
    var rows = Object.keys(data.components).map(function (k) { return [component(k), data.components[k] === null ? "–" : data.components[k]]; });
    function rounded(x) { return x === null ? "–" : String(Math.round(x)); }  // clinical precision
    rows.push(["P/F (mmHg)", rounded(data.converted.pao2_fio2)]);
    rows.push([say("bilirubin"), rounded(data.converted.bilirubin)]);
    rows.push([say("creatinine"), rounded(data.converted.creatinine)]);
    rows.push([say("sofa_total"), (data.total === null ? "–" : data.total) + "/24"]);
    rows.forEach(function (r) { var dt = document.createElement("dt"), dd = document.createElement("dd"); dt.textContent = r[0]; dd.textContent = r[1]; dl.appendChild(dt); dl.appendChild(dd); });
    data.warnings.forEach(function (w) { var li = document.createElement("li"); li.className = "warning"; li.textContent = w; ul.appendChild(li); });
    panel.dataset.modified = data.modified;
  }
  function update() {
    if (!daily) return;
    var headers = {"X-CSRFToken": form.elements["csrfmiddlewaretoken"].value};
    headers[form.dataset.previewHeader] = "json";
    fetch(url, {method: "POST", credentials: "same-origin", headers: headers, body: body()})
      .then(function (r) {
        // the request renewed the session's idle timeout (session_guard.js moves its warning on)
        if (r.status !== 401 && r.status !== 403) document.dispatchEvent(new CustomEvent("shine:server-contact"));
        return r.json().then(function (d) { show(d, r.ok); });
      })
      .catch(function () {});
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 300); });
  form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(update, 50); });
})();
