// Swagger UI for /docs, started from a file (the page has no inline code, so its policy needs no exception).
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("openapi");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#openapi",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
  });
});
