#!/usr/bin/env bash
# DynamoDB Local runs on Java 17 and comes from the npm registry; the console's browser
# tests drive Debian's Chromium (Playwright with the system browser, never a download).
# Install them where we can (root with apt-get, as on CI), otherwise say what is missing.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for DynamoDB Local and the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "DynamoDB Local and the browser tests need: ${missing[*]}. Install them (Debian: sudo apt-get install -y ${missing[*]}) and run make again." >&2
  exit 1
fi
