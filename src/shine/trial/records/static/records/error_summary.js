// After a refused save, focus moves to the summary of problems at the top of the form.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
