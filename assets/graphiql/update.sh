#!/usr/bin/env bash
# Rebuilds the GraphiQL page's assets from the npm registry: the published
# production bundles of graphiql, react and react-dom, the graphiql bundle
# minified once more with esbuild (its published "min" file is webpack
# output with the module comments left in: 3.5 MB instead of 1.5 MB).
# The binary embeds what this writes (src/http/graphiql.rs); run it only to
# move to other versions, and commit the result with its licences.
set -euo pipefail
GRAPHIQL=3.8.3
REACT=18.3.1
ESBUILD=0.25.12
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null
for package in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  name=${package%-*}
  mkdir "$name" && tar xzf "$package.tgz" -C "$name" --strip-components=1
  cp "$name/LICENSE" "$here/LICENSE.$name"
done
npm install --silent --no-audit --no-fund --no-save "esbuild@$ESBUILD" >/dev/null
for file in graphiql.min.js graphiql.min.css; do
  node_modules/.bin/esbuild "graphiql/$file" --minify --legal-comments=none --log-level=error --outfile="$here/$file"
done
cp react/umd/react.production.min.js react-dom/umd/react-dom.production.min.js "$here/"
echo "graphiql $GRAPHIQL, react $REACT and react-dom $REACT written to $here"
