// The widget bundle asks RequireJS for its font files by module path, and for
// custom widget modules by name; point those paths at the folder the bundle
// itself is served from, whatever the depth of the page: `anywidget` is the
// AMD front end of the anywidget package (copied there by scripts/fetch_js.sh),
// which renders the explorers. Loaded after require.js, before embed-amd.js.
(function () {
  var dir = document.currentScript.src.replace(/\/[^\/]*$/, "");
  require.config({paths: {"@jupyter-widgets/html-manager/dist": dir, "@jupyter-widgets": dir,
                          "anywidget": dir + "/anywidget"}});
})();
