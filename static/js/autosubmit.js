/* A <select data-autosubmit> sends its form as soon as it changes (the Content-Security-Policy allows no
 * inline onchange). Without this file the form's own button still filters. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });
})();
