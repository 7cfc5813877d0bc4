#!/usr/bin/env bash
# Copy the grid library's browser files from node_modules into static/vendor
# (served by Django / nginx, never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf static/vendor
mkdir -p static/vendor/jspreadsheet-ce static/vendor/jsuites
cp node_modules/jspreadsheet-ce/dist/index.js node_modules/jspreadsheet-ce/dist/jspreadsheet.css static/vendor/jspreadsheet-ce/
cp node_modules/jsuites/dist/jsuites.js node_modules/jsuites/dist/jsuites.css static/vendor/jsuites/
