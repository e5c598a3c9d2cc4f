// The widget bundle typesets labels with MathJax 2's `MathJax.Hub.Queue`
// whenever `window.MathJax` exists; the book loads MathJax 3, which has no
// `Hub`. Give every object assigned to `window.MathJax` (MathJax 3 replaces its
// configuration object with itself when it starts) a `Hub.Queue` that forwards
// to MathJax 3's `typesetPromise`. Loaded only on pages with widgets.
(function () {
  var current = window.MathJax;
  function shim(mathjax) {
    if (mathjax && typeof mathjax === "object" && !mathjax.Hub) {
      mathjax.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          var mj = window.MathJax;
          if (element && mj && typeof mj.typesetPromise === "function") {
            mj.typesetPromise([element]).catch(function () {});
          }
        }
      };
    }
    return mathjax;
  }
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = shim(value); }
  });
  shim(current);
})();
