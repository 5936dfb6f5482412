// Drag-and-drop on top of the plain form: a file dropped on the zone is put into the form's file
// field and the form is sent as if the steward had chosen it (the page works the same without this).
(function () {
  "use strict";
  var form = document.getElementById("formulaire-depot");
  var zone = document.getElementById("zone-depot");
  var input = document.getElementById("fichier");
  var help = document.getElementById("aide-depot");
  if (!form || !zone || !input || !window.DataTransfer) { return; }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("survol"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("survol"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || files.length !== 1) {
      help.textContent = "Déposez un seul fichier à la fois.";
      return;
    }
    input.files = files;
    help.textContent = "Vérification de « " + files[0].name + " »…";
    form.submit();
  });
  input.addEventListener("change", function () {
    if (input.files.length === 1) { help.textContent = "Fichier choisi : « " + input.files[0].name + " »."; }
  });
})();
