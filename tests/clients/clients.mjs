// README's queries run by two real clients with their default settings:
// @urql/core (which sends queries by GET when the URL is short enough) and
// Apollo Client (POST, `application/graphql-response+json` preferred).
// node clients.mjs <url> <queries.json>: the file holds [{name, query}];
// prints one JSON line per client and query: {client, name, method, data, error}.
import { readFileSync } from "node:fs";
import { Client, fetchExchange, gql as urqlGql } from "@urql/core";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [url, file] = process.argv.slice(2);
const queries = JSON.parse(readFileSync(file, "utf8"));

// Records the method of every request a client makes.
let methods = [];
const recordingFetch = (input, init) => {
  methods.push((init && init.method) || "GET");
  return fetch(input, init);
};

const urql = new Client({ url, exchanges: [fetchExchange], fetch: recordingFetch });
const apollo = new ApolloClient({
  link: new HttpLink({ uri: url, fetch: recordingFetch }),
  cache: new InMemoryCache({ addTypename: false }),
  defaultOptions: { query: { fetchPolicy: "no-cache" } },
});

for (const { name, query } of queries) {
  methods = [];
  const result = await urql.query(urqlGql(query), {}).toPromise();
  console.log(JSON.stringify({
    client: "urql",
    name,
    method: methods[0],
    data: result.data ?? null,
    error: result.error ? String(result.error) : null,
  }));
}

for (const { name, query } of queries) {
  methods = [];
  let data = null;
  let error = null;
  try {
    ({ data } = await apollo.query({ query: gql(query) }));
  } catch (e) {
    error = String(e);
  }
  console.log(JSON.stringify({ client: "apollo", name, method: methods[0], data, error }));
}
