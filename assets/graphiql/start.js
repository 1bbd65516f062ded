// Mounts GraphiQL on this server's own endpoint: queries and mutations
// over HTTP, subscriptions over graphql-transport-ws on the same path.
// A key typed into the headers pane as {"Authorization": "Bearer sr_..."}
// is sent with every HTTP request and in the websocket's connection_init.
(function () {
  var endpoint = location.origin + "/graphql";
  var headers = {};
  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: endpoint.replace(/^http/, "ws"),
    wsConnectionParams: function () { return { headers: headers }; },
  });
  var defaultQuery = [
    "# Stock of three demo products, and where it is nearest to Munich.",
    "{",
    "  availability(",
    '    skus: ["TENT-2P-GRN", "DROP-SNEAKER-LTD", "PACK-22L-RED"]',
    "    shipTo: { latitude: 48.1351, longitude: 11.582 }",
    "  ) {",
    "    sku onHand reserved available inStock",
    "    warehouses { available distanceKm warehouse { code city } }",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: function (params, options) {
        headers = (options && options.headers) || {};
        return fetcher(params, options);
      },
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
