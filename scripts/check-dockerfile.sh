#!/usr/bin/env bash
# Proves the Dockerfile's recipe without a Docker engine (CI: npm run docker:check):
#   1. parse the Dockerfile: a build stage and a final stage, in the simple instruction forms used there
#   2. export a clean tree with `git archive HEAD` (REF=<commit> to pick another), drop what .dockerignore
#      excludes, and copy what the build stage's COPY lines name into an empty directory (the stage's "/")
#   3. run the build stage's RUN lines there (plain npm commands, with the host's node and npm)
#   4. assemble the final stage's filesystem from its COPY --from=<build> lines in another empty directory
#   5. check it: distroless nonroot base, no RUN in the final stage (no shell there), numeric non-root USER,
#      exec-form ENTRYPOINT, and not a single devDependency in the runtime node_modules
#   6. start it the way ENTRYPOINT does (`node <root>/app/dist/main.js --version`, then `--help`), as uid
#      65532 when running as root, from a directory with no node_modules above it
# Any failure stops the script with a message saying which step and why. KEEP=1 keeps the temp directory.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
DOCKERFILE=${DOCKERFILE:-Dockerfile}
REF=${REF:-HEAD}

fail() { echo "check-dockerfile: FAIL: $*" >&2; exit 1; }
step() { printf '\n== check-dockerfile: %s\n' "$*"; }

WORK=$(mktemp -d /tmp/check-dockerfile.XXXXXX)
chmod 755 "$WORK"
if [[ ${KEEP:-0} == 1 ]]; then echo "check-dockerfile: keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
CTX=$WORK/context BUILD=$WORK/build-root FINAL=$WORK/final-root
mkdir -p "$CTX" "$BUILD" "$FINAL"
[[ ! -e /tmp/node_modules && ! -e /node_modules ]] || fail "a node_modules above $WORK would hide missing runtime packages"

# --- 1. parse ------------------------------------------------------------------------------------------------
step "parse $DOCKERFILE"
[[ -f $DOCKERFILE ]] || fail "$DOCKERFILE not found"
instructions=()
line_acc=''
while IFS= read -r line || [[ -n $line ]]; do
  [[ $line =~ ^[[:space:]]*# && -z $line_acc ]] && continue
  if [[ $line =~ \\[[:space:]]*$ ]]; then line_acc+="${line%\\*} "; continue; fi
  line_acc+=$line
  [[ $line_acc =~ ^[[:space:]]*$ ]] || instructions+=("$(sed -E 's/^[[:space:]]+//; s/[[:space:]]+$//' <<<"$line_acc")")
  line_acc=''
done <"$DOCKERFILE"

# Global ARGs (before the first FROM, NAME=default) may name the base images: FROM ${NAME} takes the default,
# the public image users build against (the e2e suite passes local stand-ins with --build-arg).
declare -A global_args=()
stages=() final_from=""
for ins in "${instructions[@]}"; do
  if [[ $ins =~ ^ARG[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)=([^[:space:]]+)$ ]] && ((${#stages[@]} == 0)); then
    global_args[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  elif [[ $ins =~ ^ARG ]]; then
    fail "unsupported ARG (only NAME=default before the first FROM): $ins"
  elif [[ $ins =~ ^FROM[[:space:]]+([^[:space:]]+)([[:space:]]+[Aa][Ss][[:space:]]+([^[:space:]]+))?$ ]]; then
    stages+=("${BASH_REMATCH[3]:-stage${#stages[@]}}")
    final_from=${BASH_REMATCH[1]}
    if [[ $final_from =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
      [[ -n ${global_args[${BASH_REMATCH[1]}]:-} ]] || fail "FROM $final_from: no ARG ${BASH_REMATCH[1]}=default before it"
      final_from=${global_args[${BASH_REMATCH[1]}]}
    fi
  elif [[ $ins =~ ^FROM ]]; then
    fail "unsupported FROM form: $ins"
  fi
done
((${#stages[@]} == 2)) || fail "expected exactly 2 stages (build, runtime), got ${#stages[@]}"
build_stage=${stages[0]}
echo "stages: ${stages[*]}; runtime base: $final_from"
[[ $final_from =~ ^gcr\.io/distroless/nodejs[0-9]+-debian[0-9]+:nonroot$ ]] ||
  fail "runtime base must be gcr.io/distroless/nodejs<LTS>-debian<N>:nonroot (no shell, non-root), got $final_from"

# --- 2-4. replay the stages ------------------------------------------------------------------------------------
step "export $REF with git archive"
git -C "$REPO" archive --format=tar "$REF" | tar -x -C "$CTX"
# .dockerignore, in the whitelist form this repo uses ("*" then "!path" lines); anything else is rejected.
if [[ -f $CTX/.dockerignore ]]; then
  mapfile -t ignore < <(grep -vE '^[[:space:]]*(#|$)' "$CTX/.dockerignore")
  [[ ${ignore[0]:-} == '*' ]] || fail ".dockerignore must start with '*' (whitelist form) for this check"
  keep=()
  for p in "${ignore[@]:1}"; do
    [[ $p == '!'* ]] || fail ".dockerignore: only '!path' lines may follow '*', got: $p"
    keep+=("${p#!}")
  done
  filtered=$WORK/context-filtered
  mkdir -p "$filtered"
  for k in "${keep[@]}"; do
    k=${k%/}
    [[ -e $CTX/$k ]] || fail ".dockerignore keeps $k, which is not in $REF"
    mkdir -p "$filtered/$(dirname "$k")"
    cp -a "$CTX/$k" "$filtered/$k"
  done
  rm -rf "$CTX" && mv "$filtered" "$CTX"
  echo "context after .dockerignore: $(cd "$CTX" && find . -type f | wc -l) files (${keep[*]})"
fi

# path_in ROOT WORKDIR PATH -> absolute host path of PATH inside a stage rooted at ROOT.
path_in() {
  local root=$1 wd=$2 p=$3
  [[ $p == /* ]] || p="$wd/$p"
  echo "$root$(realpath -m --no-symlinks "$p")"
}

# copy_into SRC DEST_HOST DEST_SPEC: Docker COPY semantics for one source (directory contents, or a file into
# a directory when DEST ends with / or has several sources).
copy_into() {
  local src=$1 dest=$2 spec=$3 many=$4
  [[ -e $src ]] || fail "COPY source ${src#"$WORK"/} does not exist"
  if [[ -d $src ]]; then
    mkdir -p "$dest" && cp -a "$src/." "$dest/"
  elif [[ $spec == */ || $many == 1 ]]; then
    mkdir -p "$dest" && cp -a "$src" "$dest/"
  else
    mkdir -p "$(dirname "$dest")" && cp -a "$src" "$dest"
  fi
}

stage=-1 wd=/ build_wd=/ user='' entrypoint='' runtime_env=() build_env=() final_runs=0
for ins in "${instructions[@]}"; do
  keyword=${ins%%[[:space:]]*}
  args=${ins#"$keyword"}
  args=${args#"${args%%[![:space:]]*}"}
  case ${keyword^^} in
    FROM) stage=$((stage + 1)); wd=/ ;;
    ARG) ((stage < 0)) || fail "ARG inside a stage is not replayed: $ins" ;;
    WORKDIR)
      wd=$(realpath -m --no-symlinks "$([[ $args == /* ]] && echo "$args" || echo "$wd/$args")")
      if ((stage == 0)); then mkdir -p "$BUILD$wd" && build_wd=$wd; else mkdir -p "$FINAL$wd"; fi ;;
    ENV)
      [[ $args =~ ^[A-Za-z_][A-Za-z0-9_]*=[^[:space:]]*$ ]] || fail "unsupported ENV form (use KEY=value): $ins"
      if ((stage == 0)); then build_env+=("$args"); else runtime_env+=("$args"); fi ;;
    LABEL | EXPOSE) ;;
    USER) ((stage == 1)) || fail "USER in the build stage is not replayed: $ins"; user=$args ;;
    ENTRYPOINT) ((stage == 1)) || fail "ENTRYPOINT belongs in the final stage"; entrypoint=$args ;;
    COPY)
      read -r -a parts <<<"$args"
      from=''
      if [[ ${parts[0]} == --from=* ]]; then from=${parts[0]#--from=}; parts=("${parts[@]:1}"); fi
      [[ ${parts[0]} != --* ]] || fail "unsupported COPY flag: $ins"
      ((${#parts[@]} >= 2)) || fail "COPY needs a source and a destination: $ins"
      dest_spec=${parts[-1]} many=0
      ((${#parts[@]} > 2)) && many=1
      if ((stage == 0)); then
        [[ -z $from ]] || fail "COPY --from in the build stage is not supported: $ins"
        root=$BUILD
      else
        [[ $from == "$build_stage" ]] || fail "final-stage COPY must come --from=$build_stage: $ins"
        root=$FINAL
      fi
      dest=$(path_in "$root" "$wd" "$dest_spec")
      for src in "${parts[@]:0:${#parts[@]}-1}"; do
        if ((stage == 0)); then copy_into "$CTX/$src" "$dest" "$dest_spec" "$many"
        else copy_into "$(path_in "$BUILD" / "$src")" "$dest" "$dest_spec" "$many"; fi
      done
      echo "COPY ${from:+(from $from) }${parts[*]}" ;;
    RUN)
      if ((stage == 1)); then final_runs=$((final_runs + 1)); continue; fi
      [[ $args != \[* ]] || fail "exec-form RUN is not supported here: $ins"
      echo "RUN $args   (in ${wd}, node $(node --version), npm $(npm --version))"
      (cd "$BUILD$wd" && env "${build_env[@]}" bash -euo pipefail -c "$args") ||
        fail "build step failed: RUN $args"
      ;;
    *) fail "unsupported instruction (extend scripts/check-dockerfile.sh): $ins" ;;
  esac
done

# --- 5. check the runtime layout --------------------------------------------------------------------------------
step "check the runtime stage"
((final_runs == 0)) || fail "the final stage has RUN lines, but the distroless base has no shell to run them"
[[ $user =~ ^[0-9]+(:[0-9]+)?$ && ${user%%:*} != 0 ]] || fail "USER must be a numeric non-root uid[:gid], got '$user'"
[[ $entrypoint == \[* ]] || fail "ENTRYPOINT must be exec form (JSON array), got: $entrypoint"
mapfile -t argv < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$entrypoint")
[[ ${argv[0]} == /nodejs/bin/node ]] || fail "ENTRYPOINT must start with the distroless node, /nodejs/bin/node"
main=${argv[1]:-}
[[ -f $FINAL$main ]] || fail "ENTRYPOINT runs $main, which the final stage does not contain"
mapfile -t dev < <(node -e 'console.log(Object.keys(require(process.argv[1]).devDependencies ?? {}).join("\n"))' \
  "$CTX/package.json")
# A devDependency may still be present when a production dependency needs it too (npm ls finds it then).
leaked=() shared=()
build_dir=$BUILD$build_wd
for d in "${dev[@]}"; do
  [[ -n $d && -e $FINAL$wd/node_modules/$d ]] || continue
  if [[ -n $(cd "$build_dir" && npm ls "$d" --omit=dev --all --parseable 2>/dev/null) ]]; then shared+=("$d")
  else leaked+=("$d"); fi
done
((${#leaked[@]} == 0)) || fail "devDependencies in the runtime node_modules: ${leaked[*]}"
echo "USER $user; ENTRYPOINT $entrypoint; WORKDIR $wd; runtime size $(du -sh "$FINAL" | cut -f1)"
echo "${#dev[@]} devDependencies, none in the image${shared[*]:+ except as dependencies of production packages: ${shared[*]}}"

# --- 6. start it -----------------------------------------------------------------------------------------------
step "start it the way ENTRYPOINT does"
chmod -R a+rX "$FINAL"
run_as=()
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  # By absolute path: start() runs it under env -i with PATH holding only node's directory (.tools/node-24/bin in CI).
  run_as=("$(command -v setpriv)" --reuid="${user%%:*}" --regid="${user#*:}" --clear-groups)
fi
start() {
  (cd "$FINAL$wd" && env -i PATH="$(dirname "$(command -v node)")" HOME=/nonexistent "${runtime_env[@]}" \
    "${run_as[@]}" node "$FINAL$main" "${argv[@]:2}" "$@")
}
version=$(start --version) || fail "'mtls-injector --version' failed"
want=$(node -p 'require(process.argv[1]).version' "$CTX/package.json")
[[ $version == "$want" ]] || fail "--version printed '$version', expected '$want'"
echo "\$ mtls-injector --version   (${run_as[*]:+as uid ${user%%:*}, }cwd $wd)"
echo "$version"
help=$(start --help) || fail "'mtls-injector --help' failed"
grep -q 'Usage: mtls-injector' <<<"$help" || fail "--help printed no usage:\n$help"
echo "\$ mtls-injector --help"
echo "$help"
echo
echo "check-dockerfile: OK: the image recipe builds from $REF and starts with production dependencies only"
