#!/usr/bin/env bash
# Refresh the vendored front-end files (the console's, and Swagger UI for /docs) from the npm registry at the pinned
# versions below; an entry names its package and the files to keep (comma-separated).
# The files are committed (console/static/vendor/), so `make run` and `make test` never need npm or a network;
# run this only to change a version, then commit the result. Each tarball's integrity is checked by npm itself,
# and the sha256 of every extracted file is written to console/static/vendor/VERSIONS.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=("htmx.org@2.0.11:dist/htmx.min.js" "echarts@6.1.0:dist/echarts.min.js"
          "swagger-ui-dist@5.35.0:swagger-ui-bundle.js,swagger-ui.css")
dest=console/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/VERSIONS.txt"
for entry in "${PACKAGES[@]}"; do
  spec=${entry%%:*}; files=${entry#*:}
  name=${spec%@*}; version=${spec##*@}
  (cd "$work" && npm pack --silent "$spec" > /dev/null)
  tarball=$(ls "$work"/*.tgz)
  mkdir -p "$work/$name"
  tar -xzf "$tarball" -C "$work/$name"
  rm "$tarball"
  mkdir -p "$dest/$name"
  cp "$work/$name/package/LICENSE" "$dest/$name/LICENSE" 2>/dev/null || true
  integrity=$(npm view "$spec" dist.integrity)
  IFS=, read -ra names <<< "$files"
  for file in "${names[@]}"; do
    cp "$work/$name/package/$file" "$dest/$name/$(basename "$file")"
    sum=$(sha256sum "$dest/$name/$(basename "$file")" | cut -d' ' -f1)
    echo "$name $version $file $integrity sha256:$sum" >> "$work/VERSIONS.txt"
  done
done
cp "$work/VERSIONS.txt" "$dest/VERSIONS.txt"
cat "$dest/VERSIONS.txt"
