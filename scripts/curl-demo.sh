#!/usr/bin/env bash
# The API with curl alone (issue 3 "What it must show"), against a running `npm run dev`:
#   1. as alice: create a 20 MB multipart upload, sign its parts, PUT each part to its presigned URL,
#      complete, download through /v1/objects/download and compare sha256 with the original;
#   2. as alice again: create, sign and PUT, then call complete with bob's JWT: must be HTTP 403
#      (alice then aborts the upload).
# Prints one "PASS" line at the end; exits non-zero on the first mismatch.
#
#   npm run dev                                   # in another terminal
#   bash scripts/curl-demo.sh [API_URL]
#
# Needs bash, curl, coreutils (head, dd, mktemp, wc) and node. node is used only for what curl cannot
# do: parsing JSON, minting the HS256 JWTs and computing sha256; so the script needs nothing the
# project does not already need (no jq, no openssl).
# Environment: API_URL (default http://127.0.0.1:8787), JWT_SECRET (default: the DEV-ONLY secret
# of scripts/dev-env.ts, which `npm run dev` uses), SIZE (bytes, default 20000000).
set -euo pipefail

API_URL="${1:-${API_URL:-http://127.0.0.1:8787}}"
API_URL="${API_URL%/}"
JWT_SECRET="${JWT_SECRET:-cos-direct-DEV-ONLY-jwt-secret-never-deploy}"
SIZE="${SIZE:-20000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# jwt <sub>: an HS256 JWT for <sub>, valid for 10 minutes.
jwt() {
  node -e '
    const { createHmac } = require("node:crypto");
    const [sub, secret] = process.argv.slice(1);
    const now = Math.floor(Date.now() / 1000);
    const segment = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const signed = segment({ alg: "HS256", typ: "JWT" }) + "." + segment({ sub, iat: now, exp: now + 600 });
    console.log(signed + "." + createHmac("sha256", secret).update(signed).digest("base64url"));
  ' "$1" "$JWT_SECRET"
}

# field <file> <path>: one value of a JSON file, e.g. `field sign.json parts.0.url`; objects as JSON.
field() {
  node -e '
    const fs = require("node:fs");
    const value = process.argv[2].split(".").reduce((v, k) => (v == null ? v : v[k]), JSON.parse(fs.readFileSync(process.argv[1], "utf8")));
    if (value === undefined) process.exit(3);
    console.log(typeof value === "string" ? value : JSON.stringify(value));
  ' "$1" "$2" || fail "no $2 in $(cat "$1")"
}

# header_lines <file> <path>: the object at <path> as "name: value" lines, for curl -H.
header_lines() {
  node -e '
    const fs = require("node:fs");
    const headers = process.argv[2].split(".").reduce((v, k) => v[k], JSON.parse(fs.readFileSync(process.argv[1], "utf8")));
    for (const [name, value] of Object.entries(headers)) console.log(`${name}: ${value}`);
  ' "$1" "$2"
}

sha256() {
  node -e '
    const hash = require("node:crypto").createHash("sha256");
    require("node:fs").createReadStream(process.argv[1]).on("data", (d) => hash.update(d)).on("end", () => console.log(hash.digest("hex")));
  ' "$1"
}

# api <method> <path> <jwt> <out-file> [json-body] [upload-token]: prints the HTTP status.
api() {
  local args=(-sS -g -X "$1" -o "$4" -w '%{http_code}' -H "Authorization: Bearer $3")
  if [[ -n ${5:-} ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$5"); fi
  if [[ -n ${6:-} ]]; then args+=(-H "Upload-Token: $6"); fi
  curl "${args[@]}" "$API_URL$2"
}

# expect <want> <got> <what> <body-file>
expect() {
  [[ $2 == "$1" ]] || fail "$3: expected HTTP $1, got $2: $(cat "$4" 2>/dev/null)"
}

# upload <jwt> <filename>: create a multipart upload, sign every part, PUT them. Sets UPLOAD_ID,
# UPLOAD_TOKEN, KEY and COMPLETE_BODY ({"parts":[{partNumber, etag}...]}).
upload() {
  local who=$1 status count part_size
  status=$(api POST /v1/uploads "$who" "$work/create.json" "{\"filename\":\"$2\",\"size\":$SIZE,\"contentType\":\"application/octet-stream\"}")
  expect 200 "$status" "POST /v1/uploads" "$work/create.json"
  [[ $(field "$work/create.json" kind) == multipart ]] || fail "POST /v1/uploads: expected a multipart plan for $SIZE bytes: $(cat "$work/create.json")"
  KEY=$(field "$work/create.json" key)
  UPLOAD_ID=$(field "$work/create.json" uploadId)
  UPLOAD_TOKEN=$(field "$work/create.json" token)
  count=$(field "$work/create.json" partCount)
  part_size=$(field "$work/create.json" partSize)
  echo "  created $KEY: $count parts of $part_size bytes (uploadId $UPLOAD_ID)"

  local numbers
  numbers=$(node -e 'console.log(JSON.stringify({ parts: Array.from({ length: Number(process.argv[1]) }, (_, i) => ({ partNumber: i + 1 })) }))' "$count")
  status=$(api POST "/v1/uploads/$UPLOAD_ID/parts" "$who" "$work/sign.json" "$numbers" "$UPLOAD_TOKEN")
  expect 200 "$status" "POST /v1/uploads/{id}/parts" "$work/sign.json"

  local i n url size etag etags=() headers
  for ((i = 0; i < count; i++)); do
    n=$((i + 1))
    url=$(field "$work/sign.json" "parts.$i.url")
    size=$(field "$work/sign.json" "parts.$i.size")
    dd if="$work/original.bin" of="$work/part" bs="$part_size" skip="$i" count=1 2>/dev/null
    [[ $(wc -c <"$work/part") -eq $size ]] || fail "part $n: cut $(wc -c <"$work/part") bytes from the file, the plan says $size"
    headers=(-H 'Content-Type:') # curl's default form type is not wanted (and not signed)
    while IFS= read -r line; do headers+=(-H "$line"); done < <(header_lines "$work/sign.json" "parts.$i.headers")
    status=$(curl -sS -g -X PUT --data-binary @"$work/part" "${headers[@]}" -D "$work/put.headers" -o "$work/put.body" -w '%{http_code}' "$url")
    expect 200 "$status" "PUT part $n ($size bytes) to its presigned URL" "$work/put.body"
    etag=$(tr -d '\r' <"$work/put.headers" | awk 'tolower($1) == "etag:" { print $2 }')
    [[ -n $etag ]] || fail "PUT part $n: COS sent no ETag"
    etags+=("$etag")
    echo "  PUT part $n: $size bytes, ETag $etag"
  done
  COMPLETE_BODY=$(node -e 'console.log(JSON.stringify({ parts: process.argv.slice(1).map((etag, i) => ({ partNumber: i + 1, etag })) }))' "${etags[@]}")
}

curl -sS -g -f -o /dev/null "$API_URL/healthz" || fail "no API answering at $API_URL/healthz (start it with: npm run dev)"
alice=$(jwt alice)
bob=$(jwt bob)
head -c "$SIZE" /dev/urandom >"$work/original.bin"
original=$(sha256 "$work/original.bin")
echo "API $API_URL; $SIZE random bytes, sha256 $original"

echo "1. alice uploads, completes and reads back"
upload "$alice" curl-demo.bin
status=$(api POST "/v1/uploads/$UPLOAD_ID/complete" "$alice" "$work/complete.json" "$COMPLETE_BODY" "$UPLOAD_TOKEN")
expect 200 "$status" "POST /v1/uploads/{id}/complete" "$work/complete.json"
[[ $(field "$work/complete.json" size) == "$SIZE" ]] || fail "complete: size is not $SIZE: $(cat "$work/complete.json")"
echo "  completed: ETag $(field "$work/complete.json" etag), crc64 $(field "$work/complete.json" crc64)"
status=$(api POST /v1/objects/download "$alice" "$work/download.json" "$(node -e 'console.log(JSON.stringify({ key: process.argv[1] }))' "$KEY")")
expect 200 "$status" "POST /v1/objects/download" "$work/download.json"
status=$(curl -sS -g -o "$work/downloaded.bin" -w '%{http_code}' "$(field "$work/download.json" url)")
expect 200 "$status" "GET the presigned download URL" "$work/downloaded.bin"
downloaded=$(sha256 "$work/downloaded.bin")
[[ $downloaded == "$original" ]] || fail "downloaded bytes differ: sha256 $downloaded, uploaded $original"
echo "  downloaded $(wc -c <"$work/downloaded.bin") bytes, sha256 $downloaded: identical"

echo "2. alice uploads, bob tries to complete"
upload "$alice" curl-demo-2.bin
status=$(api POST "/v1/uploads/$UPLOAD_ID/complete" "$bob" "$work/complete.json" "$COMPLETE_BODY" "$UPLOAD_TOKEN")
expect 403 "$status" "complete with bob's JWT" "$work/complete.json"
echo "  bob's complete: HTTP 403 $(field "$work/complete.json" error.code): $(field "$work/complete.json" error.message)"
status=$(api DELETE "/v1/uploads/$UPLOAD_ID" "$alice" "$work/abort.json" "" "$UPLOAD_TOKEN")
expect 204 "$status" "DELETE /v1/uploads/{id} (alice aborts)" "$work/abort.json"
echo "  alice aborted it: HTTP 204"

echo "PASS: $SIZE bytes uploaded in parts with curl and read back identical (sha256 $original); bob's complete of alice's upload got 403"
