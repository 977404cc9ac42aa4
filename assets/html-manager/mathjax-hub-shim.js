/* Descent: let the ipywidgets html-manager typeset with MathJax 3.
 *
 * @jupyter-widgets/html-manager 1.0.15 typesets widget labels through the MathJax 2 API,
 * `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`, whenever `window.MathJax`
 * exists.  The book loads MathJax 3 (sphinx-mathjax-offline), which has no `Hub`, so
 * every label would throw "Cannot read properties of undefined (reading 'Queue')".
 * This shim gives whatever object `window.MathJax` holds (the configuration first,
 * then MathJax 3 itself, which replaces it while loading) a `Hub.Queue` that forwards
 * to MathJax 3's `typesetPromise` once MathJax has started.  Loaded before embed.js.
 */
(function () {
  "use strict";
  function queue(job) {
    var element = job && job[2];
    var mj = window.MathJax;
    if (!mj || !mj.startup || !mj.startup.promise) { return; }
    mj.startup.promise.then(function () {
      if (typeof mj.typesetPromise === "function") {
        return mj.typesetPromise(element ? [element] : undefined);
      }
    }).catch(function () { /* a label that fails to typeset stays as text */ });
  }
  function withHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      Object.defineProperty(mj, "Hub", { value: { Queue: queue }, enumerable: false, configurable: true });
    }
    return mj;
  }
  var current = withHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = withHub(value); }
  });
})();
