#!/usr/bin/env bash
# Copy the grid library's browser files from node_modules into static/vendor
# (served by Django / nginx, never committed): SlickGrid's IIFE scripts
# (global `Slick`), the cell selection plugins and its base CSS.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf static/vendor
mkdir -p static/vendor/slickgrid
src=node_modules/slickgrid/dist
cp "$src"/browser/slick.core.js "$src"/browser/slick.interactions.js "$src"/browser/slick.grid.js static/vendor/slickgrid/
cp "$src"/browser/plugins/slick.cellselectionmodel.js "$src"/browser/plugins/slick.cellrangeselector.js \
   "$src"/browser/plugins/slick.cellrangedecorator.js static/vendor/slickgrid/
cp "$src"/styles/css/slick.grid.css "$src"/styles/css/slick-alpine-theme.css static/vendor/slickgrid/
