/* global document, setInterval */
// Xingtu console (SPEC F6): the only script besides htmx. Countdowns to deadlines, counted from
// the server's "now" (the sandbox clock in the sandbox) plus the time this page has been open.
(function () {
  'use strict';
  var opened = Date.now();
  function format(ms) {
    var sign = ms < 0 ? 'overdue by ' : 'in ';
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var parts = d > 0 ? [d + ' d', h + ' h', m + ' min'] : h > 0 ? [h + ' h', m + ' min', sec + ' s'] : [m + ' min', sec + ' s'];
    return sign + parts.join(' ');
  }
  function tick() {
    var nodes = document.querySelectorAll('[data-countdown-to]');
    for (var i = 0; i < nodes.length; i += 1) {
      var node = nodes[i];
      var now = Number(node.getAttribute('data-server-now')) + (Date.now() - opened);
      node.textContent = format(Date.parse(node.getAttribute('data-countdown-to')) - now);
    }
  }
  document.addEventListener('DOMContentLoaded', function () {
    tick();
    setInterval(tick, 1000);
  });
})();
