// The screening form: questions that cannot apply hidden; "none of the exclusion criteria apply" in one tap.
(function () {
  // questions that cannot apply are hidden: pregnancy for men and for women at or above the exempt age
  var form = document.getElementById("screening-form");
  if (!form) return;
  var exempt = parseInt(form.dataset.pregnancyExemptAge, 10), exclusions = JSON.parse(form.dataset.exclusions);
  var preg = document.getElementById("id_pregnant"), none = document.getElementById("id_none_of_the_exclusions");
  function update() {
    if (!preg || !form.elements["sex"]) return;
    var sex = form.elements["sex"].value, age = parseInt((form.elements["age"] || {}).value, 10);
    preg.closest(".field").hidden = sex === "M" || (sex === "F" && age >= exempt);
  }
  form.addEventListener("input", update); form.addEventListener("change", update); update();
  if (none) none.addEventListener("change", function () {
    if (!none.checked) return;
    exclusions.forEach(function (n) {
      var no = form.querySelector("input[name=" + n + "][value=false]"), chosen = form.querySelector("input[name=" + n + "]:checked");
      if (no && !chosen) no.checked = true;
    });
  });
})();
