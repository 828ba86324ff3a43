# shellcheck shell=bash
# Secrets:EncryptionKey for a service started by these scripts (docs/architecture.md, "Secrets"): the key already in the
# environment (Secrets__EncryptionKey), else one generated once into .local/secrets-encryption-key (git-ignored, mode 600)
# and reused on every later run, so the secrets stored by an earlier run still decrypt. Losing that file loses them.
ensure_secrets_key() {
  [[ -n ${Secrets__EncryptionKey:-} ]] && return 0
  local root file
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  file="$root/.local/secrets-encryption-key"
  if [[ ! -s $file ]]; then
    mkdir -p "$root/.local"
    (umask 077 && head -c 32 /dev/urandom | base64 -w0 >"$file")
    echo "Secrets: generated an encryption key into $file; keep it, secrets stored with it cannot be read without it" >&2
  fi
  Secrets__EncryptionKey="$(<"$file")"
  export Secrets__EncryptionKey
}
