#!/usr/bin/env bash
# Regenerates every client that is shipped or tested from the committed OpenAPI document, docs/openapi.json:
#   src/AgentArtifacts.Client/Generated/  Kiota, C# (the shipped NuGet package AgentArtifacts.Client)
#   tests/AgentArtifacts.Api.Tests/Clients/NSwag/AgentArtifactsNSwagClient.cs
#                                         NSwag, C# with System.Text.Json (tested); for System.Text.Json 9, so enums are
#                                         written with their schema values
#   src/client-typescript                 `npm run generate` there, when that package exists
# The generators are pinned in .config/dotnet-tools.json (restored here) and need no network, so the output depends only
# on the document: the same document always gives the same files.
#
#   build/clients.sh          write the clients in place
#   build/clients.sh --check  generate into a temporary directory and fail, naming the files, when the committed
#                             clients differ from a fresh generation (the document changed and nobody regenerated)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: build/clients.sh [--check]" >&2; exit 2 ;;
esac

kiota_out=src/AgentArtifacts.Client/Generated
nswag_out=tests/AgentArtifacts.Api.Tests/Clients/NSwag/AgentArtifactsNSwagClient.cs
ts_dir=src/client-typescript

dotnet tool restore >/dev/null

# Writes every client under $1, a directory laid out like the repository that holds docs/openapi.json.
generate_into() {
  local base="$1"
  # Only errors are printed: Kiota's look-up of a newer release (a warning when offline) does not change its output.
  # JSON, text and form only: no operation takes multipart, so the package needs no multipart serializer.
  # One processor: Kiota builds models in parallel, and an enum schema referenced by several properties, each with its own
  # description, takes the description of whichever property it meets first, so the output varied between runs.
  DOTNET_PROCESSOR_COUNT=1 dotnet tool run kiota generate \
    --language CSharp --openapi "$base/docs/openapi.json" --output "$base/$kiota_out" \
    --class-name AgentArtifactsClient --namespace-name AgentArtifacts.Client \
    --exclude-backward-compatible --clean-output --log-level Error \
    --serializer Microsoft.Kiota.Serialization.Json.JsonSerializationWriterFactory \
    --serializer Microsoft.Kiota.Serialization.Text.TextSerializationWriterFactory \
    --serializer Microsoft.Kiota.Serialization.Form.FormSerializationWriterFactory \
    --deserializer Microsoft.Kiota.Serialization.Json.JsonParseNodeFactory \
    --deserializer Microsoft.Kiota.Serialization.Text.TextParseNodeFactory \
    --deserializer Microsoft.Kiota.Serialization.Form.FormParseNodeFactory >/dev/null
  mkdir -p "$(dirname "$base/$nswag_out")"
  dotnet tool run nswag openapi2csclient /input:"$base/docs/openapi.json" /output:"$base/$nswag_out" \
    /namespace:AgentArtifacts.Api.Tests.Clients.NSwag /className:AgentArtifactsNSwagClient \
    /jsonLibrary:SystemTextJson /jsonLibraryVersion:9.0 /generateNullableReferenceTypes:true \
    /operationGenerationMode:SingleClientFromOperationId /injectHttpClient:true /disposeHttpClient:false \
    /useBaseUrl:true /generateClientInterfaces:false /wrapResponses:true >/dev/null
  if [[ -f "$base/$ts_dir/package.json" ]]; then
    npm run generate --prefix "$base/$ts_dir" --silent >/dev/null
  fi
}

if [[ -f "$ts_dir/package.json" && ! -d "$ts_dir/node_modules" ]]; then
  npm ci --prefix "$ts_dir" --no-audit --no-fund --loglevel=error >/dev/null
fi

if ! $check; then
  generate_into "$root"
  echo "clients regenerated from docs/openapi.json"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs"
cp docs/openapi.json "$tmp/docs/"
if [[ -f "$ts_dir/package.json" ]]; then
  # The TypeScript package's own files (its generate script may read or keep some), with its installed dependencies.
  git ls-files -z -- "$ts_dir" | while IFS= read -r -d '' f; do
    mkdir -p "$tmp/$(dirname "$f")"; cp "$f" "$tmp/$f"
  done
  ln -s "$root/$ts_dir/node_modules" "$tmp/$ts_dir/node_modules"
fi
generate_into "$tmp"

differ=()
while IFS= read -r line; do differ+=("$line"); done < <(
  diff -rq "$kiota_out" "$tmp/$kiota_out" 2>&1 || true
  diff -q "$nswag_out" "$tmp/$nswag_out" 2>&1 || true
  if [[ -f "$ts_dir/package.json" ]]; then
    # Its committed files against the fresh ones, and any file the generation adds (build output in the work tree,
    # ignored by git, is not compared).
    git ls-files -- "$ts_dir" | while IFS= read -r f; do
      cmp -s "$f" "$tmp/$f" || echo "Files $f and (fresh) $f differ"
    done
    (cd "$tmp" && find "$ts_dir" -path "$ts_dir/node_modules" -prune -o -type f -print) | while IFS= read -r f; do
      git ls-files --error-unmatch -- "$f" >/dev/null 2>&1 || echo "Only in (fresh): $f"
    done
  fi
)
if (( ${#differ[@]} > 0 )); then
  echo "error: the committed clients differ from a fresh generation from docs/openapi.json:" >&2
  printf '  %s\n' "${differ[@]//$tmp\//(fresh) }" >&2
  echo "run build/clients.sh and commit the result" >&2
  exit 1
fi
echo "clients are current with docs/openapi.json"
