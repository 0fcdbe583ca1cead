/*
 * The Alpine components of the pages. Alpine's CSP build evaluates attribute expressions without eval, so
 * an attribute may only name these components and call their methods; the logic lives here. Loaded before
 * alpine-csp.min.js, which starts Alpine (and fires alpine:init) when it runs.
 */
(function () {
  "use strict";

  document.addEventListener("alpine:init", function () {
    var Alpine = window.Alpine;

    // The analysis tabs of one turn: click, or Left/Right/Home/End, as in the WAI-ARIA tabs pattern.
    Alpine.data("analysisTabs", function (suffix) {
      return {
        tab: "emotion",
        order: ["emotion", "strategy", "sentences", "quality"],
        isTab: function (key) { return this.tab === key; },
        selectedText: function (key) { return String(this.tab === key); },
        tabIndex: function (key) { return this.tab === key ? 0 : -1; },
        select: function (key) { this.tab = key; },
        focusTab: function () {
          var id = "tab-" + this.tab + "-" + suffix;
          this.$nextTick(function () {
            var button = document.getElementById(id);
            if (button) button.focus();
          });
        },
        move: function (step) {
          var i = this.order.indexOf(this.tab);
          this.tab = this.order[(i + step + this.order.length) % this.order.length];
          this.focusTab();
        },
        first: function () { this.tab = this.order[0]; this.focusTab(); },
        last: function () { this.tab = this.order[this.order.length - 1]; this.focusTab(); }
      };
    });

    // The Matrix's quality range: two sliders that never cross, with their values shown.
    Alpine.data("qualityRange", function (min, max) {
      return {
        min: min,
        max: max,
        minLabel: function () { return Number(this.min).toFixed(1); },
        maxLabel: function () { return Number(this.max).toFixed(1); },
        raiseMax: function () { if (this.min > this.max) this.max = this.min; },
        lowerMin: function () { if (this.max < this.min) this.min = this.max; }
      };
    });
  });
})();
