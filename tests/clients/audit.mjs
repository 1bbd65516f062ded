// graphql-http's server audits (the reference GraphQL-over-HTTP test
// suite) against a running stockroute: node audit.mjs <url>. Prints one
// JSON line per audit: {"id", "name", "status", "reason"}.
import { serverAudits } from "graphql-http";

const [url] = process.argv.slice(2);
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  console.log(JSON.stringify({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.status === "ok" ? undefined : result.reason,
  }));
}
