// The export's page reloads itself while the export is waiting or running (its data-refresh-seconds), so the
// progress moves and the download appears without a click. No text here: the page says everything.
(function () {
  var box = document.getElementById("export-job");
  if (!box || !box.dataset.refreshSeconds) return;
  window.setTimeout(function () { window.location.reload(); }, Number(box.dataset.refreshSeconds) * 1000);
})();
