// A dashboard's side of a live subscription, written as a user of the npm
// `graphql-ws` client would write it: subscribe to stockLevelChanged with an
// admin key, print each event as one JSON line, and stop after `count`.
//
//   node dashboard.mjs <ws url> <admin key> <sku> <after> <count>
//
// Exits 0 after `count` events; 1 (printing the error) if the server refuses
// or ends the subscription first.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, key, sku, after, count] = process.argv.slice(2);
if (!url || !key || !sku || after === undefined || !count) {
  console.error("usage: node dashboard.mjs <ws url> <admin key> <sku> <after> <count>");
  process.exit(2);
}

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${key}` },
  // A refusal must surface, not be retried until the test times out.
  retryAttempts: 0,
});

const query = `subscription($skus: [String!], $after: ID) {
  stockLevelChanged(skus: $skus, after: $after) {
    movement { id type sku warehouseCode quantityDelta }
    stockLevel { quantity reserved }
  }
}`;

let seen = 0;
// graphql-ws reports GraphQL errors as an array, a refused or broken socket
// as its close event, anything else as an Error.
const describe = (error) => {
  if (Array.isArray(error)) {
    return error.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; ");
  }
  if (error && typeof error.code === "number") {
    return `closed ${error.code}: ${error.reason}`;
  }
  return String(error?.message ?? error);
};
const failed = (error) => {
  console.error(describe(error));
  client.dispose();
  process.exit(1);
};
client.subscribe(
  { query, variables: { skus: [sku], after: after === "" ? null : after } },
  {
    next(result) {
      if (result.errors) {
        failed(result.errors);
        return;
      }
      console.log(JSON.stringify(result.data.stockLevelChanged));
      seen += 1;
      if (seen === Number(count)) {
        client.dispose();
        process.exit(0);
      }
    },
    error: failed,
    complete() {
      failed(new Error(`the subscription completed after ${seen} of ${count} events`));
    },
  },
);
