// The site's only script (no inline scripts: the Content-Security-Policy allows scripts from this site only).
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('select[data-autosubmit]').forEach(function (el) {
    el.addEventListener('change', function () { el.form.submit(); });
  });
  document.querySelectorAll('a[data-back]').forEach(function (a) {
    a.addEventListener('click', function (e) { e.preventDefault(); history.back(); });
  });
  if (window.Plotly) {
    document.querySelectorAll('.chart[data-spec]').forEach(function (el) {
      var spec = JSON.parse(el.getAttribute('data-spec'));
      Plotly.newPlot(el, spec.data, spec.layout, {displaylogo: false, responsive: true, modeBarButtonsToRemove: ['sendDataToCloud']});
    });
  }
});
