// The widget bundle asks RequireJS for its font files by module path; point
// those paths at the folder the bundle itself is served from, whatever the
// depth of the page. Loaded after require.js, before embed-amd.js.
(function () {
  var dir = document.currentScript.src.replace(/\/[^\/]*$/, "");
  require.config({paths: {"@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir}});
})();
