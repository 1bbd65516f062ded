#!/usr/bin/env bash
# Rebuilds the dashboard's coastline, land.js, from the npm registry: the
# world-atlas package (Natural Earth 1:110m land, public domain, as
# TopoJSON; ISC licence) decoded with topojson-client into one SVG path in
# plain longitude / latitude degrees (y = -latitude), 0.1 degree precision.
# The binary embeds what this writes (src/http/dashboard.rs).
set -euo pipefail
WORLD_ATLAS=2.0.2
TOPOJSON_CLIENT=3.1.0
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm install --silent --no-audit --no-fund --no-save "world-atlas@$WORLD_ATLAS" "topojson-client@$TOPOJSON_CLIENT" >/dev/null
cp node_modules/world-atlas/LICENSE "$here/LICENSE.world-atlas"
node --input-type=module - "$here/land.js" <<'JS'
import { readFileSync, writeFileSync } from "node:fs";
import { feature } from "topojson-client";
const topology = JSON.parse(readFileSync("node_modules/world-atlas/land-110m.json", "utf8"));
const land = feature(topology, topology.objects.land);
const round = (v) => Math.round(v * 10) / 10;
let d = "";
for (const f of land.features) {
  const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
  for (const rings of polygons) {
    for (const ring of rings) {
      // A ring that crosses the antimeridian jumps across the map: the jump
      // starts a new subpath instead of a line over everything.
      let previous = null;
      for (const [lon, lat] of ring) {
        const jump = previous === null || Math.abs(lon - previous) > 180;
        d += (jump ? "M" : "L") + `${round(lon)} ${round(-lat)}`;
        previous = lon;
      }
      d += "Z";
    }
  }
}
writeFileSync(process.argv[2],
  "// Natural Earth 1:110m land (public domain), via world-atlas " +
  "(ISC, see LICENSE.world-atlas): longitude, -latitude.\n" +
  `export const LAND = ${JSON.stringify(d)};\n`);
JS
echo "land.js written to $here ($(wc -c < "$here/land.js") bytes)"
